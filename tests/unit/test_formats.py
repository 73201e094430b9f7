"""Payload formats, pure: each format's body for the seeds' events, the service limits, the
template sandbox's bounds, the format a URL gets, and the checks made when a webhook is saved."""

from __future__ import annotations

import html
import itertools
import json
import re
from typing import Any

import orjson
import pytest

from hookline import fanout, formats
from hookline.errors import InvalidInput
from hookline.formats import chat, jsonbody

NOW = 1_764_670_245.5  # 2025-12-02T10:10:45.500Z
CONTEXT = formats.Context("wh_1", "risk desk", "ten_1", "acme", "Acme Ltd")

# seed 000: what its platform sends for a cascade (the body of its generic webhook)
CASCADE = {
    "event_type": "LIQUIDATION_CASCADE",
    "timestamp": "2024-02-03T15:30:45.123456+00:00",
    "symbol": "BTC/USDT",
    "severity": "CRITICAL",
    "title": "Liquidation Cascade Detected - BTC/USDT",
    "description": "Large liquidation event with velocity 1,234,567 USD/h",
    "source": "CASCADE",
    "data": {
        "velocity_usd_per_hour": 1234567,
        "long_liquidations_usd": 800000,
        "support_levels": [45000, 44500],
        "risk_level": "HIGH",
    },
}
# seed 002: the model-registration body
MODEL_READY = {
    "model_id": "model_abc123",
    "registered_version": "1",
    "timestamp": "2024-01-15T10:30:00Z",
    "token_symbol": "TOKEN_ABC",
    "baseline_metrics": {"accuracy": 0.85, "f1_score": 0.82},
    "metadata": {"model_name": "sentiment-analyzer", "tags": {"environment": "production"}},
}
SEED_002_TEMPLATE = """{
  "model_id": {{ data.model_id | tojson }},
  "idempotency_key": {{ event.id | tojson }},
  "registered_version": {{ data.registered_version | tojson }},
  "timestamp": {{ data.timestamp | tojson }},
  "token_symbol": {{ data.token_symbol | tojson }},
  "baseline_metrics": {{ data.baseline_metrics | tojson }},
  "metadata": {{ data.metadata | tojson }}
}"""


def payload(data: dict[str, Any], event_type: str = "model.ready") -> str:
    return fanout.envelope("evt_1", event_type, data, NOW)[1].decode()


def body(spec: formats.Spec, data: dict[str, Any], event_type: str = "model.ready") -> Any:
    return orjson.loads(formats.render(spec, payload(data, event_type), CONTEXT))


def format_for_discord(event: dict[str, Any]) -> dict[str, Any]:
    """Seed 000's own `format_for_discord`, rewritten over its event as a dict."""
    color_map = {"CRITICAL": 15158332, "WARNING": 15105570, "INFO": 3447003}
    return {
        "embeds": [
            {
                "title": event["title"],
                "description": event["description"],
                "color": color_map.get(event["severity"], 9807270),
                "fields": [
                    {"name": "Symbol", "value": event["symbol"], "inline": True},
                    {"name": "Severity", "value": event["severity"], "inline": True},
                    {"name": "Source", "value": event["source"], "inline": True},
                    {"name": "Data", "value": f"```json\n{json.dumps(event['data'])}\n```"},
                ],
                "timestamp": event["timestamp"],
            }
        ]
    }


@pytest.mark.parametrize(
    ("value", "stringified"),  # what JavaScript's JSON.stringify writes for each
    [
        (45000.0, "45000"),
        (0.85, "0.85"),
        (0.00125, "0.00125"),
        (1e-6, "0.000001"),
        (1e-7, "1e-7"),
        (1e20, "100000000000000000000"),
        (1e21, "1e+21"),
        (2.0**60, "1152921504606847000"),
        (-1.5, "-1.5"),
        (-0.0, "0"),
        (5e-324, "5e-324"),
        (1.7976931348623157e308, "1.7976931348623157e+308"),
    ],
)
def test_numbers_are_spelled_as_json_stringify_spells_them(value: float, stringified: str) -> None:
    assert jsonbody.js_number(value) == stringified
    assert jsonbody.dumps([value]) == f"[{stringified}]".encode()


def test_bodies_are_compact_utf8_in_the_order_given() -> None:
    assert jsonbody.dumps({"z": 1, "a": {"ü": "€"}, "m": [True, None]}) == (
        '{"z":1,"a":{"ü":"€"},"m":[true,null]}'.encode()
    )


def test_the_standard_envelope_carries_javascript_numbers_too() -> None:
    sent = formats.render(formats.Spec(), payload({"price": 45000.0}), CONTEXT)
    assert b'"data":{"price":45000}' in sent


