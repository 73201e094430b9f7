"""Fair shares of a worker's slots: a tenant with a big backlog for a receiver that hangs cannot
hold up another tenant's delivery, nor its own other webhooks' (issue 10, item 5)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from hookline.client import AsyncClient
from hookline.models import Tenant
from tests.support.flow import settled, webhook_for
from tests.support.harness import Running, make_settings, running
from tests.support.receiver import Custom, Receiver, Reply

CONCURRENCY = 8  # so the ceiling per webhook is 2, and one tenant's share 7 of the 8 slots
HUNG_WEBHOOKS = 5  # 5 x 2 = 10: more than the worker has, were there no tenant share


@pytest.fixture
async def app(database_url: str) -> AsyncIterator[Running]:
    settings = make_settings(
        database_url,
        worker_concurrency=CONCURRENCY,
        request_timeout=60,  # the hung requests hold their slots for the whole test
        claim_batch_size=50,
    )
    async with running(settings) as running_app:
        yield running_app


@pytest.fixture
def release(receiver: Receiver) -> asyncio.Event:
    """/hang holds every request until the test sets this."""
    event = asyncio.Event()

    async def hang(request: web.Request) -> web.StreamResponse:
        await event.wait()
        return web.Response(text="late")

    receiver.script("/hang", Custom(hang))
    return event


async def _flood(api: AsyncClient, tenant: Tenant, events: int) -> None:
    """A backlog: `events` events, each fanned out to every hung webhook."""
    await asyncio.gather(
        *(api.events.send("order.filled", {"n": n}, tenant_id=tenant.id) for n in range(events))
    )


async def _hung(api: AsyncClient, receiver: Receiver, tenant: Tenant | None = None) -> Tenant:
    for _ in range(HUNG_WEBHOOKS):
        tenant, _ = await webhook_for(
            api, receiver, "/hang", tenant=tenant, event_types=["order.filled"]
        )
    assert tenant is not None
    return tenant


async def test_a_backlog_on_a_hung_receiver_does_not_hold_up_another_tenant(
    app: Running, receiver: Receiver, release: asyncio.Event
) -> None:
    hog = await _hung(app.api, receiver)
    await _flood(app.api, hog, events=60)  # 300 deliveries, due before the other tenant's
    await receiver.wait_for(HUNG_WEBHOOKS, "/hang")
    healthy, _ = await webhook_for(app.api, receiver, "/fast")
    try:
        sent = await app.api.events.send("order.filled", {"symbol": "BTC"}, tenant_id=healthy.id)
        [delivery] = await settled(app.api, sent.id, timeout=10)
        assert delivery.status == "succeeded"
        assert not release.is_set()  # it went while every hung request still held its slot
        # The hog held at most its share: 2 per webhook, 7 of the 8 slots in all.
        assert receiver.open["/hang"] <= CONCURRENCY - CONCURRENCY // 8
    finally:
        release.set()


async def test_a_hung_webhook_does_not_hold_up_its_own_tenants_other_webhooks(
    app: Running, receiver: Receiver, release: asyncio.Event
) -> None:
    tenant = await _hung(app.api, receiver)
    _, fast = await webhook_for(app.api, receiver, "/fast", tenant=tenant, event_type="price")
    await _flood(app.api, tenant, events=60)
    await receiver.wait_for(HUNG_WEBHOOKS, "/hang")
    try:
        sent = await app.api.events.send("price", {"symbol": "BTC"}, tenant_id=tenant.id)
        [delivery] = await settled(app.api, sent.id, timeout=30)
        assert (delivery.webhook_id, delivery.status) == (fast.id, "succeeded")
        assert not release.is_set()
    finally:
        release.set()


async def test_no_webhook_may_ask_for_more_than_the_ceiling(app: Running) -> None:
    tenant = await app.api.tenants.create("Greedy")
    app_ceiling = app.node.settings.in_flight_ceiling
    assert app_ceiling == CONCURRENCY // 4
    response = await app.client.post(
        "/api/v1/webhooks",
        json={"tenant_id": tenant.id, "url": "https://example.com/", "max_in_flight": 3},
    )
    assert response.status_code == 422, response.text
    assert "HOOKLINE_MAX_IN_FLIGHT_CEILING" in response.json()["detail"]
    created = await app.api.webhooks.create(
        url="https://example.com/", tenant_id=tenant.id, max_in_flight=2
    )
    patched = await app.client.patch(f"/api/v1/webhooks/{created.id}", json={"max_in_flight": 50})
    assert patched.status_code == 422, patched.text


async def test_a_tenant_at_its_share_goes_on_as_soon_as_a_request_ends(
    database_url: str, receiver: Receiver
) -> None:
    """The claim passes over a full tenant's deliveries; when one of its requests ends, the
    worker claims again at once, not at the next poll (a minute here)."""
    settings = make_settings(database_url, worker_concurrency=CONCURRENCY, poll_interval=60)
    receiver.script("/busy", Reply(200, delay=0.05))
    async with running(settings) as app:
        tenant = None
        for _ in range(10):  # more webhooks than the tenant's share of slots (7)
            tenant, _ = await webhook_for(app.api, receiver, "/busy", tenant=tenant)
        assert tenant is not None
        sent = [
            await app.api.events.send("order.filled", {"n": n}, tenant_id=tenant.id)
            for n in range(5)
        ]
        for event in sent:
            deliveries = await settled(app.api, event.id, count=10, timeout=30)
            assert {d.status for d in deliveries} == {"succeeded"}
        assert receiver.peak["/busy"] <= CONCURRENCY - CONCURRENCY // 8
