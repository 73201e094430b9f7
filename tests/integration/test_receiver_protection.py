"""Circuit breaker, in-flight caps, auto-disable with operational events, and retention
(seeds 002 and 003)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import standardwebhooks
from aiohttp import web

from hookline import HooklineAPIError
from hookline.signing import generate_secret
from tests.support.databases import query
from tests.support.flow import settled, webhook_for
from tests.support.harness import Running, make_settings, running
from tests.support.receiver import Custom, Receiver, Reply

OPERATOR_SECRET = generate_secret()


async def operator_events(app: Running, kind: str | None = None) -> list[Any]:
    page = await app.api.events.list(tenant_id="hookline:operator", type=kind)
    return page.data


async def wait_until(check: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        await asyncio.sleep(0.05)


RECOVERY = 60.0


@pytest.fixture
async def breaking(database_url: str, receiver: Receiver) -> AsyncIterator[Running]:
    """A circuit that opens after 3 failures and probes a minute later (tests move the clock);
    retries every 0.1 s."""
    settings = make_settings(
        database_url,
        retry_schedule=(0.1,) * 12,
        circuit_breaker_failure_threshold=3,
        circuit_breaker_recovery_time=RECOVERY,
        operator_webhook_url=receiver.url("/operator"),
        operator_webhook_secret=OPERATOR_SECRET,
    )
    async with running(settings) as app:
        yield app


async def held_until(app: Running, event_id: str) -> float:
    """When the event's (one) delivery may next be attempted, once it waits for the circuit."""
    [delivery] = (await app.api.events.deliveries(event_id)).data
    assert delivery.status == "pending"
    assert delivery.next_attempt_at is not None
    return delivery.next_attempt_at.timestamp()


async def test_an_open_circuit_holds_deliveries_without_using_attempts(
    breaking: Running, receiver: Receiver
) -> None:
    receiver.script("/flaky", Reply(500))
    tenant, hook = await webhook_for(breaking.api, receiver, "/flaky")
    sent = await breaking.api.events.send("order.filled", {"n": 1}, tenant_id=tenant.id)
    await receiver.wait_for(3, "/flaky")

    async def opened() -> bool:
        state = await breaking.api.webhooks.get(hook.id)
        return state.circuit_state == "open"

    await wait_until(opened)
    state = await breaking.api.webhooks.get(hook.id)
    assert state.circuit_retry_at is not None
    probe_at = state.circuit_retry_at.timestamp()
    assert probe_at >= breaking.clock() + RECOVERY - 5
    [delivery] = (await breaking.api.events.deliveries(sent.id)).data
    assert (delivery.status, delivery.attempt_count) == ("pending", 3)
    assert await held_until(breaking, sent.id) >= probe_at  # no attempt until the probe
    stats = await breaking.api.webhooks.stats(hook.id)
    assert stats.circuit_state == "open"

    # More events while it is open wait too.
    later = [
        await breaking.api.events.send("order.filled", {"n": n}, tenant_id=tenant.id)
        for n in (2, 3)
    ]
    for event in later:
        await wait_until(lambda event=event: _held(breaking, event.id, probe_at))
    assert len(receiver.at("/flaky")) == 3

    # The receiver heals: after the recovery time one probe goes, succeeds, and the rest follow
    # as soon as it does, not a lease later (the lease is 9 s here).
    receiver.script("/flaky", Reply(200))
    breaking.advance(RECOVERY)
    for event in [sent, *later]:
        [done] = await settled(breaking.api, event.id, timeout=5)
        assert done.status == "succeeded"
    assert (await breaking.api.webhooks.get(hook.id)).circuit_state == "closed"
    assert (await settled(breaking.api, sent.id))[0].attempt_count == 4
    [recovered] = await operator_events(breaking, "webhook.recovered")
    assert recovered.data == {"webhook_id": hook.id, "tenant_id": tenant.id, "url": hook.url}


async def _held(app: Running, event_id: str, until: float) -> bool:
    deliveries = (await app.api.events.deliveries(event_id)).data
    return bool(deliveries) and all(
        d.next_attempt_at is not None and d.next_attempt_at.timestamp() >= until for d in deliveries
    )