def test_data_sends_the_events_data_verbatim_and_compact() -> None:
    sent = formats.render(formats.Spec("data"), payload(MODEL_READY), CONTEXT)
    assert sent == json.dumps(MODEL_READY, separators=(",", ":"), ensure_ascii=False).encode()


def test_seed_002_template_adds_the_event_id_as_idempotency_key() -> None:
    sent = body(formats.Spec("template", SEED_002_TEMPLATE), MODEL_READY)
    assert sent == {"model_id": "model_abc123", "idempotency_key": "evt_1", **MODEL_READY}
    assert list(sent)[:2] == ["model_id", "idempotency_key"]


def test_a_template_sees_event_data_webhook_and_tenant() -> None:
    text = (
        '{"e": [{{ event.id|tojson }}, {{ event.type|tojson }}, {{ event.timestamp|tojson }}],'
        ' "d": {{ data.x|tojson }}, "w": [{{ webhook.id|tojson }}, {{ webhook.name|tojson }}],'
        ' "t": [{{ tenant.id|tojson }}, {{ tenant.uid|tojson }}, {{ tenant.name|tojson }}],'
        ' "missing": {{ data.nope.deeper|tojson }}}'
    )
    assert body(formats.Spec("template", text), {"x": 45000.0}) == {
        "e": ["evt_1", "model.ready", "2025-12-02T10:10:45.500Z"],
        "d": 45000,
        "w": ["wh_1", "risk desk"],
        "t": ["ten_1", "acme", "Acme Ltd"],
        "missing": None,
    }


def test_template_output_is_written_again_compact() -> None:
    sent = formats.render(formats.Spec("template", '{ "a" : [ 1.0 , "é" ] }'), payload({}), CONTEXT)
    assert sent == '{"a":[1,"é"]}'.encode()


def stepping_clock(step: float) -> Any:
    ticks = itertools.count()
    return lambda: next(ticks) * step


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('{"a": 1,}', "not valid JSON: trailing comma is not allowed at line 1 column 8"),
        ('{"a": {{ data.s }}}', "not valid JSON"),
        ("{\n{% for x in %}", "line 2: Expected an expression"),
        ('{{ "a" * 10**9 }}', "a value of 1000000000 characters would be built"),
        ("{% for i in range(100000) %}{% endfor %}", "range() of 100000 items; at most 10000"),
        ('{{ "%0999999d" % 1 }}', "width or precision of 1000 or more"),
        ('{{ "x".center(1000000) }}', "access to attribute 'center' of 'str' object is unsafe"),
        ('{{ "x" | center(1000000) }}', "line 1: No filter named 'center'"),
        ("{{ lipsum(100) }}", "'lipsum' is undefined"),
        ("{{ [1] | slice(10**9) | list }}", "No filter named 'slice'"),
        ("{{ 10 ** 100000 }}", "10 ** 100000 is too large a number"),
        ("{{ (10 ** 10000) * (10 ** 10000) }}", "product of these numbers"),
        ("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", "macros call each other too deeply"),
        ("\n\n{{ 1 / 0 }}", "ZeroDivisionError: division by zero (template line 3)"),
        ("{{ data.__class__.__mro__ }}", "not valid JSON"),  # unsafe attributes are undefined
    ],
)
def test_a_template_that_cannot_render_says_what_and_where(text: str, says: str) -> None:
    # A clock that stands still: on a loaded machine the time budget would otherwise answer
    # first for the slow ones (deep recursion), and this test is about the other bounds.
    with pytest.raises(formats.FormatError) as caught:
        formats.render(
            formats.Spec("template", text),
            payload({"s": "x"}),
            CONTEXT,
            clock=stepping_clock(0.0),
        )
    assert says in str(caught.value)


def test_a_template_stops_at_its_time_budget_even_without_output() -> None:
    text = "{% for i in range(10) %}{% for j in range(10) %}{% endfor %}{% endfor %}[]"
    with pytest.raises(formats.FormatError, match=r"rendering took longer than 0\.25 s"):
        formats.render(
            formats.Spec("template", text), payload({}), CONTEXT, clock=stepping_clock(0.05)
        )
    assert formats.render(
        formats.Spec("template", text), payload({}), CONTEXT, clock=stepping_clock(0.0)
    ) == (b"[]")


def test_a_template_stops_at_its_output_cap() -> None:
    text = '["{% for i in range(9000) %}{{ data.s }}{% endfor %}"]'
    with pytest.raises(formats.FormatError, match="the limit is 262144"):
        formats.render(formats.Spec("template", text), payload({"s": "x" * 100}), CONTEXT)


