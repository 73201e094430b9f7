"""The dashboard's webhook form as a value: text fields read into the API's own input models,
and a field it cannot read named in the error."""

from __future__ import annotations

from typing import Any

import pytest

from hookline.errors import InvalidInput
from hookline.ui.webhook_form import (
    WebhookFields,
    parse_filter,
    parse_headers,
    parse_rate_limit,
)


@pytest.mark.parametrize(
    ("text", "headers"),
    [
        ("", {}),
        ("X-Team: payments", {"X-Team": "payments"}),
        ("X-A: 1\n\n  X-B :  two words \n", {"X-A": "1", "X-B": "two words"}),
        ("Authorization: Bearer a:b", {"Authorization": "Bearer a:b"}),
    ],
)
def test_headers_are_one_name_and_value_a_line(text: str, headers: dict[str, str]) -> None:
    assert parse_headers(text) == headers


@pytest.mark.parametrize(("text", "line"), [("no colon here", 1), ("X-A: 1\n: nameless", 2)])
def test_a_header_line_without_a_name_says_which_line(text: str, line: int) -> None:
    with pytest.raises(InvalidInput, match=f"line {line}") as raised:
        parse_headers(text)
    assert raised.value.loc == ("headers",)


@pytest.mark.parametrize(
    ("text", "value"),
    [("", None), ('{"data.amount": {"$gte": 100}}', {"data.amount": {"$gte": 100}})],
)
def test_a_filter_is_a_json_object_or_nothing(text: str, value: dict[str, Any] | None) -> None:
    assert parse_filter(text) == value


@pytest.mark.parametrize(("text", "says"), [("{data: 1}", "not JSON"), ("[1, 2]", "object")])
def test_a_filter_that_is_not_an_object_is_refused(text: str, says: str) -> None:
    with pytest.raises(InvalidInput, match=says) as raised:
        parse_filter(text)
    assert raised.value.loc == ("filter",)


@pytest.mark.parametrize(("text", "value"), [("", None), ("60", 60)])
def test_a_rate_limit_is_a_whole_number_or_nothing(text: str, value: int | None) -> None:
    assert parse_rate_limit(text) == value


@pytest.mark.parametrize("text", ["1.5", "ten"])
def test_a_rate_limit_that_is_not_a_whole_number_is_refused(text: str) -> None:
    with pytest.raises(InvalidInput, match="whole number"):
        parse_rate_limit(text)


def test_a_posted_form_becomes_the_apis_create_input() -> None:
    posted = {
        "csrf": ["t"],
        "tenant_id": ["ten_chosen"],
        "url": [" https://example.com/in "],
        "name": ["fills"],
        "event_types": ["order.filled", "price.above"],
        "filter": ['{"data.n": {"$gt": 1}}'],
        "format": [""],
        "headers": ["X-Team: payments"],
        "rate_limit": ["30"],
        "is_active": ["on"],
    }
    spec = WebhookFields.posted(posted).create(tenant=None)
    assert spec.tenant_id == "ten_chosen"
    assert spec.url == "https://example.com/in"
    assert spec.event_types == ["order.filled", "price.above"]
    assert spec.filter == {"data.n": {"$gt": 1}}
    assert spec.format is None  # chosen by URL
    assert (spec.headers, spec.rate_limit_per_minute, spec.is_active) == (
        {"X-Team": "payments"},
        30,
        True,
    )
    # A tenant's session creates in its own tenant, whatever the form says.
    assert WebhookFields.posted(posted).create(tenant="ten_own").tenant_id == "ten_own"


def test_an_update_sets_every_field_so_emptied_ones_are_removed() -> None:
    posted = {"url": ["https://example.com/in"], "format": ["slack"], "filter": [""]}
    spec = WebhookFields.posted(posted).update()
    assert spec.model_dump(exclude_unset=True) == {
        "url": "https://example.com/in",
        "name": "",
        "description": "",
        "event_types": [],
        "filter": None,
        "headers": {},
        "rate_limit_per_minute": None,
        "format": "slack",
        "is_active": False,  # an unticked checkbox is not posted at all
    }
