"""The dashboard's webhook form as a value: text fields read into the API's own input models,
and a field it cannot read named in the error."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from hookline import schemes
from hookline.errors import InvalidInput
from hookline.models import Batch, Webhook
from hookline.ui.webhook_form import (
    WebhookFields,
    parse_batch,
    parse_filter,
    parse_headers,
    parse_object,
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
        "template": None,
        "format_options": None,
        "signature": None,  # Standard Webhooks
        "batch": None,
        "is_active": False,  # an unticked checkbox is not posted at all
    }


@pytest.mark.parametrize(
    ("choice", "custom", "signature"),
    [
        ("", "", None),
        ("ed25519", "", {"preset": "ed25519"}),
        ("github", "", {"preset": "github"}),
        ("stripe", "", {"preset": "stripe"}),
        ("shopify", "", {"preset": "shopify"}),
        ("custom", '{"header": "X-Sig"}', {"header": "X-Sig"}),
    ],
)
def test_the_chosen_scheme_becomes_the_apis_signature(
    choice: str, custom: str, signature: dict[str, Any] | None
) -> None:
    fields = WebhookFields(url="https://example.com/in", signature=choice, signature_custom=custom)
    assert fields.update().signature == signature


def test_a_custom_scheme_needs_its_json() -> None:
    with pytest.raises(InvalidInput, match="describe the custom scheme") as raised:
        WebhookFields(url="https://example.com/in", signature="custom").update()
    assert raised.value.loc == ("signature",)


@pytest.mark.parametrize(
    "signature",
    [
        None,
        {"preset": "ed25519"},
        {"preset": "github"},
        {"preset": "stripe"},
        {"preset": "shopify"},
        {"preset": "github", "headers": {"X-Hub-Id": "{id}"}},  # a preset changed: custom
        {"header": "X-Signature", "signed": "{timestamp}.{body}", "encoding": "base64"},
    ],
)
def test_a_stored_scheme_shows_as_the_choice_that_saves_it_again(
    signature: dict[str, Any] | None,
) -> None:
    """Read from a webhook and posted back unchanged, the form saves the same scheme."""
    stored = schemes.expand(signature)
    shown = WebhookFields.of(_webhook(signature=stored))
    again = shown.update().signature
    assert schemes.expand(again) == stored
    assert (shown.signature == "custom") == (shown.signature_custom != "")


def test_batching_is_both_fields_or_neither() -> None:
    assert parse_batch("", "") is None
    assert parse_batch("50", "") == {"max_events": 50}
    assert parse_batch("50", "250") == {"max_events": 50, "max_wait_ms": 250}
    with pytest.raises(InvalidInput, match="whole number") as raised:
        parse_batch("", "soon")
    assert raised.value.loc == ("batch", "max_wait_ms")
    shown = WebhookFields.of(_webhook(batch=Batch(max_events=7, max_wait_ms=90)))
    assert (shown.batch_max_events, shown.batch_max_wait_ms) == ("7", "90")
    assert shown.update().batch == Batch(max_events=7, max_wait_ms=90)


def test_a_template_keeps_its_whitespace_and_options_are_a_json_object() -> None:
    posted = {
        "url": ["https://example.com/in"],
        "format": ["template"],
        "template": ['{"t": "{{ event.type }}"}\r\n  '],
        "format_options": ['{"subject": "hi"}'],
    }
    spec = WebhookFields.posted(posted).update()
    assert (spec.template, spec.format_options) == (
        '{"t": "{{ event.type }}"}\n  ',
        {"subject": "hi"},
    )
    with pytest.raises(InvalidInput, match="JSON object") as raised:
        parse_object("[1]", "format_options")
    assert raised.value.loc == ("format_options",)


def _webhook(**fields: Any) -> Webhook:
    now = datetime.now(UTC)
    return Webhook.model_validate(
        {
            "id": "wh_1",
            "tenant_id": "ten_1",
            "name": "",
            "url": "https://example.com/in",
            "description": "",
            "event_types": [],
            "filter": None,
            "headers": {},
            "format": "standard",
            "is_active": True,
            "disabled_reason": None,
            "rate_limit_per_minute": None,
            "max_in_flight": None,
            "circuit_state": "closed",
            "circuit_retry_at": None,
            "created_at": now,
            "updated_at": now,
            "last_triggered_at": None,
            "success_count": 0,
            "failure_count": 0,
            "consecutive_failures": 0,
            **fields,
        }
    )
