from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hookline.errors import InvalidInput
from hookline.filters import OPERATORS, matches, validate

# Seed 004 (exploit alerts) and seed 001 (trading) payloads, as hookline delivers them.
EXPLOIT = {
    "id": "evt_1",
    "type": "exploit.detected",
    "timestamp": "2025-10-10T12:30:00.000Z",
    "data": {
        "chain": "Ethereum",
        "protocol": "Uniswap",
        "amount_usd": 250000.0,
        "category": "flash_loan",
        "source": "PeckShield",
    },
}
BALANCE = {
    "id": "evt_2",
    "type": "balance.updated",
    "timestamp": "2026-02-01T10:30:00.000Z",
    "data": {"currency": "ETH", "change_usd": 42.5, "exchanges": ["binance", "okx"]},
}
PRICE = {
    "id": "evt_3",
    "type": "price.threshold",
    "timestamp": "2026-02-01T10:30:00.000Z",
    "data": {"symbol": "BTCUSDT", "price": 51234.5, "legs": [{"symbol": "BTC"}]},
}


@pytest.mark.parametrize(
    ("filter_doc", "envelope", "expected"),
    [
        # seed 004: min_amount_usd, chains, protocols, categories (all must hold)
        ({"data.amount_usd": {"$gte": 100000}}, EXPLOIT, True),
        ({"data.amount_usd": {"$gte": 500000}}, EXPLOIT, False),
        ({"data.chain": {"$iin": ["ethereum", "arbitrum"]}}, EXPLOIT, True),
        ({"data.chain": {"$in": ["ethereum", "arbitrum"]}}, EXPLOIT, False),  # $in is exact
        ({"data.protocol": {"$iin": ["uniswap", "aave", "compound"]}}, EXPLOIT, True),
        ({"data.category": {"$in": ["flash_loan", "reentrancy"]}}, EXPLOIT, True),
        (
            {
                "data.amount_usd": {"$gte": 50000},
                "data.chain": {"$ieq": "ethereum"},
                "data.category": "flash_loan",
            },
            EXPLOIT,
            True,
        ),
        ({"data.amount_usd": {"$gte": 50000}, "data.category": "reentrancy"}, EXPLOIT, False),
        # seed 001: minAmount, currencies
        (
            {"data.change_usd": {"$gt": 10}, "data.currency": {"$in": ["BTC", "ETH", "USDT"]}},
            BALANCE,
            True,
        ),
        ({"data.change_usd": {"$gt": 100}}, BALANCE, False),
        ({"data.exchanges": {"$contains": "okx"}}, BALANCE, True),
        ({"data.exchanges": {"$contains": "bybit"}}, BALANCE, False),
        # seed 001: price alert above 50,000 or below 40,000 for one symbol
        (
            {
                "data.symbol": "BTCUSDT",
                "$or": [{"data.price": {"$gt": 50000}}, {"data.price": {"$lt": 40000}}],
            },
            PRICE,
            True,
        ),
        (
            {
                "data.symbol": "ETHUSDT",
                "$or": [{"data.price": {"$gt": 50000}}, {"data.price": {"$lt": 40000}}],
            },
            PRICE,
            False,
        ),
        # the envelope, ranges, prefixes, arrays, negation, presence
        ({"type": {"$startswith": "price."}}, PRICE, True),
        ({"data.price": {"$gt": 50000, "$lte": 52000}}, PRICE, True),
        ({"data.price": {"$gt": 50000, "$lte": 51000}}, PRICE, False),
        ({"timestamp": {"$gte": "2026-01-01"}}, PRICE, True),
        ({"data.legs.0.symbol": "BTC"}, PRICE, True),
        ({"data.legs.1.symbol": {"$exists": True}}, PRICE, False),
        ({"$not": {"data.symbol": "BTCUSDT"}}, PRICE, False),
        ({"$and": [{"data.symbol": "BTCUSDT"}, {"data.price": {"$ne": 0}}]}, PRICE, True),
        ({"data.missing": {"$exists": False}}, PRICE, True),
        ({"data.missing": {"$ne": 1}}, PRICE, True),
        ({"data.missing": {"$nin": [1]}}, PRICE, True),
        ({"data.missing": {"$lt": 1}}, PRICE, False),
        ({"data.symbol": {"$nin": ["BTCUSDT"]}}, PRICE, False),
        # typed comparisons: no string/number coercion, true is not 1
        ({"data.price": {"$gt": "50000"}}, PRICE, False),
        ({"data.flag": 1}, {"data": {"flag": True}}, False),
        ({"data.flag": True}, {"data": {"flag": True}}, True),
        ({"data.n": 1}, {"data": {"n": 1.0}}, True),
        ({"data.obj": {"a": 1}}, {"data": {"obj": {"a": 1}}}, True),
        ({"data.obj": {"a": 1}}, {"data": {"obj": {"a": 1, "b": 2}}}, True),  # a path, not equality
        ({"data.obj": {"$eq": {"a": 1}}}, {"data": {"obj": {"a": 1, "b": 2}}}, False),
        ({}, PRICE, True),
    ],
)
def test_filter_examples(
    filter_doc: dict[str, Any], envelope: dict[str, Any], expected: bool
) -> None:
    assert matches(validate(filter_doc), envelope) is expected


