"""Payload formats end to end: what a real receiver on loopback gets for each format, the
preview that shows it without sending, the checks made when a webhook is saved, and a chat
service's 429 whose wait is in its body."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime
from typing import Any

import orjson

from tests.support import api
from tests.support.harness import Running
from tests.support.receiver import Receiver, Reply

MODEL_READY = {
    "model_id": "model_abc123",
    "registered_version": "1",
    "timestamp": "2024-01-15T10:30:00Z",
    "token_symbol": "TOKEN_ABC",
    "baseline_metrics": {"accuracy": 0.85, "f1_score": 0.82, "samples": 45000.0},
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
CASCADE = {
    "event_type": "LIQUIDATION_CASCADE",
    "symbol": "BTC/USDT",
    "severity": "CRITICAL",
    "title": "Liquidation Cascade Detected - BTC/USDT",
    "description": "Large liquidation event with velocity 1,234,567 USD/h",
    "source": "CASCADE",
    "data": {"velocity_usd_per_hour": 1234567, "risk_level": "HIGH"},
}


def js_stringify(body: bytes) -> bytes:
    """What `JSON.stringify(JSON.parse(body))` gives (seed 001's receiver re-serialises the
    parsed body before it checks the signature), for bodies whose numbers are integers or
    short decimals."""

    def numbers(value: Any) -> Any:
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, dict):
            return {k: numbers(v) for k, v in value.items()}
        if isinstance(value, list):
            return [numbers(v) for v in value]
        return value

    return json.dumps(numbers(json.loads(body)), separators=(",", ":"), ensure_ascii=False).encode()


async def model_type(hl: Running, examples: list[dict[str, Any]] | None = None) -> None:
    body = {"name": "model.ready", "examples": examples or []}
    api.ok(await hl.client.post("/api/v1/event-types", json=body), 201)


async def test_data_sends_the_events_data_as_the_body_byte_for_byte_as_json_stringify(
    hookline: Running, receiver: Receiver
) -> None:
    tenant = await api.tenant(hookline.client)
    await model_type(hookline)
    await api.webhook(hookline.client, tenant["id"], receiver.url("/models"), format="data")
    await api.send(hookline.client, "model.ready", MODEL_READY, tenant["id"])

    [request] = await receiver.wait_for(1, "/models")
    assert orjson.loads(request.body) == MODEL_READY
    assert b'"samples":45000}' in request.body
    assert request.body == js_stringify(request.body)
    assert request.headers["Content-Type"] == "application/json"


async def test_seed_002s_body_with_an_idempotency_key_from_a_template(
    hookline: Running, receiver: Receiver
) -> None:
    tenant = await api.tenant(hookline.client)
    await model_type(hookline, [MODEL_READY])
    hook = await api.webhook(
        hookline.client,
        tenant["id"],
        receiver.url("/models"),
        event_types=["model.ready"],
        format="template",
        template=SEED_002_TEMPLATE,
    )
    assert (hook["format"], hook["template"]) == ("template", SEED_002_TEMPLATE)
    sent = await api.send(hookline.client, "model.ready", MODEL_READY, tenant["id"])

    [request] = await receiver.wait_for(1, "/models")
    assert orjson.loads(request.body) == {
        "model_id": "model_abc123",
        "idempotency_key": sent["id"],
        **MODEL_READY,
    }
    assert request.body == js_stringify(request.body)


async def test_a_template_that_fails_at_delivery_fails_the_attempt_with_the_reason(
    hookline: Running, receiver: Receiver
) -> None:
    tenant = await api.tenant(hookline.client)
    await model_type(hookline, [{"version": 1}])
    await api.webhook(
        hookline.client,
        tenant["id"],
        receiver.url("/models"),
        event_types=["model.ready"],
        format="template",
        template='{"next": {{ data.version + 1 }}}',
    )
    sent = await api.send(hookline.client, "model.ready", {"version": "one"}, tenant["id"])

    [delivery] = await api.settled(hookline.client, sent["id"])
    assert delivery["status"] == "failed"
    attempts = await api.attempts(hookline.client, delivery["id"])
    assert len(attempts) == 4
    assert attempts[0]["status_code"] is None
    assert attempts[0]["error"].startswith(
        "the template format could not render this event: TypeError: "
    )
    assert "(template line 1)" in attempts[0]["error"]
    assert receiver.at("/models") == []


async def test_discord_slack_and_telegram_bodies_arrive_as_each_service_takes_them(
    hookline: Running, receiver: Receiver
) -> None:
    tenant = await api.tenant(hookline.client)
    await api.event_type(hookline.client, "market.cascade")
    chats: list[tuple[str, dict[str, Any]]] = [
        ("/discord", {"format": "discord"}),
        ("/slack", {"format": "slack"}),
        ("/bot123:abc/sendMessage", {"format": "telegram", "format_options": {"chat_id": 42}}),
    ]
    for path, fields in chats:
        await api.webhook(hookline.client, tenant["id"], receiver.url(path), **fields)
    await api.send(hookline.client, "market.cascade", CASCADE, tenant["id"])

    [discord] = await receiver.wait_for(1, "/discord")
    [embed] = orjson.loads(discord.body)["embeds"]
    assert (embed["title"], embed["color"]) == (CASCADE["title"], 15158332)
    assert [f["name"] for f in embed["fields"]] == ["Symbol", "Severity", "Source", "Data"]
    [slack] = await receiver.wait_for(1, "/slack")
    assert orjson.loads(slack.body)["text"].startswith(CASCADE["title"])
    [telegram] = await receiver.wait_for(1, "/bot123:abc/sendMessage")
    message = orjson.loads(telegram.body)
    assert (message["chat_id"], message["parse_mode"]) == (42, "HTML")
    assert message["text"].startswith(f"<b>{CASCADE['title']}</b>\n")


async def test_chat_service_urls_get_their_format_unless_one_is_given(
    hookline: Running,
) -> None:
    tenant = await api.tenant(hookline.client)
    urls: list[tuple[str, dict[str, Any], str]] = [
        ("https://discordapp.com/api/webhooks/1/x", {}, "discord"),
        ("https://hooks.slack.com/services/T/B/x", {}, "slack"),
        (
            "https://api.telegram.org/bot1:x/sendMessage",
            {"format_options": {"chat_id": 1}},
            "telegram",
        ),
        ("https://discord.com/api/webhooks/1/x", {"format": "standard"}, "standard"),
        ("https://example.com/hook", {}, "standard"),
    ]
    for url, fields, expected in urls:
        hook = await api.webhook(hookline.client, tenant["id"], url, **fields)
        assert hook["format"] == expected, url


async def test_bad_formats_are_refused_saying_what_to_fix(hookline: Running) -> None:
    tenant = await api.tenant(hookline.client)
    await model_type(hookline, [MODEL_READY])
    base = {"tenant_id": tenant["id"], "url": "https://example.com/hook"}
    refused: list[tuple[dict[str, Any], str]] = [
        ({"format": "telegram"}, 'needs the chat to send to: {"chat_id"'),
        (
            {"url": "https://api.telegram.org/bot1:x/sendMessage"},
            'needs the chat to send to: {"chat_id"',
        ),
        ({"format": "template"}, "format `template` needs a `template`"),
        ({"template": "{}"}, "only format `template` uses a template"),
        ({"format": "slack", "format_options": {"channel": "#x"}}, "its options are: none"),
        ({"format": "template", "template": "{\n{% for %}"}, "line 2: Expected an expression"),
        (
            {
                "format": "template",
                "template": '{"id": {{ data.model_id }}}',
                "event_types": ["model.ready"],
            },
            "not valid JSON: unexpected character, expected a JSON value at line 1 column 8 of "
            "the output",
        ),
    ]
    for fields, says in refused:
        response = await hookline.client.post("/api/v1/webhooks", json={**base, **fields})
        assert response.status_code == 422, (fields, response.text)
        assert says in response.json()["detail"], (fields, response.json()["detail"])
    hook = await api.webhook(hookline.client, tenant["id"], "https://example.com/hook")
    response = await hookline.client.patch(
        f"/api/v1/webhooks/{hook['id']}", json={"format": "telegram"}
    )
    assert response.status_code == 422
    assert "chat_id" in response.json()["detail"]
    fixed = await hookline.client.patch(
        f"/api/v1/webhooks/{hook['id']}",
        json={"format": "telegram", "format_options": {"chat_id": "@alerts"}},
    )
    assert api.ok(fixed)["format_options"] == {"chat_id": "@alerts"}
    switched = await hookline.client.patch(
        f"/api/v1/webhooks/{hook['id']}", json={"format": "discord"}
    )
    assert (api.ok(switched)["format"], api.ok(switched)["format_options"]) == ("discord", None)


async def test_preview_shows_exactly_what_would_be_sent_and_sends_nothing(
    hookline: Running, receiver: Receiver
) -> None:
    tenant = await api.tenant(hookline.client)
    await model_type(hookline, [MODEL_READY])
    hook = await api.webhook(hookline.client, tenant["id"], receiver.url("/models"), format="data")

    preview = await hookline.api.webhooks.preview(hook["id"], "model.ready")  # the example
    assert preview.body == js_stringify(preview.body.encode()).decode()
    assert orjson.loads(preview.body) == MODEL_READY
    assert preview.headers["content-type"] == "application/json"
    assert preview.headers["x-webhook-event"] == "model.ready"
    assert preview.headers["webhook-signature"].startswith("v1,")
    other = await hookline.api.webhooks.preview(hook["id"], "model.ready", data={"a": 1.5})
    assert other.body == '{"a":1.5}'

    await api.send(hookline.client, "model.ready", MODEL_READY, tenant["id"])
    [request] = await receiver.wait_for(1, "/models")
    assert request.body == preview.body.encode()  # the same bytes a delivery carries
    assert len(receiver.requests) == 1  # the previews sent nothing
    events = api.ok(await hookline.client.get("/api/v1/events"))["data"]
    assert len(events) == 1  # and stored nothing

    stranger = await api.tenant(hookline.client, "Other", uid="other")
    keys = f"/api/v1/tenants/{stranger['id']}/keys"
    key = api.ok(await hookline.client.post(keys), 201)["key"]
    response = await hookline.client.post(
        f"/api/v1/webhooks/{hook['id']}/preview",
        json={"event_type": "model.ready"},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert response.status_code == 404  # another tenant's webhook does not exist for it


async def test_a_preview_without_data_needs_an_example(hookline: Running) -> None:
    tenant = await api.tenant(hookline.client)
    await api.event_type(hookline.client, "order.filled")
    hook = await api.webhook(hookline.client, tenant["id"], "https://example.com/hook")
    url = f"/api/v1/webhooks/{hook['id']}/preview"

    response = await hookline.client.post(url, json={"event_type": "order.filled"})
    assert response.status_code == 422
    assert "has no example to preview; send `data`" in response.json()["detail"]
    response = await hookline.client.post(url, json={"event_type": "no.such"})
    assert response.status_code in (404, 422)
    shown = api.ok(
        await hookline.client.post(url, json={"event_type": "order.filled", "data": {"n": 1}})
    )
    assert orjson.loads(shown["body"])["data"] == {"n": 1}
    assert (
        await hookline.client.post(
            "/api/v1/webhooks/wh_nope/preview", json={"event_type": "order.filled", "data": {}}
        )
    ).status_code == 404


async def test_a_429_with_the_wait_in_its_body_is_honoured(
    hookline: Running, receiver: Receiver
) -> None:
    receiver.script(
        "/discord",
        Reply(429, '{"message": "You are being rate limited.", "retry_after": 30.0}'),
        Reply(204, ""),
    )
    tenant = await api.tenant(hookline.client)
    await api.event_type(hookline.client, "market.cascade")
    await api.webhook(hookline.client, tenant["id"], receiver.url("/discord"), format="discord")
    sent = await api.send(hookline.client, "market.cascade", CASCADE, tenant["id"])

    await receiver.wait_for(1, "/discord")
    delivery = await attempted(hookline, sent["id"], 1)
    assert (delivery["status"], delivery["last_status_code"]) == ("pending", 429)
    [attempt] = await api.attempts(hookline.client, delivery["id"])
    wait = at(delivery["next_attempt_at"]) - at(attempt["created_at"])
    assert 29.9 <= wait <= 30.1, wait  # the schedule alone (0.2 s) would retry far sooner
    hookline.advance(31)
    await receiver.wait_for(2, "/discord")
    [delivery] = await api.settled(hookline.client, sent["id"])
    assert (delivery["status"], delivery["attempt_count"]) == ("succeeded", 2)


def at(timestamp: str) -> float:
    return datetime.fromisoformat(timestamp).timestamp()


async def attempted(hl: Running, event_id: str, count: int) -> dict[str, Any]:
    """The event's one delivery once `count` attempts are recorded."""
    deadline = time.monotonic() + 10
    while True:
        [delivery] = await api.deliveries(hl.client, event_id)
        if delivery["attempt_count"] >= count:
            return delivery
        assert time.monotonic() < deadline, delivery
        await asyncio.sleep(0.05)
