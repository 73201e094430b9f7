"""Every JSON document hookline takes in follows one rule: plain, storable JSON only."""

from __future__ import annotations

import json

import pytest

from hookline import jsonvalue
from hookline.errors import InvalidInput

REFUSED = [
    ({"price": float("nan")}, "price", "not a JSON number"),
    ({"price": float("inf")}, "price", "not a JSON number"),
    ({"legs": [1, float("-inf")]}, "legs[1]", "not a JSON number"),
    (json.loads('{"a": 1e400}'), "a", "not a JSON number"),
    (json.loads('{"a": NaN}'), "a", "not a JSON number"),
    (json.loads('{"a": -Infinity}'), "a", "not a JSON number"),
    ({"n": 2**64}, "n", "64 bits"),
    ({"n": -(2**63) - 1}, "n", "64 bits"),
    ({"s": "a\x00b"}, "s", "NUL"),
    ({"a\x00": 1}, "a\x00", "NUL"),
    (json.loads('{"s": "\\ud800"}'), "s", "surrogate"),
    (json.loads('{"\\udfff": 1}'), "\udfff", "surrogate"),
    ({"x": {1: 2}}, "x", "keys must be strings"),
    ({"x": b"bytes"}, "x", "not a JSON value"),
    ({"x": {1, 2}}, "x", "not a JSON value"),
]


@pytest.mark.parametrize(("value", "place", "message"), REFUSED)
def test_what_is_not_plain_json_is_refused_naming_the_place(
    value: object, place: str, message: str
) -> None:
    with pytest.raises(InvalidInput, match=message) as caught:
        jsonvalue.check(value, ("data",))
    shown = place.encode("utf-8", "backslashreplace").decode()  # printable, even a surrogate
    assert caught.value.detail.startswith(f"data.{shown}:")
    caught.value.detail.encode("utf-8")  # the message itself can always be sent


def test_nesting_is_bounded() -> None:
    deep: object = "leaf"
    for _ in range(jsonvalue.MAX_DEPTH):
        deep = [deep]
    jsonvalue.check(deep)
    with pytest.raises(InvalidInput, match="nested more than"):
        jsonvalue.check([deep])
    very_deep: object = {}
    for _ in range(10_000):  # no recursion: a pathological document cannot crash the check
        very_deep = {"a": very_deep}
    with pytest.raises(InvalidInput, match="nested more than"):
        jsonvalue.check(very_deep)


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        0,
        2**64 - 1,
        -(2**63),
        1.5e308,
        -0.0,
        "",
        "é ✓ 𝄞 \u2028",
        {"nested": [{"a": [1, 2.5, "x", None, False]}]},
    ],
)
def test_plain_json_passes(value: object) -> None:
    jsonvalue.check(value)


def test_where_spells_paths_as_people_write_them() -> None:
    assert jsonvalue.where(("data", "legs", 0, "price")) == "data.legs[0].price"
    assert jsonvalue.where(()) == "body"