async def test_a_failed_probe_opens_the_circuit_again(
    breaking: Running, receiver: Receiver
) -> None:
    receiver.script("/down", Reply(500))
    tenant, hook = await webhook_for(breaking.api, receiver, "/down")
    sent = [
        await breaking.api.events.send("order.filled", {"n": n}, tenant_id=tenant.id)
        for n in range(3)
    ]
    await receiver.wait_for(3, "/down")
    for event in sent:  # the circuit opened: everything waits for the probe's time
        await wait_until(
            lambda event=event: _held(breaking, event.id, breaking.clock() + RECOVERY - 5)
        )
    # (A retry may have gone before the third failure opened it, on a busy machine.)
    tried = len(receiver.at("/down"))
    breaking.advance(RECOVERY)
    await receiver.wait_for(tried + 1, "/down")  # the probe

    async def reopened() -> bool:
        state = await breaking.api.webhooks.get(hook.id)
        retry_at = state.circuit_retry_at
        return (
            state.circuit_state == "open"
            and retry_at is not None
            and retry_at.timestamp() > breaking.clock() + RECOVERY - 5
        )

    await wait_until(reopened)
    for event in sent:  # the others waited for the probe's verdict, and wait again
        await wait_until(lambda event=event: _held(breaking, event.id, breaking.clock() + 30))
    assert len(receiver.at("/down")) == tried + 1  # only the probe went
    assert await operator_events(breaking, "webhook.recovered") == []


async def test_a_flapping_circuit_tells_the_operator_once_an_hour(
    breaking: Running, receiver: Receiver
) -> None:
    tenant, hook = await webhook_for(breaking.api, receiver, "/flapping")
    for flap in range(3):
        receiver.script("/flapping", Reply(500))
        sent = await breaking.api.events.send("order.filled", {"n": flap}, tenant_id=tenant.id)
        await receiver.wait_for(4 * flap + 3, "/flapping")  # three failures: open again

        async def opened() -> bool:
            return (await breaking.api.webhooks.get(hook.id)).circuit_state == "open"

        await wait_until(opened)
        receiver.script("/flapping", Reply(200))
        breaking.advance(RECOVERY)
        [done] = await settled(breaking.api, sent.id)  # the probe closes it: recovered
        assert done.status == "succeeded"
    assert len(await operator_events(breaking, "webhook.recovered")) == 1
    breaking.advance(3600)  # an hour on, the next recovery is news again
    receiver.script("/flapping", Reply(500))
    sent = await breaking.api.events.send("order.filled", {"n": 9}, tenant_id=tenant.id)
    await receiver.wait_for(4 * 3 + 3, "/flapping")
    receiver.script("/flapping", Reply(200))
    await wait_until(lambda: _held(breaking, sent.id, breaking.clock() + 30))
    breaking.advance(RECOVERY)
    await settled(breaking.api, sent.id)
    assert len(await operator_events(breaking, "webhook.recovered")) == 2


async def test_half_the_webhooks_timing_out_does_not_delay_the_others(
    database_url: str, receiver: Receiver
) -> None:
    settings = make_settings(
        database_url,
        request_timeout=3.0,
        worker_concurrency=10,
        max_in_flight_per_webhook=1,
        retry_schedule=(30.0,),
    )
    async with running(settings) as app:
        tenant = await app.api.tenants.create("Acme")
        await app.api.event_types.create("tick")
        for n in range(5):
            receiver.script(f"/slow{n}", Reply(200, delay=10))
            await app.api.webhooks.create(url=receiver.url(f"/slow{n}"), tenant_id=tenant.id)
            await app.api.webhooks.create(url=receiver.url(f"/fast{n}"), tenant_id=tenant.id)
        started = time.monotonic()
        for n in range(20):
            await app.api.events.send("tick", {"n": n}, tenant_id=tenant.id)
        fast = [f"/fast{n}" for n in range(5)]
        while sum(len(receiver.at(p)) for p in fast) < 100:
            # Held up behind the slow ones, the fast would need 20 timeouts (60 s) or more;
            # isolated, they take a second or two (more on a loaded machine: hence the margin).
            assert time.monotonic() - started < 40, "the fast webhooks were held up"
            await asyncio.sleep(0.05)
        # Each slow webhook has had at most one request at a time, all of them timing out.
        assert all(receiver.peak[f"/slow{n}"] <= 1 for n in range(5))


async def test_a_webhook_never_has_more_requests_in_flight_than_its_cap(
    database_url: str, receiver: Receiver
) -> None:
    # A timeout far beyond the hold, so a held request is never cut off and retried.
    settings = make_settings(database_url, worker_concurrency=50, request_timeout=30.0)
    release = asyncio.Event()

    async def answer_when_released(request: web.Request) -> web.StreamResponse:
        await release.wait()
        return web.Response(text="ok")

    async with running(settings) as app:
        receiver.script("/capped", Custom(answer_when_released))
        tenant, _ = await webhook_for(app.api, receiver, "/capped", max_in_flight=3)
        sent = [
            await app.api.events.send("order.filled", {"n": n}, tenant_id=tenant.id)
            for n in range(24)
        ]
        # All 24 are due and the worker could run 50 at once: the receiver holds what it gets.
        deadline = time.monotonic() + 10
        while receiver.open["/capped"] < 3 and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.3)  # room for a fourth, were the cap not kept
        assert receiver.open["/capped"] == 3
        release.set()
        for event in sent:
            [delivery] = await settled(app.api, event.id)
            assert (delivery.status, delivery.attempt_count) == ("succeeded", 1)
    assert receiver.peak["/capped"] == 3  # the cap was reached, and never passed


