"""JSON Schema for event types: checked when an event type is saved, enforced on `send`.

A schema comes from whoever manages event types, and every event (a tenant's test send too) is
run against it, so compiling one refuses whatever could make hookline reach outside the schema
or work without bound, each with the place and what to write instead:

- `$ref` only inside the schema itself: `#`, `#/json/pointer` or `#anchor`. Nothing is ever
  fetched: the validator's registry refuses every URI it does not already hold. `$dynamicRef`
  and `$recursiveRef` are refused, and so is `$id` (or `$schema`) below the top, which would
  change what references inside it mean.
- No recursive references, at most MAX_SUBSCHEMA_DEPTH subschemas inside each other and
  MAX_SUBSCHEMAS in all, counting every `$ref` as the schema it refers to (so a few lines of
  `$defs` referring to each other twice over cannot expand to millions).
- Only plain JSON (hookline.jsonvalue): no NaN, Infinity, integers beyond 64 bits, NUL or lone
  surrogates, no more than jsonvalue.MAX_DEPTH levels of nesting.
- `pattern` and `patternProperties` (and `additionalProperties` next to them) run with RE2, in
  time linear in the text: `^(a+)+$` cannot freeze the process on `"aaaa...!"`. A pattern RE2
  cannot compile (backreferences, lookarounds) is refused when the schema is saved.
- `uniqueItems` compares items by hashing (the stock check is quadratic for objects), and
  `unevaluatedProperties` / `unevaluatedItems`, whose cost grows exponentially with nesting in
  the validator, are refused.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import quote

import re2
import referencing.exceptions
from jsonschema import (
    Draft4Validator,
    Draft6Validator,
    Draft7Validator,
    Draft201909Validator,
    Draft202012Validator,
    validators,
)
from jsonschema.exceptions import ValidationError, best_match
from jsonschema.protocols import Validator
from referencing import Registry, Resource, Specification
from referencing.jsonschema import DRAFT4, specification_with

from hookline import jsonvalue
from hookline.errors import InvalidInput
from hookline.jsonvalue import Location

MAX_SUBSCHEMA_DEPTH = 32  # subschemas inside each other, a `$ref` counting as its target
MAX_SUBSCHEMAS = 10_000  # subschemas in all, with every `$ref` expanded
ROOT: Location = ("schema",)
DEFAULT_DIALECT = "https://json-schema.org/draft/2020-12/schema"
_MESSAGE_LIMIT = 300


def _refuse(loc: Location, message: str) -> InvalidInput:
    return InvalidInput(f"{jsonvalue.where(loc)}: {message}", loc=list(loc))


def _short(text: str) -> str:
    return text if len(text) <= _MESSAGE_LIMIT else text[: _MESSAGE_LIMIT - 3] + "..."


# -- Nothing is ever fetched ---------------------------------------------------------------


def _never_fetch(uri: str) -> Resource[Any]:
    raise referencing.exceptions.NoSuchResource(ref=uri)  # type: ignore[call-arg]


# Every validator resolves references through this registry: it holds the schema itself (and
# jsonschema adds the metaschemas), and asked for anything else it refuses instead of fetching.
NEVER_FETCH: Registry[Any] = Registry(retrieve=_never_fetch)  # type: ignore[call-arg]


# -- Patterns with RE2 ---------------------------------------------------------------------


class _Regex(Protocol):
    def search(self, text: str) -> object | None: ...


_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False  # a refused pattern is our answer, not a line on stderr

RE2_ADVICE = (
    "patterns use RE2 syntax, which matches in time linear in the text whatever the pattern; "
    "RE2 has no backreferences (\\1) and no lookarounds ((?=...), (?!...), (?<=...), (?<!...)): "
    "rewrite the pattern without them"
)


@functools.lru_cache(maxsize=1024)
def _regex(pattern: str) -> _Regex:
    compiled: _Regex = re2.compile(pattern, _RE2_OPTIONS)
    return compiled


def _check_pattern(pattern: str, loc: Location) -> None:
    try:
        _regex(pattern)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise _refuse(
            loc,
            f"{_short(repr(pattern))} is not a pattern hookline can run ({reason}); {RE2_ADVICE}",
        ) from None


# The keywords that search with patterns, and uniqueItems, re-implemented over RE2 and hashing;
# messages as jsonschema words them.


def _pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not _regex(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _pattern_properties(
    validator: Any, patterns: Mapping[str, Any], instance: Any, schema: Any
) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        regex = _regex(pattern)
        for key, value in instance.items():
            if regex.search(key):
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def _additional_properties(
    validator: Any, additional: Any, instance: Any, schema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    properties = schema.get("properties", {})
    patterns = [_regex(pattern) for pattern in schema.get("patternProperties", {})]
    extras = [
        key
        for key in instance
        if key not in properties and not any(regex.search(key) for regex in patterns)
    ]
    if validator.is_type(additional, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], additional, path=extra)
    elif not additional and extras:
        listed = ", ".join(repr(extra) for extra in sorted(extras))
        if "patternProperties" in schema:
            verb = "does" if len(extras) == 1 else "do"
            regexes = ", ".join(repr(p) for p in sorted(schema["patternProperties"]))
            yield ValidationError(f"{listed} {verb} not match any of the regexes: {regexes}")
        else:
            verb = "was" if len(extras) == 1 else "were"
            yield ValidationError(
                f"Additional properties are not allowed ({listed} {verb} unexpected)"
            )


def _json_identity(value: object) -> object:
    """A hashable value equal for exactly the values JSON Schema calls equal: 1 and 1.0 are one
    number, true is not 1, an object's key order does not matter, an array's does."""
    if isinstance(value, bool):
        return ("boolean", value)
    if isinstance(value, int | float):
        return ("number", value)
    if isinstance(value, str):
        return ("string", value)
    if value is None:
        return ("null",)
    if isinstance(value, list | tuple):
        return ("array", tuple(_json_identity(item) for item in value))
    if isinstance(value, dict):
        return ("object", frozenset((k, _json_identity(v)) for k, v in value.items()))
    return ("other", id(value))


def _unique_items(
    validator: Any, unique: Any, instance: Any, schema: Any
) -> Iterator[ValidationError]:
    if not unique or not validator.is_type(instance, "array"):
        return
    seen: set[object] = set()
    for item in instance:
        identity = _json_identity(item)
        if identity in seen:
            yield ValidationError(f"{instance!r} has non-unique elements")
            return
        seen.add(identity)


_KEYWORDS = {
    "pattern": _pattern,
    "patternProperties": _pattern_properties,
    "additionalProperties": _additional_properties,
    "uniqueItems": _unique_items,
}

# Keywords refused wherever the dialect knows them, with what to write instead.
_UNSUPPORTED = {
    "$dynamicRef": "is not supported; use $ref with a pointer into this schema, such as "
    "'#/$defs/name'",
    "$recursiveRef": "is not supported; use $ref with a pointer into this schema, such as "
    "'#/$defs/name'",
    "unevaluatedProperties": "is not supported (checking it takes time exponential in how "
    "deeply it is nested); use additionalProperties instead",
    "unevaluatedItems": "is not supported (checking it takes time exponential in how deeply "
    "it is nested); use items instead",
}


# -- Dialects ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Dialect:
    validator: type[Validator]  # the draft's validator with the keywords above
    meta: Validator  # checks a schema against the draft's metaschema
    spec: Specification[Any]
    id_keyword: str


def _dialect(uri: str, base: type[Validator]) -> _Dialect:
    extended: type[Validator] = validators.extend(base, _KEYWORDS)  # type: ignore[no-untyped-call]
    spec = specification_with(uri)
    return _Dialect(
        validator=extended,
        meta=base(base.META_SCHEMA, registry=NEVER_FETCH),
        spec=spec,
        id_keyword="id" if spec is DRAFT4 else "$id",
    )


_DIALECTS = {
    uri: _dialect(uri, base)
    for uri, base in [
        (DEFAULT_DIALECT, Draft202012Validator),
        ("https://json-schema.org/draft/2019-09/schema", Draft201909Validator),
        ("http://json-schema.org/draft-07/schema", Draft7Validator),
        ("http://json-schema.org/draft-06/schema", Draft6Validator),
        ("http://json-schema.org/draft-04/schema", Draft4Validator),
    ]
}


def _dialect_of(schema: Mapping[str, Any]) -> _Dialect:
    if "$schema" not in schema:
        return _DIALECTS[DEFAULT_DIALECT]
    uri = schema["$schema"]
    found = _DIALECTS.get(uri.rstrip("#")) if isinstance(uri, str) else None
    if found is None:
        known = ", ".join(repr(each) for each in _DIALECTS)
        raise _refuse(
            (*ROOT, "$schema"),
            f"{_short(repr(uri))} is not a JSON Schema version hookline knows; use one of "
            f"{known}, or leave $schema out (draft 2020-12 is assumed)",
        )
    return found


# -- References, recursion and size --------------------------------------------------------


@dataclass
class _Node:
    """One subschema (a JSON object) and where it leads."""

    loc: Location
    children: list[int]  # id() of the object subschemas directly inside it
    ref: str | None
    target: int | None = field(default=None)  # id() of the object its `$ref` refers to


def _subschemas(
    node: dict[str, Any], spec: Specification[Any], loc: Location
) -> list[tuple[dict[str, Any], Location]]:
    """The object subschemas directly inside `node`, each with its place."""
    places: dict[int, Location] = {}
    for key, value in node.items():
        if isinstance(value, dict):
            places.setdefault(id(value), (*loc, key))
            for inner_key, inner in value.items():
                places.setdefault(id(inner), (*loc, key, inner_key))
        elif isinstance(value, list):
            for index, inner in enumerate(value):
                places.setdefault(id(inner), (*loc, key, index))
    return [
        (child, places.get(id(child), loc))
        for child in spec.subresources_of(node)
        if isinstance(child, dict)
    ]


def _check_keywords(node: dict[str, Any], loc: Location, dialect: _Dialect) -> str | None:
    """Refuse what this one subschema must not hold; return its `$ref`, if any."""
    if loc != ROOT:
        if "$schema" in node:
            raise _refuse((*loc, "$schema"), "is only allowed at the top of the schema; remove it")
        if dialect.spec.id_of(node) is not None:
            raise _refuse(
                (*loc, dialect.id_keyword),
                "is only allowed at the top of the schema (here it would change what the "
                "references inside it mean); remove it and refer to this subschema with a "
                "pointer such as '#/$defs/name'",
            )
    known = dialect.validator.VALIDATORS
    for keyword, advice in _UNSUPPORTED.items():
        if keyword in node and keyword in known:
            raise _refuse((*loc, keyword), advice)
    if isinstance(pattern := node.get("pattern"), str):
        _check_pattern(pattern, (*loc, "pattern"))
    if isinstance(patterns := node.get("patternProperties"), dict):
        for pattern in patterns:
            _check_pattern(pattern, (*loc, "patternProperties", pattern))
    if "$ref" not in node:
        return None
    ref = node["$ref"]
    if not isinstance(ref, str):
        raise _refuse((*loc, "$ref"), "must be a string such as '#/$defs/name'")
    if not ref.startswith("#"):
        raise _refuse(
            (*loc, "$ref"),
            f"{_short(repr(ref))} refers outside this schema, and hookline never fetches "
            "schemas; copy what it refers to under $defs and refer to it as '#/$defs/name'",
        )
    return ref


def _pointer(loc: Location) -> str:
    parts = (str(part).replace("~", "~0").replace("/", "~1") for part in loc[len(ROOT) :])
    return "#" + "".join("/" + quote(part, safe="$") for part in parts)


def _resolve_references(
    schema: dict[str, Any], dialect: _Dialect, nodes: dict[int, _Node]
) -> list[tuple[Location, str]]:
    """Point every `$ref` at the subschema it refers to; return the anchors to rewrite as
    pointers (so no lookup at validation time has to search the whole schema)."""
    resource = dialect.spec.create_resource(schema)
    base = resource.id() or ""
    resolver = NEVER_FETCH.with_resource(base, resource).crawl().resolver(base_uri=base)
    rewrites: list[tuple[Location, str]] = []
    for node in nodes.values():
        if node.ref is None:
            continue
        try:
            target = resolver.lookup(node.ref).contents
        except (referencing.exceptions.Unresolvable, LookupError, ValueError, TypeError):
            raise _refuse(
                (*node.loc, "$ref"),
                f"{_short(repr(node.ref))} does not point at anything in this schema; refer "
                "to a subschema that exists, such as '#/$defs/name'",
            ) from None
        if isinstance(target, bool):
            continue
        found = nodes.get(id(target)) if isinstance(target, dict) else None
        if found is None:
            raise _refuse(
                (*node.loc, "$ref"),
                f"{_short(repr(node.ref))} points at something that is not a subschema; put "
                "the schemas you share under $defs and refer to them as '#/$defs/name'",
            )
        node.target = id(target)
        if not node.ref.startswith("#/") and node.ref != "#":
            rewrites.append((node.loc, _pointer(found.loc)))
    return rewrites


def _measure(nodes: dict[int, _Node], root: int) -> None:
    """Refuse a reference cycle, nesting deeper than MAX_SUBSCHEMA_DEPTH and more than
    MAX_SUBSCHEMAS subschemas, following every `$ref` (each subschema is measured once)."""
    measured: dict[int, tuple[int, int]] = {}  # id -> (subschemas, levels below it)
    path: set[int] = set()

    def too_deep(node: _Node) -> InvalidInput:
        return _refuse(
            node.loc,
            f"subschemas are nested more than {MAX_SUBSCHEMA_DEPTH} levels deep here (a $ref "
            "counting as the schema it refers to); flatten the schema",
        )

    def visit(key: int, depth: int) -> tuple[int, int]:
        node = nodes[key]
        if key not in measured:
            if depth > MAX_SUBSCHEMA_DEPTH:
                raise too_deep(node)
            path.add(key)
            size, height = 1, 0
            steps = [(child, False) for child in node.children]
            if node.target is not None:
                steps.append((node.target, True))
            for step, by_reference in steps:
                if step in path:
                    where = (*node.loc, "$ref") if by_reference else node.loc
                    raise _refuse(
                        where,
                        "leads back to a schema that contains it; hookline does not accept "
                        "recursive schemas (checking an event could never end): spell the "
                        "nesting out to the depth you need",
                    )
                below, levels = visit(step, depth + 1)
                size += below
                height = max(height, levels + 1)
                if size > MAX_SUBSCHEMAS:
                    raise _refuse(
                        node.loc,
                        f"holds more than {MAX_SUBSCHEMAS} subschemas once every $ref in it is "
                        "expanded; make the schema smaller",
                    )
            path.discard(key)
            measured[key] = (size, height)
        size, height = measured[key]
        if depth + height > MAX_SUBSCHEMA_DEPTH:
            raise too_deep(node)
        return size, height

    visit(root, 0)


def _with_pointers(schema: dict[str, Any], rewrites: list[tuple[Location, str]]) -> dict[str, Any]:
    if not rewrites:
        return schema
    copied = copy.deepcopy(schema)
    for loc, pointer in rewrites:
        node: Any = copied
        for part in loc[len(ROOT) :]:
            node = node[part]
        node["$ref"] = pointer
    return copied


# -- The two entry points ------------------------------------------------------------------


def compile_schema(schema: dict[str, Any]) -> Validator:
    """A validator for `schema`, or InvalidInput saying what is wrong with the schema."""
    jsonvalue.check(schema, ROOT)
    dialect = _dialect_of(schema)
    error = best_match(dialect.meta.iter_errors(schema))
    if error is not None:
        raise _refuse(
            (*ROOT, *error.absolute_path), f"not a valid JSON Schema: {_short(error.message)}"
        )
    nodes: dict[int, _Node] = {}
    stack: list[tuple[dict[str, Any], Location]] = [(schema, ROOT)]
    while stack:
        node, loc = stack.pop()
        if id(node) in nodes:
            continue
        children = _subschemas(node, dialect.spec, loc)
        ref = _check_keywords(node, loc, dialect)
        nodes[id(node)] = _Node(loc, [id(child) for child, _ in children], ref)
        stack.extend(children)
    rewrites = _resolve_references(schema, dialect, nodes)
    _measure(nodes, id(schema))
    return dialect.validator(_with_pointers(schema, rewrites), registry=NEVER_FETCH)


def check(validator: Validator, data: Any, event_type: str) -> None:
    """Raise InvalidInput naming the first place `data` breaks the event type's schema."""
    try:
        error = best_match(validator.iter_errors(data))
    except referencing.exceptions.Unresolvable as exc:  # compile_schema makes this unreachable
        raise InvalidInput(
            f"the schema of event type {event_type!r} refers to {exc.ref!r}, which hookline "
            f"never fetches; fix the schema with PATCH /api/v1/event-types/{event_type}"
        ) from None
    if error is not None:
        where = jsonvalue.where(("data", *error.absolute_path))
        raise InvalidInput(
            f"{where}: {_short(error.message)} (the schema of event type {event_type!r} "
            "requires it)",
            path=where,
        )