@pytest.mark.parametrize(
    ("filter_doc", "message"),
    [
        ({"data.amount": {"$gtt": 5}}, "filter.data.amount.$gtt: unknown operator '$gtt'"),
        ({"$xor": []}, "filter.$xor: unknown operator"),
        ({"$or": []}, "filter.$or: $or takes a non-empty list"),
        ({"$and": [{"a": 1}, "b"]}, "filter.$and[1]: expected a filter object"),
        ({"data.x": {"$in": "BTC"}}, "filter.data.x.$in: $in takes a list"),
        ({"data.x": {"$exists": "yes"}}, "filter.data.x.$exists: $exists takes true or false"),
        ({"data.x": {"$gt": [1]}}, "filter.data.x.$gt: $gt takes a number or a string"),
        ({"data.x": {"$startswith": 1}}, "$startswith takes a string"),
        ({"data.x": {"$iin": ["a", 1]}}, "$iin takes a list of at most 1000 strings"),
        ({"data.x": {"$eq": 1, "plain": 2}}, "mixes operators"),
        ({"data..x": 1}, "dot-separated names"),
        ({"$not": {"$not": {"a": {"$bad": 1}}}}, "filter.$not.$not.a.$bad: unknown operator"),
        (["not", "an", "object"], "filter must be a JSON object"),
        ({"a": "x" * 9000}, "the limit is 8192"),
    ],
)
def test_bad_filters_are_refused_at_the_bad_spot(filter_doc: Any, message: str) -> None:
    with pytest.raises(InvalidInput, match=message.replace("$", r"\$").replace("[", r"\[")):
        validate(filter_doc)


@pytest.mark.parametrize(
    ("nested", "dotted"),
    [
        ({"data": {"amount": {"$gte": 5}}}, {"data.amount": {"$gte": 5}}),
        ({"data": {"chain": "eth", "n": {"$lt": 3}}}, {"data.chain": "eth", "data.n": {"$lt": 3}}),
        ({"data": {"legs": {"0": {"symbol": "BTC"}}}}, {"data.legs.0.symbol": "BTC"}),
        ({"data.x": {"y": {"$in": [1, 2]}}}, {"data.x.y": {"$in": [1, 2]}}),
        (
            {"$or": [{"data": {"p": {"$gt": 1}}}, {"type": "t"}]},
            {"$or": [{"data.p": {"$gt": 1}}, {"type": "t"}]},
        ),
        ({"$not": {"data": {"test": True}}}, {"$not": {"data.test": True}}),
        (  # the same path written both ways: both must hold
            {"data.amount": {"$gte": 5}, "data": {"amount": {"$lte": 10}}},
            {"data.amount": {"$gte": 5}, "$and": [{"data.amount": {"$lte": 10}}]},
        ),
        ({"data.obj": {}}, {"data.obj": {}}),  # an empty object is a value
        ({"data.obj": {"$eq": {"a": 1}}}, {"data.obj": {"$eq": {"a": 1}}}),
    ],
)
def test_the_nested_form_is_the_dotted_filter(
    nested: dict[str, Any], dotted: dict[str, Any]
) -> None:
    assert validate(nested) == dotted
    for amount in (0, 5, 7, 10, 11):
        for envelope in (
            {"type": "t", "data": {"amount": amount, "chain": "eth", "n": 2, "p": amount}},
            {"type": "u", "data": {"legs": [{"symbol": "BTC"}], "x": {"y": 2}, "test": True}},
            {"type": "u", "data": {"obj": {}}},
        ):
            assert matches(validate(nested), envelope) == matches(dotted, envelope)