async def test_a_webhook_failing_for_long_enough_is_disabled_and_the_operator_told(
    database_url: str, receiver: Receiver
) -> None:
    settings = make_settings(
        database_url,
        retry_schedule=(0.15,) * 20,
        circuit_breaker_failure_threshold=100,
        disable_after_failures=4,
        disable_after_seconds=0.4,
        operator_webhook_url=receiver.url("/operator"),
        operator_webhook_secret=OPERATOR_SECRET,
    )
    async with running(settings) as app:
        receiver.script("/down", Reply(503))
        tenant, hook = await webhook_for(app.api, receiver, "/down")
        waiting = await app.api.events.send("order.filled", {"n": 1}, tenant_id=tenant.id)
        [delivery] = await settled(app.api, waiting.id, timeout=10)
        state = await app.api.webhooks.get(hook.id)
        assert state.is_active is False
        assert state.disabled_reason is not None
        assert state.disabled_reason.startswith(f"{state.consecutive_failures} consecutive failed")
        assert state.consecutive_failures >= 4
        assert delivery.status == "cancelled"  # what was waiting is cancelled, visibly

        [notice] = await operator_events(app, "webhook.disabled")
        assert notice.data["webhook_id"] == hook.id
        assert notice.data["reason"] == state.disabled_reason
        [request] = await receiver.wait_for(1, "/operator")
        payload = standardwebhooks.Webhook(OPERATOR_SECRET).verify(request.body, request.headers)
        assert (payload["type"], payload["data"]["tenant_id"]) == ("webhook.disabled", tenant.id)

        # Re-enabling and recovering brings the missed delivery back.
        receiver.script("/down", Reply(200))
        await app.api.webhooks.update(hook.id, is_active=True)
        since = datetime.now(UTC) - timedelta(minutes=1)
        assert (await app.api.webhooks.recover(hook.id, since=since)).requeued == 1
        [done] = await settled(app.api, waiting.id)
        assert done.status == "succeeded"


async def test_a_blip_never_disables(database_url: str, receiver: Receiver) -> None:
    settings = make_settings(
        database_url,
        retry_schedule=(0.05,) * 8,
        circuit_breaker_failure_threshold=100,
        disable_after_failures=3,
        disable_after_seconds=60,
    )
    async with running(settings) as app:
        receiver.script("/blip", Reply(500), Reply(500), Reply(500), Reply(500), Reply(200))
        tenant, hook = await webhook_for(app.api, receiver, "/blip")
        sent = await app.api.events.send("order.filled", {}, tenant_id=tenant.id)
        [delivery] = await settled(app.api, sent.id)
        assert delivery.status == "succeeded"
        assert (await app.api.webhooks.get(hook.id)).is_active is True


async def test_a_410_is_reported(breaking: Running, receiver: Receiver) -> None:
    receiver.script("/gone", Reply(410))
    tenant, gone = await webhook_for(breaking.api, receiver, "/gone")
    sent = await breaking.api.events.send("order.filled", {}, tenant_id=tenant.id)
    await settled(breaking.api, sent.id)
    [disabled] = await operator_events(breaking, "webhook.disabled")
    assert disabled.data["webhook_id"] == gone.id
    assert "410 Gone" in disabled.data["reason"]
    await wait_until(lambda: _arrived(receiver, "webhook.disabled"))


async def test_an_exhausted_delivery_is_reported(database_url: str, receiver: Receiver) -> None:
    settings = make_settings(
        database_url,
        retry_schedule=(0.05,),
        operator_webhook_url=receiver.url("/operator"),
        operator_webhook_secret=OPERATOR_SECRET,
    )
    async with running(settings) as app:
        receiver.script("/broken", Reply(500))
        _, hook = await webhook_for(app.api, receiver, "/broken")
        failing = await app.api.events.send("order.filled", {"x": 1}, tenant_id=hook.tenant_id)
        await settled(app.api, failing.id)
        [exhausted] = await operator_events(app, "delivery.exhausted")
        assert exhausted.data["webhook_id"] == hook.id
        assert exhausted.data["event_id"] == failing.id
        assert (exhausted.data["attempts"], exhausted.data["last_status_code"]) == (2, 500)
        assert exhausted.data["last_error"] == "HTTP 500"
        await wait_until(lambda: _arrived(receiver, "delivery.exhausted"))
        [request] = [
            r
            for r in receiver.at("/operator")
            if r.headers["x-webhook-event"] == "delivery.exhausted"
        ]
        standardwebhooks.Webhook(OPERATOR_SECRET).verify(request.body, request.headers)


