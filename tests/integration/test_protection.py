"""What protects the API: keys, per-key rate limits, body and payload limits, idempotency
windows, and tenant isolation on every route (seed 004's tenant-scoped keys)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from hookline import AsyncClient, Client, HooklineAPIError
from tests.support.flow import settled, webhook_for
from tests.support.harness import ADMIN_KEY, Running, make_settings, running
from tests.support.receiver import Receiver


@pytest.fixture
async def strict(database_url: str) -> AsyncIterator[Running]:
    """hookline with small limits: 2 requests/s per tenant key, 8 KiB bodies, 4 KiB events,
    and idempotency keys that last one second."""
    settings = make_settings(
        database_url,
        api_rate_limit=2,
        max_request_bytes=8192,
        max_payload_bytes=4096,
        idempotency_ttl=1,
    )
    async with running(settings) as app:
        yield app


async def test_a_tenant_key_over_its_rate_gets_429_with_retry_after(strict: Running) -> None:
    tenant = await strict.api.tenants.create("Acme")
    key = await strict.api.tenants.create_key(tenant.id)
    headers = {"Authorization": f"Bearer {key.key}"}
    async with httpx.AsyncClient(base_url=strict.base_url, headers=headers) as customer:
        answers = [await customer.get("/api/v1/webhooks") for _ in range(5)]
    codes = [a.status_code for a in answers]
    assert codes[:2] == [200, 200]  # a burst of one second's worth
    limited = [a for a in answers if a.status_code == 429]
    assert limited
    assert limited[0].headers["retry-after"] == "1"
    assert limited[0].headers["content-type"] == "application/problem+json"
    assert "rate limit" in limited[0].json()["detail"]
    # The admin key has no limit by default, and another key has its own budget.
    assert all([(await strict.client.get("/api/v1/tenants")).status_code == 200 for _ in range(5)])
    strict.advance(1.0)
    async with httpx.AsyncClient(base_url=strict.base_url, headers=headers) as customer:
        assert (await customer.get("/api/v1/webhooks")).status_code == 200


async def test_oversized_bodies_are_refused_with_413(strict: Running) -> None:
    big = {"name": "x", "uid": "y" * 10_000}
    declared = await strict.client.post("/api/v1/tenants", json=big)
    assert declared.status_code == 413
    assert declared.headers["content-type"] == "application/problem+json"
    assert "HOOKLINE_MAX_REQUEST_BYTES" in declared.json()["detail"]

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"name": "x", "uid": "'
        for _ in range(20):
            yield b"y" * 1000
        yield b'"}'

    streamed = await strict.client.post(
        "/api/v1/tenants", content=chunks(), headers={"content-type": "application/json"}
    )
    assert streamed.status_code == 413
    assert streamed.json()["status"] == 413
    assert (await strict.api.tenants.list()).data == []


async def test_an_event_over_the_payload_limit_is_refused_with_413(strict: Running) -> None:
    await strict.api.event_types.create("blob")
    with pytest.raises(HooklineAPIError) as refused:
        await strict.api.events.send("blob", {"text": "x" * 5000})
    assert refused.value.status == 413
    assert "HOOKLINE_MAX_PAYLOAD_BYTES" in refused.value.detail
    assert (await strict.api.events.list()).data == []


async def test_an_idempotency_key_is_free_again_after_its_window(strict: Running) -> None:
    await strict.api.event_types.create("order.filled")
    first = await strict.api.events.send("order.filled", {"n": 1}, idempotency_key="k1")
    replay = await strict.api.events.send("order.filled", {"n": 1}, idempotency_key="k1")
    assert (replay.id, replay.duplicate) == (first.id, True)
    strict.advance(1.1)
    fresh = await strict.api.events.send("order.filled", {"n": 1}, idempotency_key="k1")
    assert fresh.id != first.id
    assert fresh.duplicate is False
    again = await strict.api.events.send("order.filled", {"n": 1}, idempotency_key="k1")
    assert again.id == fresh.id


async def test_tenant_keys_may_send_for_their_own_tenant_when_allowed(
    database_url: str, receiver: Receiver
) -> None:
    async with running(make_settings(database_url, tenant_keys_can_send=True)) as app:
        tenant, _ = await webhook_for(app.api, receiver, "/hooks")
        other = await app.api.tenants.create("Other")
        key = await app.api.tenants.create_key(tenant.id)
        async with app.client_for(key.key) as customer:
            sent = await customer.events.send("order.filled", {"n": 1})
            assert (sent.tenant_id, sent.deliveries) == (tenant.id, 1)
            with pytest.raises(HooklineAPIError) as elsewhere:
                await customer.events.send("order.filled", {}, tenant_id=other.id)
            assert elsewhere.value.status == 404
        await settled(app.api, sent.id)


async def test_every_route_hides_other_tenants(hookline: Running, receiver: Receiver) -> None:
    api = hookline.api
    acme, _ = await webhook_for(api, receiver, "/acme")
    globex, theirs = await webhook_for(
        api, receiver, "/globex", tenant=await api.tenants.create("Globex")
    )
    event = await api.events.send("order.filled", {}, tenant_id=globex.id)
    [delivery] = await settled(api, event.id)
    their_key = await api.tenants.create_key(globex.id)
    key = await api.tenants.create_key(acme.id)
    since = datetime.now(UTC) - timedelta(hours=1)
    async with hookline.client_for(key.key) as customer:
        calls: list[Callable[[], Awaitable[Any]]] = [
            lambda: customer.tenants.get(globex.id),
            lambda: customer.tenants.get(globex.uid or globex.id),
            lambda: customer.tenants.list_keys(globex.id),
            lambda: customer.tenants.revoke_key(globex.id, their_key.id),
            lambda: customer.webhooks.get(theirs.id),
            lambda: customer.webhooks.update(theirs.id, name="mine"),
            lambda: customer.webhooks.delete(theirs.id),
            lambda: customer.webhooks.rotate_secret(theirs.id),
            lambda: customer.webhooks.test(theirs.id),
            lambda: customer.webhooks.deliveries(theirs.id),
            lambda: customer.webhooks.recover(theirs.id, since=since),
            lambda: customer.webhooks.stats(theirs.id),
            lambda: customer.webhooks.list(tenant_id=globex.id),
            lambda: customer.events.get(event.id),
            lambda: customer.events.deliveries(event.id),
            lambda: customer.events.list(tenant_id=globex.id),
            lambda: customer.deliveries.get(delivery.id),
            lambda: customer.deliveries.attempts(delivery.id),
            lambda: customer.deliveries.retry(delivery.id),
        ]
        for call in calls:
            with pytest.raises(HooklineAPIError) as hidden:
                await call()
            assert hidden.value.status == 404, hidden.value
        assert (await customer.events.list()).data == []
        for admin_only in (
            lambda: customer.tenants.create("Mine"),
            lambda: customer.tenants.list(),
            lambda: customer.tenants.update(acme.id, max_webhooks=1000),
            lambda: customer.tenants.delete(acme.id),
            lambda: customer.tenants.create_key(acme.id),
            lambda: customer.event_types.create("mine"),
            lambda: customer.event_types.archive("order.filled"),
        ):
            with pytest.raises(HooklineAPIError) as refused:
                await admin_only()
            assert refused.value.status == 403
    # Nothing of Globex's changed.
    assert (await api.webhooks.get(theirs.id)).name == ""
    assert [k.revoked_at for k in (await api.tenants.list_keys(globex.id)).data] == [None]
    assert len(receiver.at("/globex")) == 1


async def test_a_tenant_key_manages_its_own_webhooks_without_naming_the_tenant(
    hookline: Running, receiver: Receiver
) -> None:
    tenant = await hookline.api.tenants.create("Acme", uid="acme")
    await hookline.api.event_types.create("order.filled")
    key = await hookline.api.tenants.create_key("acme", name="dashboard")
    assert (key.name, key.tenant_id) == ("dashboard", tenant.id)
    async with hookline.client_for(key.key) as customer:
        hook = await customer.webhooks.create(
            url=receiver.url("/mine"), event_types=["order.filled"]
        )
        assert hook.tenant_id == tenant.id
        assert (await customer.webhooks.test(hook.id)).status == "success"
        assert [w.id for w in (await customer.webhooks.list()).data] == [hook.id]
        assert (await customer.tenants.get("acme")).id == tenant.id
        assert [k.id for k in (await customer.tenants.list_keys("acme")).data] == [key.id]
        await customer.webhooks.delete(hook.id)
    listed = (await hookline.api.tenants.list_keys(tenant.id)).data
    assert [(k.id, k.prefix) for k in listed] == [(key.id, key.key[:15])]
    assert "key" not in listed[0].model_dump()


async def test_several_keys_per_tenant_each_revocable(hookline: Running) -> None:
    tenant = await hookline.api.tenants.create("Acme")
    first = await hookline.api.tenants.create_key(tenant.id, name="ci")
    second = await hookline.api.tenants.create_key(tenant.id, name="dashboard")
    await hookline.api.tenants.revoke_key(tenant.id, first.id)
    async with hookline.client_for(first.key) as revoked, hookline.client_for(second.key) as live:
        with pytest.raises(HooklineAPIError) as refused:
            await revoked.webhooks.list()
        assert refused.value.status == 401
        assert (await live.webhooks.list()).data == []
    with pytest.raises(HooklineAPIError) as twice:
        await hookline.api.tenants.revoke_key(tenant.id, first.id)
    assert twice.value.status == 404


async def test_keys_are_stored_hashed(hookline: Running) -> None:
    from tests.support.databases import query

    tenant = await hookline.api.tenants.create("Acme")
    key = await hookline.api.tenants.create_key(tenant.id)
    rows = await query(hookline.node.settings.database_url, "SELECT prefix, digest FROM api_keys")
    stored = " ".join(str(value) for row in rows for value in row)
    assert key.key not in stored
    assert key.key[len("hl_") + 12 :] not in stored  # the secret part appears nowhere


async def test_the_openapi_document_has_examples_and_docs_are_served(hookline: Running) -> None:
    async with httpx.AsyncClient(base_url=hookline.base_url) as anonymous:
        spec = (await anonymous.get("/openapi.json")).json()
        docs = await anonymous.get("/docs")
    assert docs.status_code == 200
    schemas = spec["components"]["schemas"]
    assert schemas["WebhookCreate"]["examples"][0]["filter"]["data.amount_usd"] == {"$gte": 100000}
    assert schemas["EventSend"]["examples"][0]["type"] == "order.filled"
    paths = spec["paths"]
    for path in (
        "/api/v1/webhooks/{webhook_id}/rotate-secret",
        "/api/v1/webhooks/{webhook_id}/test",
        "/api/v1/webhooks/{webhook_id}/recover",
        "/api/v1/webhooks/{webhook_id}/stats",
        "/api/v1/tenants/{tenant_id}/keys",
    ):
        assert path in paths


async def test_the_blocking_client_works_too(hookline: Running, receiver: Receiver) -> None:
    def use() -> tuple[str, str]:
        with Client(hookline.base_url, ADMIN_KEY) as client:
            tenant = client.tenants.create("Blocking")
            client.event_types.create("sync.event")
            hook = client.webhooks.create(url=receiver.url("/sync"), tenant_id=tenant.id)
            sent = client.events.send("sync.event", {"ok": True}, tenant_id=tenant.id)
            assert client.health().status == "ok"
            return hook.id, sent.id

    hook_id, event_id = await asyncio.to_thread(use)
    [delivery] = await settled(hookline.api, event_id)
    assert (delivery.webhook_id, delivery.status) == (hook_id, "succeeded")


async def test_the_client_reads_its_key_from_the_environment(
    hookline: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOOKLINE_KEY", ADMIN_KEY)
    async with AsyncClient(hookline.base_url) as client:
        assert (await client.tenants.list()).data == []
    monkeypatch.delenv("HOOKLINE_KEY")
    async with AsyncClient(hookline.base_url) as client:
        with pytest.raises(HooklineAPIError) as refused:
            await client.tenants.list()
        assert refused.value.status == 401