def test_discord_lays_out_seed_000s_event_as_its_own_formatter_does() -> None:
    sent = body(formats.Spec("discord"), CASCADE, "market.cascade")
    expected = format_for_discord(CASCADE)
    expected["embeds"][0]["fields"][3]["inline"] = False
    expected["embeds"][0]["timestamp"] = "2025-12-02T10:10:45.500Z"  # the event's timestamp
    assert sent == expected


@pytest.mark.parametrize(
    ("severity", "colour"),
    [("CRITICAL", 15158332), ("WARNING", 15105570), ("INFO", 3447003), ("LOW", 9807270)],
)
def test_discord_colours_by_severity(severity: str, colour: int) -> None:
    sent = body(formats.Spec("discord"), {**CASCADE, "severity": severity})
    assert sent["embeds"][0]["color"] == colour


def test_other_events_get_their_type_as_title_and_their_data_as_fields() -> None:
    sent = body(
        formats.Spec("discord", options={"username": "hookline"}),
        {"symbol_pair": "BTCUSDT", "price": 45000.0, "legs": [1, 2]},
        "order.filled",
    )
    assert sent["username"] == "hookline"
    [embed] = sent["embeds"]
    assert (embed["title"], embed["color"]) == ("order.filled", 9807270)
    assert embed["fields"] == [
        {"name": "symbol_pair", "value": "BTCUSDT", "inline": True},
        {"name": "price", "value": "45000", "inline": True},  # as JSON.stringify writes it
        {"name": "legs", "value": "[1, 2]", "inline": True},
    ]


def discord_size(embed: dict[str, Any]) -> int:
    fields = embed["fields"]
    return (
        len(embed["title"])
        + len(embed.get("description", ""))
        + sum(len(f["name"]) + len(f["value"]) for f in fields)
    )


def test_discord_limits_are_kept_by_cutting_with_an_ellipsis() -> None:
    huge = {
        **CASCADE,
        "title": "T" * 300,
        "description": "D" * 5000,
        "symbol": "S" * 2000,
        "data": {"blob": "x" * 3000},
    }
    [embed] = body(formats.Spec("discord"), huge)["embeds"]
    assert embed["title"] == "T" * 255 + "…"
    assert embed["description"] == "D" * 4095 + "…"
    assert embed["fields"][0]["value"] == "S" * 1023 + "…"
    assert discord_size(embed) <= 6000
    many = {f"key_{i}": "v" * 900 for i in range(40)}
    [embed] = body(formats.Spec("discord"), many)["embeds"]
    assert len(embed["fields"]) <= 25
    assert all(len(f["value"]) <= 1024 for f in embed["fields"])
    assert discord_size(embed) <= 6000
    assert embed["fields"][-1]["value"].endswith("…")


def test_a_cut_data_field_stays_a_closed_code_block() -> None:
    [embed] = body(formats.Spec("discord"), {**CASCADE, "data": {"blob": "x" * 3000}})["embeds"]
    data = embed["fields"][-1]["value"]
    assert len(data) == 1024
    assert data.startswith("```json\n")
    assert data.endswith("…\n```")


def test_slack_sends_text_and_blocks_with_the_same_content_escaped() -> None:
    sent = body(formats.Spec("slack"), {**CASCADE, "description": "velocity <1h> & rising"})
    assert (
        sent["text"] == "Liquidation Cascade Detected - BTC/USDT: velocity &lt;1h&gt; &amp; rising"
    )
    header, description, fields, data, context = sent["blocks"]
    assert header["text"]["text"] == "Liquidation Cascade Detected - BTC/USDT"
    assert description["text"]["text"] == "velocity &lt;1h&gt; &amp; rising"
    assert [f["text"] for f in fields["fields"]] == [
        "*Symbol*\nBTC/USDT",
        "*Severity*\nCRITICAL",
        "*Source*\nCASCADE",
    ]
    assert data["text"]["text"] == f"```{json.dumps(CASCADE['data'])}```"
    assert context["elements"][0]["text"] == "model.ready · 2025-12-02T10:10:45.500Z"


def test_slack_limits_are_kept() -> None:
    many = {f"k{i}": "<" * 3000 for i in range(45)}
    sent = body(formats.Spec("slack"), many)
    sections = [b for b in sent["blocks"] if "fields" in b]
    assert [len(s["fields"]) for s in sections] == [10, 10, 10, 10]
    assert all(len(f["text"]) <= 2000 for s in sections for f in s["fields"])
    assert all("&lt" in f["text"] and not f["text"].endswith("&") for f in sections[0]["fields"])