async def _arrived(receiver: Receiver, kind: str) -> bool:
    return any(r.headers.get("x-webhook-event") == kind for r in receiver.at("/operator"))


async def test_a_failing_operator_endpoint_raises_no_notices_about_itself(
    database_url: str, receiver: Receiver
) -> None:
    settings = make_settings(
        database_url,
        retry_schedule=(0.05, 0.05),
        circuit_breaker_failure_threshold=2,
        disable_after_failures=2,
        disable_after_seconds=0,
        operator_webhook_url=receiver.url("/operator"),
        operator_webhook_secret=OPERATOR_SECRET,
    )
    async with running(settings) as app:
        receiver.script("/operator", Reply(500))
        receiver.script("/gone", Reply(410))
        tenant, _ = await webhook_for(app.api, receiver, "/gone")
        await app.api.events.send("order.filled", {}, tenant_id=tenant.id)
        await receiver.wait_for(2, "/operator", timeout=10)  # the notice fails; the circuit opens

        async def notice_given_up() -> bool:
            [notice] = await operator_events(app)
            [delivery] = (await app.api.events.deliveries(notice.id)).data
            return delivery.status != "pending"

        # A notice about the operator's own failures would be written in the same transaction
        # as the failure that exhausts this one: once it has failed, any loop would show.
        operator = await app.api.tenants.get("hookline:operator")
        [channel] = (await app.api.webhooks.list(tenant_id=operator.id)).data

        async def circuit_open() -> bool:
            return (await app.api.webhooks.get(channel.id)).circuit_state == "open"

        await wait_until(circuit_open)
        app.advance(3600)  # past the circuit's recovery: the probe goes, fails, gives up
        await wait_until(notice_given_up)
        notices = await operator_events(app)
        assert [n.type for n in notices] == ["webhook.disabled"]
        channel = await app.api.webhooks.get(channel.id)
        assert channel.is_active is True  # never auto-disabled: the operator must keep hearing


async def test_the_operator_tenant_is_reserved_and_kept_out_of_the_way(breaking: Running) -> None:
    tenants = (await breaking.api.tenants.list()).data
    assert [t for t in tenants if t.uid == "hookline:operator"] == []
    operator = await breaking.api.tenants.get("hookline:operator")
    hooks = (await breaking.api.webhooks.list(tenant_id=operator.id)).data
    assert [h.name for h in hooks] == ["operator"]
    assert (await breaking.api.webhooks.list()).data == []
    with pytest.raises(HooklineAPIError, match="hookline's own"):
        await breaking.api.tenants.create("Sneaky", uid="hookline:operator2")


async def test_retention_purges_old_events_in_batches(
    database_url: str, receiver: Receiver
) -> None:
    settings = make_settings(database_url, retention_days=1, retention_interval=3600)
    async with running(settings) as app:
        tenant, _ = await webhook_for(app.api, receiver, "/hooks")
        old = [
            await app.api.events.send("order.filled", {"n": n}, tenant_id=tenant.id)
            for n in range(3)
        ]
        delivered = [(await settled(app.api, event.id))[0].id for event in old]
        receiver.script("/stuck", Reply(200, delay=10))
        slow_tenant, _ = await webhook_for(app.api, receiver, "/stuck")
        in_flight = await app.api.events.send("order.filled", {}, tenant_id=slow_tenant.id)
        await receiver.wait_for(1, "/stuck")
        app.clock.advance(86_400 + 1)  # all four are now older than the retention period
        fresh = await app.api.events.send("order.filled", {"n": 9}, tenant_id=tenant.id)

        retention = app.node.retention
        assert retention is not None
        assert await retention.purge(batch=2) == 3  # in batches of two
        remaining = {e.id for e in (await app.api.events.list()).data}
        assert remaining == {fresh.id, in_flight.id}  # a pending delivery keeps its event
        ids = ", ".join(f"'{d}'" for d in delivered)
        left = await query(database_url, f"SELECT count(*) FROM deliveries WHERE id IN ({ids})")
        tried = await query(
            database_url, f"SELECT count(*) FROM attempts WHERE delivery_id IN ({ids})"
        )
        assert (left, tried) == ([(0,)], [(0,)])  # deliveries and attempts went with them
