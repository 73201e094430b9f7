"""The HTTP API: paths, fields, errors as problem+json, nothing half-written."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from hookline import __version__ as hookline_version
from tests.support import api
from tests.support.harness import Running
from tests.support.receiver import Receiver

PROBLEM = "application/problem+json"


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["detail"]
    return body


async def test_health_needs_no_key(hookline: Running) -> None:
    async with httpx.AsyncClient(base_url=hookline.base_url) as anonymous:
        body = api.ok(await anonymous.get("/health"))
    assert body == {
        "status": "ok",
        "version": hookline_version,
        "database": hookline.node.db.dialect,
    }
    assert body["database"] in ("sqlite", "postgresql")


async def test_every_route_needs_a_key(hookline: Running) -> None:
    async with httpx.AsyncClient(base_url=hookline.base_url) as anonymous:
        missing = await anonymous.get("/api/v1/webhooks")
        wrong = await anonymous.get("/api/v1/webhooks", headers={"Authorization": "Bearer hl_nope"})
    assert "Authorization: Bearer" in problem(missing, 401)["detail"]
    assert missing.headers["www-authenticate"].startswith("Bearer")
    assert "invalid API key" in problem(wrong, 401)["detail"]


async def test_tenants_lifecycle(hookline: Running) -> None:
    client = hookline.client
    created = await api.tenant(client, "Acme Trading", uid="acme", max_webhooks=5)
    assert created["id"].startswith("ten_")
    assert (created["uid"], created["name"], created["max_webhooks"]) == ("acme", "Acme Trading", 5)
    assert api.ok(await client.get(f"/api/v1/tenants/{created['id']}")) == created
    assert api.ok(await client.get("/api/v1/tenants/acme"))["id"] == created["id"]  # by uid

    patched = api.ok(await client.patch("/api/v1/tenants/acme", json={"max_webhooks": 50}))
    assert (patched["max_webhooks"], patched["name"]) == (50, "Acme Trading")

    duplicate = await client.post("/api/v1/tenants", json={"name": "Other", "uid": "acme"})
    assert "uid 'acme' already exists" in problem(duplicate, 409)["detail"]

    assert (await client.delete("/api/v1/tenants/acme")).status_code == 204
    problem(await client.get(f"/api/v1/tenants/{created['id']}"), 404)
    problem(await client.delete(f"/api/v1/tenants/{created['id']}"), 404)


async def test_lists_are_cursor_paginated_newest_first(hookline: Running) -> None:
    made = [(await api.tenant(hookline.client, f"t{i}"))["id"] for i in range(7)]
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        page = api.ok(await hookline.client.get("/api/v1/tenants", params=params))
        assert len(page["data"]) <= 3
        seen += [t["id"] for t in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(made))


async def test_event_types_catalog(hookline: Running) -> None:
    client = hookline.client
    created = api.ok(
        await client.post(
            "/api/v1/event-types",
            json={"name": "price.above", "description": "Price crossed above a target"},
        ),
        201,
    )
    assert created["name"] == "price.above"
    assert created["archived"] is False
    await api.event_type(client, "LIQUIDATION_CASCADE")
    names = [t["name"] for t in api.ok(await client.get("/api/v1/event-types"))["data"]]
    assert names == ["LIQUIDATION_CASCADE", "price.above"]
    assert api.ok(await client.get("/api/v1/event-types/price.above"))["description"]
    problem(await client.post("/api/v1/event-types", json={"name": "price.above"}), 409)
    bad = await client.post("/api/v1/event-types", json={"name": "has space"})
    assert problem(bad, 422)["errors"][0]["loc"] == ["body", "name"]
    problem(await client.get("/api/v1/event-types/nope"), 404)


async def test_webhooks_lifecycle(hookline: Running, receiver: Receiver) -> None:
    client = hookline.client
    tenant = await api.tenant(client, uid="acme")
    await api.event_type(client, "order.filled")
    await api.event_type(client, "order.canceled")

    created = await api.webhook(
        client,
        "acme",
        receiver.url("/hooks"),
        name="My Discord Bot",
        description="fills",
        event_types=["order.filled"],
        headers={"X-Api-Key": "abc"},
    )
    assert created["id"].startswith("wh_")
    assert created["tenant_id"] == tenant["id"]
    assert created["secret"].startswith("whsec_")
    fields = {
        "id", "tenant_id", "name", "url", "description", "event_types", "filter", "is_active",
        "disabled_reason", "headers", "format", "rate_limit_per_minute", "max_in_flight",
        "circuit_state", "circuit_retry_at", "created_at",
        "updated_at", "last_triggered_at", "success_count", "failure_count",
        "consecutive_failures", "template", "format_options", "signature", "retry_schedule",
        "batch", "ordering", "fifo_on_failure",
        "timeout", "managed_by",
    }  # fmt: skip
    fetched = api.ok(await client.get(f"/api/v1/webhooks/{created['id']}"))
    assert set(fetched) == fields  # the secret is shown at creation only
    assert api.ok(await client.get("/api/v1/webhooks"))["data"] == [fetched]

    patched = api.ok(
        await client.patch(
            f"/api/v1/webhooks/{created['id']}",
            json={"event_types": ["order.filled", "order.canceled"], "name": "Renamed"},
        )
    )
    assert patched["event_types"] == ["order.canceled", "order.filled"]
    assert (patched["name"], patched["url"], patched["description"]) == (
        "Renamed",
        created["url"],
        "fills",
    )
    cleared = await client.patch(f"/api/v1/webhooks/{created['id']}", json={"url": None})
    assert "url cannot be null" in problem(cleared, 422)["detail"]

    assert (await client.delete(f"/api/v1/webhooks/{created['id']}")).status_code == 204
    problem(await client.get(f"/api/v1/webhooks/{created['id']}"), 404)


async def test_a_webhook_may_bring_its_own_secret(hookline: Running, receiver: Receiver) -> None:
    tenant = await api.tenant(hookline.client)
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    created = await api.webhook(hookline.client, tenant["id"], receiver.url("/"), secret=secret)
    assert created["secret"] == secret
    bad = await hookline.client.post(
        "/api/v1/webhooks",
        json={"tenant_id": tenant["id"], "url": receiver.url("/"), "secret": "whsec_short"},
    )
    assert "secret:" in problem(bad, 422)["detail"]


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        ({"url": "ftp://example.com"}, 422, "must start with https://"),
        ({"url": "https://u:p@example.com/"}, 422, "credentials"),
        (
            {"url": "https://example.com", "event_types": ["nope.nope"]},
            422,
            "known event types: order.filled",
        ),
        ({"url": "https://example.com", "surprise": 1}, 422, "surprise: unknown field"),
        ({"url": "https://example.com", "event_types": "order.filled"}, 422, "event_types"),
        (
            {"url": "https://example.com", "headers": {"webhook-signature": "x"}},
            422,
            "cannot be overridden",
        ),
        (
            {"url": "https://example.com", "headers": {"bad header": "x"}},
            422,
            "not a valid HTTP header name",
        ),
        (
            {"url": "https://example.com", "tenant_id": "ten_missing"},
            404,
            "tenant 'ten_missing' does not exist",
        ),
        ({}, 422, "url: required"),
    ],
)
async def test_bad_webhooks_are_refused_and_nothing_is_written(
    hookline: Running,
    body: dict[str, Any],
    status: int,
    says: str,
) -> None:
    tenant = await api.tenant(hookline.client)
    await api.event_type(hookline.client, "order.filled")
    response = await hookline.client.post(
        "/api/v1/webhooks", json={"tenant_id": tenant["id"], **body}
    )
    assert says in problem(response, status)["detail"]
    assert api.ok(await hookline.client.get("/api/v1/webhooks"))["data"] == []


async def test_a_tenant_may_not_exceed_its_webhook_quota(
    hookline: Running, receiver: Receiver
) -> None:
    tenant = await api.tenant(hookline.client, max_webhooks=1)
    await api.webhook(hookline.client, tenant["id"], receiver.url("/1"))
    second = await hookline.client.post(
        "/api/v1/webhooks", json={"tenant_id": tenant["id"], "url": receiver.url("/2")}
    )
    assert "may have at most 1" in problem(second, 403)["detail"]


async def test_malformed_json_and_wrong_types_are_explained(hookline: Running) -> None:
    client = hookline.client
    malformed = await client.post(
        "/api/v1/tenants", content=b'{"name": ', headers={"content-type": "application/json"}
    )
    assert "not valid JSON" in problem(malformed, 400)["detail"]
    wrong_type = await client.post("/api/v1/tenants", json={"name": "x", "max_webhooks": "lots"})
    assert problem(wrong_type, 422)["errors"][0]["loc"] == ["body", "max_webhooks"]
    empty = await client.post("/api/v1/tenants", json={"name": "  "})
    assert problem(empty, 422)["errors"][0]["loc"] == ["body", "name"]
    assert api.ok(await client.get("/api/v1/tenants"))["data"] == []


async def test_unknown_ids_and_paths_are_404_problems(hookline: Running) -> None:
    client = hookline.client
    for path in (
        "/api/v1/tenants/ten_nope",
        "/api/v1/webhooks/wh_nope",
        "/api/v1/events/evt_nope",
        "/api/v1/events/evt_nope/deliveries",
        "/api/v1/deliveries/dlv_nope",
        "/api/v1/deliveries/dlv_nope/attempts",
        "/api/v1/webhooks/wh_nope/deliveries",
    ):
        assert "does not exist" in problem(await client.get(path), 404)["detail"], path
    problem(await client.post("/api/v1/deliveries/dlv_nope/retry"), 404)
    assert "no such endpoint" in problem(await client.get("/api/v1/nothing"), 404)["detail"]
    problem(await client.put("/api/v1/tenants"), 405)


async def test_sending_an_unknown_type_lists_the_known_ones(hookline: Running) -> None:
    await api.event_type(hookline.client, "price.above")
    await api.event_type(hookline.client, "price.below")
    response = await hookline.client.post("/api/v1/events", json={"type": "price.abov", "data": {}})
    body = problem(response, 422)
    assert "known event types: price.above, price.below" in body["detail"]
    assert api.ok(await hookline.client.get("/api/v1/events"))["data"] == []


async def test_sending_to_an_unknown_tenant_is_refused(hookline: Running) -> None:
    await api.event_type(hookline.client)
    response = await hookline.client.post(
        "/api/v1/events", json={"type": "order.filled", "data": {}, "tenant_id": "ten_nope"}
    )
    assert "tenant 'ten_nope' does not exist" in problem(response, 404)["detail"]
    assert api.ok(await hookline.client.get("/api/v1/events"))["data"] == []


async def test_events_can_be_read_back(hookline: Running, receiver: Receiver) -> None:
    tenant = await api.tenant(hookline.client, uid="acme")
    await api.event_type(hookline.client)
    await api.webhook(hookline.client, tenant["id"], receiver.url("/"))
    sent = await api.send(hookline.client, "order.filled", {"price": 1.5}, "acme")
    assert sent["tenant_id"] == tenant["id"]
    fetched = api.ok(await hookline.client.get(f"/api/v1/events/{sent['id']}"))
    assert fetched == {k: sent[k] for k in ("id", "type", "tenant_id", "data", "created_at")}
    listed = api.ok(await hookline.client.get("/api/v1/events", params={"tenant_id": "acme"}))
    assert [e["id"] for e in listed["data"]] == [sent["id"]]
    [delivery] = await api.settled(hookline.client, sent["id"])
    assert api.ok(await hookline.client.get(f"/api/v1/deliveries/{delivery['id']}")) == delivery


async def test_idempotency_key_replays_the_first_event(
    hookline: Running, receiver: Receiver
) -> None:
    tenant = await api.tenant(hookline.client)
    await api.event_type(hookline.client)
    await api.webhook(hookline.client, tenant["id"], receiver.url("/"))
    body = {"type": "order.filled", "data": {"id": 7}, "tenant_id": tenant["id"]}
    headers = {"Idempotency-Key": "order-7-filled"}

    first = await hookline.client.post("/api/v1/events", json=body, headers=headers)
    again = await hookline.client.post("/api/v1/events", json=body, headers=headers)
    assert (first.status_code, again.status_code) == (202, 202)
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["duplicate"] is True
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers

    changed = await hookline.client.post(
        "/api/v1/events", json={**body, "data": {"id": 8}}, headers=headers
    )
    assert "different request" in problem(changed, 409)["detail"]
    in_body = await hookline.client.post(
        "/api/v1/events", json={**body, "idempotency_key": "order-7-filled"}
    )
    assert in_body.json()["id"] == first.json()["id"]

    await api.settled(hookline.client, first.json()["id"])
    assert len(receiver.requests) == 1
    assert len(api.ok(await hookline.client.get("/api/v1/events"))["data"]) == 1


async def test_a_tenant_key_sees_only_its_own_tenant(hookline: Running, receiver: Receiver) -> None:
    client = hookline.client
    acme, globex = await api.tenant(client, "Acme"), await api.tenant(client, "Globex")
    await api.event_type(client)
    acme_hook = await api.webhook(client, acme["id"], receiver.url("/acme"))
    globex_hook = await api.webhook(client, globex["id"], receiver.url("/globex"))
    globex_event = await api.send(client, "order.filled", {}, globex["id"])
    [globex_delivery] = await api.settled(client, globex_event["id"])

    key = api.ok(await client.post(f"/api/v1/tenants/{acme['id']}/keys", json={"name": "ci"}), 201)
    assert key["key"].startswith("hl_")
    headers = {"Authorization": f"Bearer {key['key']}"}
    async with httpx.AsyncClient(base_url=hookline.base_url, headers=headers) as tenant_client:
        listed = api.ok(await tenant_client.get("/api/v1/webhooks"))["data"]
        assert [w["id"] for w in listed] == [acme_hook["id"]]
        for path in (
            f"/api/v1/webhooks/{globex_hook['id']}",
            f"/api/v1/tenants/{globex['id']}",
            f"/api/v1/events/{globex_event['id']}",
            f"/api/v1/events/{globex_event['id']}/deliveries",
            f"/api/v1/deliveries/{globex_delivery['id']}",
            f"/api/v1/deliveries/{globex_delivery['id']}/attempts",
            f"/api/v1/webhooks/{globex_hook['id']}/deliveries",
        ):
            problem(await tenant_client.get(path), 404)
        problem(
            await tenant_client.get("/api/v1/webhooks", params={"tenant_id": globex["id"]}), 404
        )
        problem(await tenant_client.delete(f"/api/v1/webhooks/{globex_hook['id']}"), 404)
        problem(
            await tenant_client.patch(f"/api/v1/webhooks/{globex_hook['id']}", json={"name": "x"}),
            404,
        )
        problem(await tenant_client.post(f"/api/v1/deliveries/{globex_delivery['id']}/retry"), 404)
        problem(await tenant_client.post("/api/v1/tenants", json={"name": "x"}), 403)
        problem(await tenant_client.post("/api/v1/event-types", json={"name": "x"}), 403)
        send = await tenant_client.post("/api/v1/events", json={"type": "order.filled", "data": {}})
        assert "HOOKLINE_TENANT_KEYS_CAN_SEND" in problem(send, 403)["detail"]

        own = api.ok(
            await tenant_client.post("/api/v1/webhooks", json={"url": receiver.url("/own")}), 201
        )
        assert own["tenant_id"] == acme["id"]
        stolen = await tenant_client.post(
            "/api/v1/webhooks", json={"url": receiver.url("/x"), "tenant_id": globex["id"]}
        )
        problem(stolen, 403)

    # Revoked keys stop working.
    assert (
        await client.delete(f"/api/v1/tenants/{acme['id']}/keys/{key['id']}")
    ).status_code == 204
    async with httpx.AsyncClient(base_url=hookline.base_url, headers=headers) as revoked:
        problem(await revoked.get("/api/v1/webhooks"), 401)