@pytest.mark.parametrize(
    ("filter_doc", "message"),
    [
        ({"data": {"amount": {"$gtt": 5}}}, "filter.data.amount.$gtt: unknown operator"),
        ({"data": {"x": 1, "$gte": 2}}, "filter.data: mixes operators"),
        ({"data.x": {"$eq": {"$gt": 1}}}, "filter.data.x.$eq.$gt: '$gt' is not a value"),
        ({"data.x": {"$in": [1, {"$gt": 1}]}}, r"filter.data.x.$in[1].$gt: '$gt' is not a value"),
        ({"data.x": [{"$gte": 1}]}, "filter.data.x[0].$gte: '$gte' is not a value"),
        ({"data.x": {"$ne": [{"a": {"$exists": True}}]}}, "'$exists' is not a value"),
        ({"data": {"": 1}}, "filter.data.: a path is dot-separated"),
        ({"data.x": float("nan")}, "not a JSON number"),
    ],
)
def test_a_dollar_key_that_is_no_operator_is_refused_wherever_it_is(
    filter_doc: Any, message: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        validate(filter_doc)
    assert message in refused.value.detail
    assert refused.value.loc[0] == "filter"


def test_deep_nesting_is_refused() -> None:
    doc: dict[str, Any] = {"a": 1}
    for _ in range(20):
        doc = {"$not": doc}
    with pytest.raises(InvalidInput, match="at most 16 levels"):
        validate(doc)


# --- properties ------------------------------------------------------------------------------


def texts(max_size: int = 5) -> st.SearchStrategy[str]:
    """Storable text: a NUL is refused in any filter (hookline.jsonvalue)."""
    return st.text(
        st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=max_size
    )


scalars = (
    st.none()
    | st.booleans()
    | st.integers(-1000, 1000)
    | st.floats(-1e6, 1e6, allow_nan=False)
    | texts()
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.sampled_from("abc"), children, max_size=3)
    ),
    max_leaves=8,
)
documents = st.fixed_dictionaries(
    {
        "type": st.sampled_from(["a.b", "a.c", "x"]),
        "data": st.dictionaries(st.sampled_from("abc"), json_values, max_size=3),
    }
)
paths = st.sampled_from(["type", "data.a", "data.b", "data.c", "data.a.b", "data.a.0", "missing"])


def operator_args(op: str) -> st.SearchStrategy[Any]:
    if op in ("$in", "$nin"):
        return st.lists(scalars, max_size=3)
    if op == "$iin":
        return st.lists(texts(), max_size=3)
    if op == "$exists":
        return st.booleans()
    if op in ("$gt", "$gte", "$lt", "$lte"):
        return st.integers(-1000, 1000) | texts()
    if op in ("$startswith", "$ieq"):
        return texts(3)
    return scalars


conditions = st.sampled_from(OPERATORS).flatmap(
    lambda op: operator_args(op).map(lambda arg: {op: arg})
)
leaves = st.builds(lambda path, cond: {path: cond}, paths, conditions | scalars)
filter_docs = st.recursive(
    leaves,
    lambda children: (
        st.builds(lambda f: {"$not": f}, children)
        | st.lists(children, min_size=1, max_size=3).map(lambda fs: {"$and": fs})
        | st.lists(children, min_size=1, max_size=3).map(lambda fs: {"$or": fs})
    ),
    max_leaves=6,
)


@settings(max_examples=300)
@given(filter_docs, documents)
def test_not_inverts(f: dict[str, Any], doc: dict[str, Any]) -> None:
    assert matches(validate({"$not": f}), doc) is not matches(f, doc)


@settings(max_examples=300)
@given(filter_docs, filter_docs, documents)
def test_and_or_are_conjunction_and_disjunction(
    f: dict[str, Any], g: dict[str, Any], doc: dict[str, Any]
) -> None:
    assert matches({"$and": [f, g]}, doc) == (matches(f, doc) and matches(g, doc))
    assert matches({"$or": [f, g]}, doc) == (matches(f, doc) or matches(g, doc))


@settings(max_examples=300)
@given(paths, scalars, documents)
def test_membership_agrees_with_equality(path: str, value: Any, doc: dict[str, Any]) -> None:
    assert matches({path: {"$in": [value]}}, doc) == matches({path: {"$eq": value}}, doc)
    assert matches({path: {"$nin": [value]}}, doc) != matches({path: {"$in": [value]}}, doc)
    assert matches({path: {"$ne": value}}, doc) != matches({path: {"$eq": value}}, doc)


@settings(max_examples=300)
@given(paths, st.integers(-1000, 1000) | texts(), documents)
def test_orderings_are_consistent(path: str, bound: Any, doc: dict[str, Any]) -> None:
    gte = matches({path: {"$gte": bound}}, doc)
    assert gte == (matches({path: {"$gt": bound}}, doc) or matches({path: {"$eq": bound}}, doc))
    lt = matches({path: {"$lt": bound}}, doc)
    if gte or lt:  # comparable: exactly one side holds
        assert gte != lt


@settings(max_examples=300)
@given(documents)
def test_a_document_matches_a_filter_of_its_own_values(doc: dict[str, Any]) -> None:
    own = {f"data.{key}": value for key, value in doc["data"].items()}
    own["type"] = doc["type"]
    assert matches(validate({k: {"$eq": v} for k, v in own.items()}), doc)


@settings(max_examples=500)
@given(
    st.recursive(
        scalars,
        lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=6), c, max_size=3),
        max_leaves=10,
    ),
    documents,
)
def test_validation_accepts_or_explains_and_evaluation_never_crashes(
    candidate: Any, doc: dict[str, Any]
) -> None:
    try:
        checked = validate(candidate)
    except InvalidInput as exc:
        message = str(exc)
    else:
        assert matches(checked, doc) in (True, False)
        return
    assert message.startswith("filter")