def test_telegram_sends_html_with_every_value_escaped() -> None:
    spec = formats.Spec("telegram", options={"chat_id": -100123, "disable_notification": True})
    sent = body(spec, {**CASCADE, "title": "<b>Cascade</b> & co"})
    assert list(sent) == ["chat_id", "text", "parse_mode", "disable_notification"]
    assert (sent["chat_id"], sent["parse_mode"]) == (-100123, "HTML")
    lines = sent["text"].split("\n")
    assert lines[0] == "<b>&lt;b&gt;Cascade&lt;/b&gt; &amp; co</b>"
    assert lines[2:5] == [
        "<b>Symbol:</b> BTC/USDT",
        "<b>Severity:</b> CRITICAL",
        "<b>Source:</b> CASCADE",
    ]
    assert html.escape(json.dumps(CASCADE["data"]), quote=False) in sent["text"]
    assert lines[-1] == "<i>2025-12-02T10:10:45.500Z</i>"


def test_telegram_text_fits_4096_characters_once_parsed() -> None:
    spec = formats.Spec("telegram", options={"chat_id": "@alerts"})
    sent = body(spec, {f"k{i}": "&" * 1000 for i in range(30)})
    visible = html.unescape(re.sub(r"<[^>]+>", "", sent["text"]))
    assert len(visible) <= 4096
    assert "&amp;" in sent["text"]
    assert "&&" not in sent["text"]


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("https://discord.com/api/webhooks/123/abc", "discord"),
        ("https://discordapp.com/api/webhooks/123/abc", "discord"),
        ("https://DISCORD.com/api/webhooks/123/abc", "discord"),
        ("https://discord.com/channels/1", "standard"),
        ("https://hooks.slack.com/services/T0/B0/x", "slack"),
        ("https://api.telegram.org/bot123:abc/sendMessage", "telegram"),
        ("https://api.telegram.org/bot123:abc/getMe", "standard"),
        ("https://example.com/api/webhooks/1", "standard"),
        ("https://discord.com.evil.example/api/webhooks/1", "standard"),
    ],
)
def test_a_chat_services_url_gets_its_format_by_default(url: str, name: str) -> None:
    assert formats.default_for(url) == name


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        (formats.Spec("template"), "format `template` needs a `template`"),
        (formats.Spec("data", "{}"), "only format `template` uses a template"),
        (formats.Spec("telegram"), 'needs the chat to send to: {"chat_id"'),
        (formats.Spec("telegram", options={"chat_id": True}), "must be an integer or a string"),
        (formats.Spec("telegram", options={"chat_id": " "}), "'chat_id' must not be empty"),
        (
            formats.Spec("discord", options={"colour": 1}),
            "'colour' is not an option of format 'discord'; its options are: username, avatar_url",
        ),
        (formats.Spec("data", options={"x": 1}), "its options are: none"),
        (formats.Spec("template", "{\n{% if %}"), "template: line 2: Expected an expression"),
        (formats.Spec("template", "{{ data.n }}"), "not valid JSON"),
    ],
)
def test_a_format_that_cannot_be_saved_says_what_to_fix(spec: formats.Spec, says: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        formats.check(spec, "https://example.com/hook")
    assert says in str(caught.value)


def test_a_template_is_checked_against_the_event_types_example() -> None:
    text = '{"n": {{ data.n + 1 }}}'
    with pytest.raises(InvalidInput, match="rendered against a sample event with empty data"):
        formats.check(formats.Spec("template", text), "https://example.com/hook")
    sample = formats.Sample("order.filled", {"n": 1}, example=True)
    assert formats.check(formats.Spec("template", text), "https://example.com/hook", sample)
    with pytest.raises(InvalidInput, match=r"the first example of event type 'order\.filled'"):
        formats.check(
            formats.Spec("template", text),
            "https://example.com/hook",
            formats.Sample("order.filled", {"n": "one"}, example=True),
        )


@pytest.mark.parametrize(
    ("answer", "wait"),
    [
        ('{"message": "You are being rate limited.", "retry_after": 0.5, "global": false}', 0.5),
        ('{"ok": false, "error_code": 429, "parameters": {"retry_after": 7}}', 7.0),
        ('{"retry_after": -3}', 0.0),
        ('{"retry_after": 1e12}', 30 * 86_400.0),
        ('{"retry_after": "5"}', None),
        ('{"retry_after": true}', None),
        ('{"parameters": []}', None),
        ("[1]", None),
        ("too many requests", None),
        ("", None),
    ],
)
def test_the_wait_in_a_chat_services_429_body(answer: str, wait: float | None) -> None:
    assert formats.body_retry_after(answer) == wait


def test_chat_content_of_data_that_is_not_an_object() -> None:
    shown = chat.content(chat.Event("evt_1", "x.y", "t", [1, 2]))
    assert shown.fields == [("data", "[1, 2]", True)]
