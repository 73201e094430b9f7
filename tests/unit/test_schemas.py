"""compile_schema refuses every schema that could reach outside itself or run without bound,
each with the place and what to write instead; what it accepts validates as JSON Schema says,
with patterns run by RE2."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from hookline import schemas
from hookline.errors import InvalidInput

Schema = dict[str, Any]


def nested(levels: int, keyword: str = "not", leaf: Schema | None = None) -> Schema:
    schema: Schema = leaf if leaf is not None else {}
    for _ in range(levels):
        schema = {keyword: [schema] if keyword in ("allOf", "anyOf", "oneOf") else schema}
    return schema


def chain(length: int) -> Schema:
    """$defs a0 -> a1 -> ... -> a<length>, each only a $ref: deep without any nesting."""
    defs: Schema = {f"a{i}": {"$ref": f"#/$defs/a{i + 1}"} for i in range(length)}
    defs[f"a{length}"] = {"type": "integer"}
    return {"$defs": defs, "$ref": "#/$defs/a0"}


def refused(schema: Schema) -> str:
    with pytest.raises(InvalidInput) as caught:
        schemas.compile_schema(schema)
    return caught.value.detail


# Where a subschema can sit, and how the place is named in the answer.
PLACES: dict[str, Callable[[Schema], Schema]] = {
    "schema": lambda sub: sub,
    "schema.properties.price": lambda sub: {"properties": {"price": sub}},
    "schema.$defs.money": lambda sub: {
        "$defs": {"money": sub},
        "properties": {"a": {"$ref": "#/$defs/money"}},
    },
    "schema.items.anyOf[1]": lambda sub: {"items": {"anyOf": [{}, sub]}},
    "schema.if.then": lambda sub: {"if": {"then": sub}},
}

REMOTE_REFS = [
    "http://127.0.0.1:9/schema.json",
    "https://example.com/schemas/order.json#/$defs/a",
    "http://[::1]/s.json",
    "file:///etc/passwd",
    "//example.com/schema.json",
    "order.json",
    "order.json#/$defs/a",
    "",
    "urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66",
    "https://json-schema.org/draft/2020-12/schema",
]


@pytest.mark.parametrize("place", list(PLACES))
@pytest.mark.parametrize("ref", REMOTE_REFS)
def test_a_reference_outside_the_schema_is_refused_wherever_it_is(place: str, ref: str) -> None:
    detail = refused(PLACES[place]({"$ref": ref}))
    assert detail.startswith(f"{place}.$ref: {ref!r} refers outside this schema"), detail
    assert "never fetches" in detail
    assert "'#/$defs/name'" in detail


@pytest.mark.parametrize("place", list(PLACES))
@pytest.mark.parametrize(
    ("sub", "where", "says"),
    [
        ({"$dynamicRef": "#meta"}, "$dynamicRef", "is not supported; use $ref"),
        ({"unevaluatedProperties": False}, "unevaluatedProperties", "use additionalProperties"),
        ({"unevaluatedItems": False}, "unevaluatedItems", "use items"),
        ({"pattern": "^(a)\\1$"}, "pattern", "is not a pattern hookline can run"),
        ({"pattern": "^(?=a)"}, "pattern", "(invalid perl operator: (?=)"),
        ({"pattern": "(?<!a)b"}, "pattern", "RE2 syntax"),
        ({"pattern": "(?P<n>a)(?P=n)"}, "pattern", "no backreferences"),
        ({"pattern": "a{1001}"}, "pattern", "invalid repetition size"),
        ({"pattern": "("}, "pattern", "missing )"),
        ({"patternProperties": {"^(?!x)": {}}}, "patternProperties.^(?!x)", "RE2 syntax"),
        ({"propertyNames": {"pattern": "\\k<n>"}}, "propertyNames.pattern", "RE2 syntax"),
        ({"$ref": "#/$defs/missing"}, "$ref", "does not point at anything in this schema"),
        ({"$ref": "#nowhere"}, "$ref", "does not point at anything in this schema"),
        ({"$ref": "#/allOf/first", "allOf": [{}]}, "$ref", "does not point at anything"),
        ({"$ref": "#/minimum/x", "minimum": 1}, "$ref", "does not point at anything"),
        ({"type": "nonsense"}, "type", "not a valid JSON Schema"),
        ({"minimum": "5"}, "minimum", "not a valid JSON Schema: '5' is not of type 'number'"),
        ({"$ref": 5}, "$ref", "not a valid JSON Schema"),
        ({"maximum": float("nan")}, "maximum", "nan is not a JSON number"),
        ({"maximum": float("inf")}, "maximum", "inf is not a JSON number"),
        ({"enum": [1, float("-inf")]}, "enum[1]", "-inf is not a JSON number"),
        ({"minimum": 2**64}, "minimum", "integer does not fit in 64 bits"),
        ({"const": -(2**63) - 1}, "const", "integer does not fit in 64 bits"),
        ({"properties": {"\ud800": {}}}, "properties.\ud800", "lone UTF-16 surrogate"),
        ({"description": "a\udfffb"}, "description", "lone UTF-16 surrogate"),
        ({"enum": ["a\x00"]}, "enum[0]", "NUL character"),
    ],
)
def test_what_a_subschema_may_not_hold(place: str, sub: Schema, where: str, says: str) -> None:
    detail = refused(PLACES[place](sub))
    shown = where.encode("utf-8", "backslashreplace").decode()  # a lone surrogate, escaped
    assert detail.startswith(f"{place}.{shown}:"), detail
    assert says in detail, detail


@pytest.mark.parametrize("place", [place for place in PLACES if place != "schema"])
@pytest.mark.parametrize(
    ("sub", "where"),
    [
        ({"$id": "http://127.0.0.1:9/"}, "$id"),
        ({"$id": "other.json", "$ref": "#"}, "$id"),
        ({"$schema": "http://127.0.0.1:9/meta"}, "$schema"),
        ({"$schema": "https://json-schema.org/draft/2020-12/schema"}, "$schema"),
    ],
)
def test_id_and_schema_only_at_the_top(place: str, sub: Schema, where: str) -> None:
    detail = refused(PLACES[place](sub))
    assert detail.startswith(f"{place}.{where}: is only allowed at the top of the schema"), detail


RECURSIVE = [
    ({"$ref": "#"}, "schema.$ref"),
    ({"$defs": {"a": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"}, "schema.$defs.a.$ref"),
    ({"$defs": {"a": {"$ref": "#/$defs/a"}}}, "schema.$defs.a.$ref"),  # never used, still refused
    (
        {
            "$defs": {
                "a": {"$ref": "#/$defs/b"},
                "b": {"$ref": "#/$defs/c"},
                "c": {"$ref": "#/$defs/a"},
            }
        },
        "schema.$defs.c.$ref",
    ),
    ({"properties": {"x": {"$ref": "#"}}}, "schema.properties.x.$ref"),
    ({"type": "array", "items": {"$ref": "#"}}, "schema.items.$ref"),
    (
        {"$defs": {"n": {"$anchor": "node", "items": {"$ref": "#node"}}}},
        "schema.$defs.n.items.$ref",
    ),
    (
        {"allOf": [{"$ref": "#/$defs/b"}], "$defs": {"b": {"not": {"$ref": "#/allOf/0"}}}},
        "schema.$defs.b.not.$ref",
    ),
    (
        {
            "$schema": "http://json-schema.org/draft-07/schema#",
            "definitions": {"t": {"properties": {"c": {"$ref": "#/definitions/t"}}}},
        },
        "schema.definitions.t.properties.c.$ref",
    ),
]


@pytest.mark.parametrize(("schema", "where"), RECURSIVE)
def test_recursive_references_are_refused(schema: Schema, where: str) -> None:
    detail = refused(schema)
    assert detail.startswith(f"{where}: leads back to a schema that contains it"), detail
    assert "recursive" in detail


def deep_reuse() -> Schema:
    """`leaf` is 20 levels deep and first met near the top; met again under 15 levels of
    nesting it lies 36 levels down."""
    return {
        "$defs": {"leaf": nested(20)},
        "properties": {"a": {"$ref": "#/$defs/leaf"}},
        "allOf": [nested(14, leaf={"$ref": "#/$defs/leaf"})],
    }


def explosion(levels: int, width: int) -> Schema:
    """Each level refers `width` times to the next: width ** levels subschemas once expanded."""
    defs: Schema = {
        f"d{i}": {"anyOf": [{"$ref": f"#/$defs/d{i + 1}"}] * width} for i in range(levels)
    }
    defs[f"d{levels}"] = {"type": "integer"}
    return {"$defs": defs, "$ref": "#/$defs/d0"}


@pytest.mark.parametrize(
    ("schema", "where", "says"),
    [
        (nested(33), "schema" + ".not" * 33, "nested more than 32 levels deep"),
        (nested(17, "items", nested(16, "allOf", {})), "schema", "nested more than 32"),
        (chain(40), "schema.$defs.a32", "nested more than 32 levels deep"),
        (deep_reuse(), "schema.$defs.leaf", "nested more than 32 levels deep"),
        (nested(70), "schema" + ".not" * 64, "nested more than 64 levels deep"),
        (nested(300), "schema" + ".not" * 64, "nested more than 64 levels deep; flatten it"),
        (explosion(6, 10), "schema.$defs.d", "holds more than 10000 subschemas"),
        (explosion(4, 100), "schema.$defs.d", "holds more than 10000 subschemas"),
    ],
)
def test_schemas_too_deep_or_too_large_are_refused(schema: Schema, where: str, says: str) -> None:
    detail = refused(schema)
    assert detail.startswith(where), detail
    assert says in detail, detail


@pytest.mark.parametrize(
    "schema",
    [
        {"$ref": "#/properties", "properties": {"a": {}}},
        {"$ref": "#/$defs", "$defs": {"a": {}}},
        {"$ref": "#/x-extra", "x-extra": {"$ref": "http://127.0.0.1:9/"}},
        {"properties": {"a": {"$ref": "#/enum/0"}}, "enum": [{"$ref": "file:///etc/passwd"}]},
    ],
)
def test_a_reference_must_point_at_a_subschema(schema: Schema) -> None:
    detail = refused(schema)
    assert "points at something that is not a subschema; put the schemas you share" in detail
    assert detail.startswith(("schema.$ref:", "schema.properties.a.$ref:")), detail


@pytest.mark.parametrize(
    "dialect",
    [
        "http://json-schema.org/draft-03/schema#",
        "https://json-schema.org/draft-07/schema#",  # https: not the draft's identifier
        "http://127.0.0.1:9/meta.json",
        "file:///etc/passwd",
        "",
        5,
    ],
)
def test_an_unknown_metaschema_is_refused(dialect: object) -> None:
    detail = refused({"$schema": dialect, "type": "object"})
    assert detail.startswith(f"schema.$schema: {dialect!r} is not a JSON Schema version"), detail
    assert "'https://json-schema.org/draft/2020-12/schema'" in detail


# Schemas that are fine, with data they accept and data they refuse.
ACCEPTED: list[tuple[Schema, list[Any], list[Any]]] = [
    (
        {"$defs": {"p": {"type": "integer"}}, "properties": {"a": {"$ref": "#/$defs/p"}}},
        [{"a": 1}, {}],
        [{"a": "1"}],
    ),
    (
        {"$defs": {"pos": {"$anchor": "positive", "minimum": 0}}, "items": {"$ref": "#positive"}},
        [[0, 5]],
        [[1, -1]],
    ),
    (
        {
            "$id": "https://example.com/order.json",
            "$defs": {"s": {"type": "string"}},
            "$ref": "#/$defs/s",
        },
        ["x"],
        [1],
    ),
    (
        {
            "$defs": {"a/b": {"type": "string"}, "c~d": {"minLength": 2}, "e f": {"maxLength": 3}},
            "allOf": [
                {"$ref": "#/$defs/a~1b"},
                {"$ref": "#/$defs/c~0d"},
                {"$ref": "#/$defs/e%20f"},
            ],
        },
        ["abc"],
        ["a", "abcd", 5],
    ),
    (  # one shared definition used from many places is not a cycle
        {
            "$defs": {"m": {"type": "number"}},
            "properties": {
                "a": {"$ref": "#/$defs/m"},
                "b": {"items": {"$ref": "#/$defs/m"}},
                "c": {"$ref": "#/properties/a"},
            },
        },
        [{"a": 1, "b": [2, 3.5], "c": 2}, 4],
        [{"b": ["x"]}, {"c": "x"}],
    ),
    ({"$ref": "#/$defs/t", "$defs": {"t": True}}, [None, {}], []),
    (
        {
            "$schema": "http://json-schema.org/draft-07/schema#",
            "definitions": {"id": {"$id": "#ident", "pattern": "^[a-z]+$"}},
            "properties": {"x": {"$ref": "#ident"}, "y": {"$ref": "#/definitions/id"}},
        },
        [{"x": "abc", "y": "z"}],
        [{"x": "ABC"}, {"y": "1"}],
    ),
    (
        {
            "$schema": "http://json-schema.org/draft-04/schema#",
            "id": "https://example.com/s",
            "definitions": {"n": {"id": "#num", "type": "number"}},
            "properties": {"a": {"$ref": "#num"}},
        },
        [{"a": 1}],
        [{"a": "1"}],
    ),
    (
        {
            "$schema": "https://json-schema.org/draft/2019-09/schema",
            "$defs": {"n": {"$anchor": "n", "type": "integer"}},
            "items": {"$ref": "#n"},
        },
        [[1]],
        [[1.5]],
    ),
    (nested(32), [1], []),
    (nested(16, "allOf", {"type": "string"}) | {"$defs": {}}, ["x"], [1]),
    (chain(31), [1], ["1"]),
    (explosion(3, 12), [1], ["1"]),  # about 4000 subschemas once expanded
    (
        {"pattern": "^\\p{Lu}\\w*$", "patternProperties": {"^x-": {"type": "string"}}},
        ["Élan", {"x-a": "1"}],
        ["élan", {"x-a": 1}],
    ),
]


@pytest.mark.parametrize(("schema", "good", "bad"), ACCEPTED)
def test_references_inside_the_schema_work(schema: Schema, good: list[Any], bad: list[Any]) -> None:
    validator = schemas.compile_schema(schema)
    for data in good:
        schemas.check(validator, data, "t")
    for data in bad:
        with pytest.raises(InvalidInput, match=r"the schema of event type 't' requires it"):
            schemas.check(validator, data, "t")


# Where RE2 (like ECMA-262, which JSON Schema names) and Python's re disagree: `$` does not match
# before a final newline. Each row shows the keyword searches with RE2.
RE2_SEMANTICS: list[tuple[Schema, Any, bool]] = [
    ({"pattern": "^a$"}, "a\n", False),
    ({"pattern": "^a$"}, "a", True),
    ({"propertyNames": {"pattern": "^a$"}}, {"a\n": 1}, False),
    ({"patternProperties": {"^a$": False}}, {"a\n": 1}, True),
    ({"patternProperties": {"^a$": False}}, {"a": 1}, False),
    ({"patternProperties": {"^a$": {}}, "additionalProperties": False}, {"a\n": 1}, False),
    ({"patternProperties": {"^a$": {}}, "additionalProperties": False}, {"a": 1}, True),
]


@pytest.mark.parametrize(("schema", "data", "valid"), RE2_SEMANTICS)
def test_patterns_are_searched_with_re2(schema: Schema, data: Any, valid: bool) -> None:
    assert schemas.compile_schema(schema).is_valid(data) is valid


def test_a_refused_pattern_says_what_re2_cannot_do() -> None:
    detail = refused({"properties": {"code": {"pattern": "^(\\d)\\1$"}}})
    assert detail == (
        "schema.properties.code.pattern: '^(\\\\d)\\\\1$' is not a pattern hookline can run "
        "(invalid escape sequence: \\1); " + schemas.RE2_ADVICE
    )


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-3, 3)
    | st.sampled_from([0.0, 1.0, 2.5, -1.0])
    | st.sampled_from(["", "a", "b"]),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["a", "b"]), inner, max_size=2)
    ),
    max_leaves=8,
)


@given(st.lists(json_values, max_size=6))
def test_unique_items_agrees_with_jsonschema(items: list[Any]) -> None:
    ours = schemas.compile_schema({"uniqueItems": True}).is_valid(items)
    assert ours is Draft202012Validator({"uniqueItems": True}).is_valid(items)


@pytest.mark.parametrize(
    ("items", "unique"),
    [
        ([1, 1.0], False),
        ([1, True], True),
        ([0, False, None, "", [], {}], True),
        ([{"a": 1, "b": [1, 2]}, {"b": [1.0, 2], "a": 1.0}], False),
        ([[1, 2], [2, 1]], True),
        ([{"a": i} for i in range(5000)], True),
    ],
)
def test_unique_items_compares_as_json_schema_says(items: list[Any], unique: bool) -> None:
    assert schemas.compile_schema({"uniqueItems": True}).is_valid(items) is unique


# Schemas built from JSON Schema's own keywords, with references to places that may or may not
# exist, cycles, anchors and patterns RE2 can or cannot run: each one either compiles or is
# refused with InvalidInput, and what compiles answers any event with nothing or InvalidInput.
REFS = ["#", "#/$defs/a", "#/$defs/b", "#/properties/p", "#/allOf/0", "#a", "#b", "#/$defs/c"]
PATTERNS = ["^a+$", "^(a+)+$", "[0-9]{2}", "b", "^a$", "^$", "(?=a)"]


def subschemas(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Schema]:
    return st.fixed_dictionaries(
        {},
        optional={
            "type": st.sampled_from(["object", "array", "string", "integer", "null"]),
            "properties": st.dictionaries(st.sampled_from(["p", "q"]), inner, max_size=2),
            "items": inner,
            "allOf": st.lists(inner, min_size=1, max_size=2),
            "anyOf": st.lists(inner, min_size=1, max_size=2),
            "not": inner,
            "$ref": st.sampled_from(REFS),
            "$anchor": st.sampled_from(["a", "b"]),
            "pattern": st.sampled_from(PATTERNS),
            "patternProperties": st.dictionaries(st.sampled_from(PATTERNS), inner, max_size=1),
            "additionalProperties": st.booleans(),
            "uniqueItems": st.booleans(),
            "minimum": st.integers(-2, 2),
        },
    )


schema_trees: st.SearchStrategy[bool | Schema] = st.recursive(
    st.booleans() | st.just({}), subschemas, max_leaves=12
)
documents = st.builds(
    lambda root, defs: {**root, "$defs": defs},
    subschemas(schema_trees),
    st.fixed_dictionaries({"a": schema_trees, "b": schema_trees}),
)


@settings(max_examples=200, deadline=None)  # compile time varies with the machine's load
@given(documents, st.lists(json_values, max_size=3))
def test_every_schema_compiles_or_is_refused_and_every_event_is_answered(
    schema: Schema, events: list[Any]
) -> None:
    try:
        validator = schemas.compile_schema(schema)
    except InvalidInput:
        return
    for data in events:
        with contextlib.suppress(InvalidInput):
            schemas.check(validator, data, "t")
