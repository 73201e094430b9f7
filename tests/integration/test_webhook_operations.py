"""Secret rotation, test sends, delivery logs, recovery and health (seeds 003 and 004)."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta

import pytest
import standardwebhooks
import svix.webhooks

from hookline import HooklineAPIError
from hookline.signing import generate_secret
from tests.support.flow import settled, webhook_for
from tests.support.harness import Running
from tests.support.receiver import Receiver, Reply


def verifies(secret: str, body: bytes, headers: dict[str, str]) -> bool:
    try:
        standardwebhooks.Webhook(secret).verify(body, headers)
        svix.webhooks.Webhook(secret).verify(body, headers)
    except standardwebhooks.webhooks.WebhookVerificationError:
        return False
    return True


async def test_rotation_signs_with_both_secrets_during_the_grace_period(
    hookline: Running, receiver: Receiver
) -> None:
    tenant, hook = await webhook_for(hookline.api, receiver, "/hooks")
    rotated = await hookline.api.webhooks.rotate_secret(hook.id, grace_seconds=3600)
    assert rotated.secret != hook.secret
    assert rotated.secret.startswith("whsec_")

    sent = await hookline.api.events.send("order.filled", {"n": 1}, tenant_id=tenant.id)
    [request] = await receiver.wait_for(1, "/hooks")
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    assert verifies(rotated.secret, request.body, request.headers)  # receivers that switched
    assert verifies(hook.secret, request.body, request.headers)  # receivers that did not yet
    assert (await settled(hookline.api, sent.id))[0].status == "succeeded"


async def test_rotation_without_grace_and_after_it_signs_with_the_new_secret_only(
    hookline: Running, receiver: Receiver
) -> None:
    tenant, hook = await webhook_for(hookline.api, receiver, "/hooks")
    now_only = await hookline.api.webhooks.rotate_secret(hook.id, grace_seconds=0)
    await hookline.api.events.send("order.filled", {"n": 1}, tenant_id=tenant.id)
    [first] = await receiver.wait_for(1, "/hooks")
    assert len(first.headers["webhook-signature"].split(" ")) == 1
    assert verifies(now_only.secret, first.body, first.headers)
    assert not verifies(hook.secret, first.body, first.headers)

    brief = await hookline.api.webhooks.rotate_secret(hook.id, grace_seconds=1)
    hookline.advance(1.1)
    await hookline.api.events.send("order.filled", {"n": 2}, tenant_id=tenant.id)
    second = (await receiver.wait_for(2, "/hooks"))[1]
    assert verifies(brief.secret, second.body, second.headers)
    assert not verifies(now_only.secret, second.body, second.headers)


async def test_rotation_takes_a_secret_of_your_own_and_refuses_long_graces(
    hookline: Running, receiver: Receiver
) -> None:
    _, hook = await webhook_for(hookline.api, receiver, "/hooks")
    mine = generate_secret()
    assert (await hookline.api.webhooks.rotate_secret(hook.id, secret=mine)).secret == mine
    with pytest.raises(HooklineAPIError) as too_long:
        await hookline.api.webhooks.rotate_secret(hook.id, grace_seconds=8 * 86_400)
    assert too_long.value.status == 422
    assert "grace_seconds" in too_long.value.detail


async def test_a_test_send_reports_success_with_latency(
    hookline: Running, receiver: Receiver
) -> None:
    receiver.script("/hooks", Reply(200, "thanks", delay=0.05))
    _, hook = await webhook_for(hookline.api, receiver, "/hooks")
    result = await hookline.api.webhooks.test(hook.id)
    assert (result.status, result.status_code, result.response_body) == ("success", 200, "thanks")
    assert 50 <= result.latency_ms < 2000
    [request] = receiver.at("/hooks")
    payload = standardwebhooks.Webhook(hook.secret).verify(request.body, request.headers)
    assert payload["type"] == "webhook.test"
    assert payload["data"]["test"] is True

    # It is in the logs (trigger "test"), and does not count towards the webhook's health.
    [logged] = (await hookline.api.webhooks.deliveries(hook.id)).data
    assert logged.id == result.delivery_id
    assert [a.trigger for a in logged.attempts] == ["test"]
    stats = await hookline.api.webhooks.stats(hook.id)
    assert (stats.success_count, stats.last_24h.attempts) == (0, 0)


async def test_a_test_send_reports_failures_too(hookline: Running, receiver: Receiver) -> None:
    receiver.script("/broken", Reply(500, "kaput"))
    _, hook = await webhook_for(hookline.api, receiver, "/broken")
    failed = await hookline.api.webhooks.test(hook.id)
    assert (failed.status, failed.status_code, failed.response_body) == ("failure", 500, "kaput")
    assert failed.error == "HTTP 500"
    # A test goes once: it is finished at once and nothing can queue it again.
    logged = await hookline.api.deliveries.get(failed.delivery_id)
    assert (logged.status, logged.trigger, logged.next_attempt_at) == ("failed", "test", None)
    with pytest.raises(HooklineAPIError, match="test send, which goes once") as again:
        await hookline.api.deliveries.retry(failed.delivery_id)
    assert again.value.status == 409
    assert len(receiver.at("/broken")) == 1

    await hookline.api.webhooks.update(hook.id, url="http://127.0.0.1:9/closed")
    unreachable = await hookline.api.webhooks.test(hook.id)
    assert (unreachable.status, unreachable.status_code) == ("failure", None)
    assert "connection refused" in (unreachable.error or "")


async def test_a_test_send_can_carry_an_example_of_a_real_type(
    hookline: Running, receiver: Receiver
) -> None:
    _, hook = await webhook_for(hookline.api, receiver, "/hooks")
    await hookline.api.webhooks.test(hook.id, event_type="order.filled", data={"price": 1})
    [request] = receiver.at("/hooks")
    assert request.headers["x-webhook-event"] == "order.filled"
    with pytest.raises(HooklineAPIError, match="known event types"):
        await hookline.api.webhooks.test(hook.id, event_type="nope.nope")


async def test_a_test_send_of_a_type_without_data_carries_its_first_example(
    hookline: Running, receiver: Receiver
) -> None:
    _, hook = await webhook_for(hookline.api, receiver, "/hooks")
    first = {"symbol": "BTC/USDT", "severity": "CRITICAL", "data": {"velocity": 1500000}}
    created = await hookline.client.post(
        "/api/v1/event-types",
        json={"name": "LIQUIDATION_CASCADE", "group": "CASCADE", "examples": [first, {"n": 2}]},
    )
    assert created.status_code == 201, created.text
    result = await hookline.api.webhooks.test(hook.id, event_type="LIQUIDATION_CASCADE")
    assert result.status == "success"
    # A type without examples sends an empty object; `data` given always wins.
    await hookline.api.webhooks.test(hook.id, event_type="order.filled")
    await hookline.api.webhooks.test(hook.id, event_type="LIQUIDATION_CASCADE", data={})

    sent = [json.loads(r.body) for r in receiver.at("/hooks")]
    assert [(s["type"], s["data"]) for s in sent] == [
        ("LIQUIDATION_CASCADE", first),
        ("order.filled", {}),
        ("LIQUIDATION_CASCADE", {}),
    ]
    for request in receiver.at("/hooks"):
        svix.webhooks.Webhook(hook.secret).verify(request.body, request.headers)


async def test_a_test_send_never_becomes_an_event(hookline: Running, receiver: Receiver) -> None:
    """It is not listed, not found, not recovered into another webhook, and cannot be retried
    (the forging hole: a test of a real type used to be a real event to everything else)."""
    tenant, hook = await webhook_for(hookline.api, receiver, "/hooks")
    _, other = await webhook_for(hookline.api, receiver, "/other", tenant=tenant)
    since = datetime.now(UTC) - timedelta(minutes=1)
    result = await hookline.api.webhooks.test(hook.id, event_type="order.filled", data={"price": 1})
    assert result.status == "success"
    assert (await hookline.api.events.list()).data == []
    assert (await hookline.api.events.list(tenant_id=tenant.id)).data == []
    with pytest.raises(HooklineAPIError) as missing:
        await hookline.api.events.get(result.event_id)
    assert missing.value.status == 404
    await hookline.api.webhooks.update(other.id, is_active=False)
    await hookline.api.webhooks.update(other.id, is_active=True)
    for webhook_id in (hook.id, other.id):
        recovered = await hookline.api.webhooks.recover(webhook_id, since=since)
        assert (recovered.requeued, recovered.created) == (0, 0)
    assert receiver.at("/other") == []
    assert len(receiver.at("/hooks")) == 1


async def test_a_test_send_passes_the_rules_a_real_send_passes(
    hookline: Running, receiver: Receiver
) -> None:
    _, hook = await webhook_for(hookline.api, receiver, "/hooks")
    schema = {"type": "object", "required": ["symbol"]}
    await hookline.api.event_types.create("price.above", schema=schema)
    with pytest.raises(HooklineAPIError, match="symbol") as off_schema:
        await hookline.api.webhooks.test(hook.id, event_type="price.above", data={"p": 1})
    assert off_schema.value.status == 422
    limit = hookline.node.settings.max_payload_bytes
    with pytest.raises(HooklineAPIError, match="HOOKLINE_MAX_PAYLOAD_BYTES") as too_big:
        await hookline.api.webhooks.test(hook.id, data={"blob": "x" * limit})
    assert too_big.value.status == 413
    assert receiver.at("/hooks") == []


async def test_the_delivery_log_filters_and_shows_every_attempt(
    hookline: Running, receiver: Receiver
) -> None:
    receiver.script("/hooks", Reply(500, "first"), Reply(200, "second"))
    tenant, hook = await webhook_for(hookline.api, receiver, "/hooks")
    await hookline.api.event_types.create("order.canceled")
    filled = await hookline.api.events.send("order.filled", {"n": 1}, tenant_id=tenant.id)
    await settled(hookline.api, filled.id)
    canceled = await hookline.api.events.send("order.canceled", {"n": 2}, tenant_id=tenant.id)
    await settled(hookline.api, canceled.id)

    log = (await hookline.api.webhooks.deliveries(hook.id)).data
    assert [d.event_id for d in log] == [canceled.id, filled.id]  # newest first
    first = log[1]
    assert [(a.number, a.status_code, a.response_body) for a in first.attempts] == [
        (2, 200, "second"),
        (1, 500, "first"),
    ]
    assert first.attempts[1].error == "HTTP 500"

    by_type = await hookline.api.webhooks.deliveries(hook.id, event_type="order.canceled")
    assert [d.event_id for d in by_type.data] == [canceled.id]
    assert (await hookline.api.webhooks.deliveries(hook.id, status="failed")).data == []
    later = datetime.now(UTC) + timedelta(seconds=1)
    assert (await hookline.api.webhooks.deliveries(hook.id, since=later)).data == []
    earlier = datetime.now(UTC) - timedelta(minutes=1)
    assert len((await hookline.api.webhooks.deliveries(hook.id, since=earlier)).data) == 2
    assert (await hookline.api.webhooks.deliveries(hook.id, until=earlier)).data == []
    paged = await hookline.api.webhooks.deliveries(hook.id, limit=1)
    assert len(paged.data) == 1
    rest = await hookline.api.webhooks.deliveries(hook.id, cursor=paged.next_cursor)
    assert [d.event_id for d in rest.data] == [filled.id]


async def test_recover_resends_failures_and_what_a_disabled_webhook_missed(
    hookline: Running, receiver: Receiver
) -> None:
    receiver.script("/hooks", Reply(410))
    tenant, hook = await webhook_for(hookline.api, receiver, "/hooks")
    gone = await hookline.api.events.send("order.filled", {"n": 1}, tenant_id=tenant.id)
    await settled(hookline.api, gone.id)
    assert (await hookline.api.webhooks.get(hook.id)).is_active is False
    missed = await hookline.api.events.send("order.filled", {"n": 2}, tenant_id=tenant.id)
    assert missed.deliveries == 0
    since = datetime.now(UTC) - timedelta(minutes=5)

    with pytest.raises(HooklineAPIError) as disabled:
        await hookline.api.webhooks.recover(hook.id, since=since)
    assert disabled.value.status == 409

    receiver.script("/hooks", Reply(200))
    await hookline.api.webhooks.update(hook.id, is_active=True)
    result = await hookline.api.webhooks.recover(hook.id, since=since)
    assert (result.requeued, result.created) == (1, 1)
    await settled(hookline.api, gone.id)
    await settled(hookline.api, missed.id)
    delivered = {r.headers["webhook-id"] for r in receiver.at("/hooks")}
    assert delivered == {gone.id, missed.id}

    again = await hookline.api.webhooks.recover(hook.id, since=since)
    assert (again.requeued, again.created) == (0, 0)  # nothing left to recover


async def test_recover_respects_the_range_the_subscription_and_the_filter(
    hookline: Running, receiver: Receiver
) -> None:
    tenant, hook = await webhook_for(
        hookline.api, receiver, "/hooks", is_active=False, filter={"data.n": {"$gte": 2}}
    )
    await hookline.api.event_types.create("order.canceled")
    sent = [
        await hookline.api.events.send("order.filled", {"n": 1}, tenant_id=tenant.id),
        await hookline.api.events.send("order.filled", {"n": 2}, tenant_id=tenant.id),
        await hookline.api.events.send("order.canceled", {"n": 3}, tenant_id=tenant.id),
    ]
    other = await hookline.api.tenants.create("Other")
    await hookline.api.events.send("order.filled", {"n": 5}, tenant_id=other.id)
    await hookline.api.webhooks.update(hook.id, is_active=True, event_types=["order.filled"])
    result = await hookline.api.webhooks.recover(
        hook.id, since=datetime.now(UTC) - timedelta(minutes=5)
    )
    assert result.created == 1
    await settled(hookline.api, sent[1].id)
    assert [r.headers["webhook-id"] for r in receiver.at("/hooks")] == [sent[1].id]


async def test_stats_report_health(hookline: Running, receiver: Receiver) -> None:
    receiver.script(
        "/hooks",
        Reply(200, delay=0.01),
        Reply(200, delay=0.02),
        Reply(200, delay=0.3),
        Reply(500),
        Reply(500),
        Reply(500),
    )
    tenant, hook = await webhook_for(hookline.api, receiver, "/hooks", rate_limit_per_minute=None)
    for n in range(3):
        sent = await hookline.api.events.send("order.filled", {"n": n}, tenant_id=tenant.id)
        await settled(hookline.api, sent.id)
    failing = await hookline.api.events.send("order.filled", {"n": 9}, tenant_id=tenant.id)
    [given_up] = await settled(hookline.api, failing.id)  # four failed attempts: the schedule
    assert (given_up.status, given_up.attempt_count) == ("failed", 4)

    stats = await hookline.api.webhooks.stats(hook.id)
    assert (stats.success_count, stats.failure_count, stats.consecutive_failures) == (3, 4, 4)
    day = stats.last_24h
    assert (day.attempts, day.succeeded, day.failed) == (7, 3, 4)
    assert day.success_rate == round(3 / 7, 4)
    assert day.latency_ms_p50 is not None
    assert day.latency_ms_p95 is not None
    assert day.latency_ms_p95 >= 300 > day.latency_ms_p50
    assert stats.last_7d == day
    assert stats.last_success_at is not None
    assert stats.last_failure_at is not None
    assert stats.last_failure_at > stats.last_success_at
    assert stats.pending == 0


async def test_stats_of_a_new_webhook_are_empty(hookline: Running, receiver: Receiver) -> None:
    _, hook = await webhook_for(hookline.api, receiver, "/hooks")
    stats = await hookline.api.webhooks.stats(hook.id)
    assert stats.last_24h.attempts == 0
    assert stats.last_24h.success_rate is None
    assert stats.last_24h.latency_ms_p50 is None
    assert (stats.is_active, stats.pending, stats.last_success_at) == (True, 0, None)


async def test_a_rate_limited_webhook_gets_everything_at_its_pace(
    hookline: Running, receiver: Receiver
) -> None:
    tenant, _ = await webhook_for(hookline.api, receiver, "/paced", rate_limit_per_minute=120)
    sent = [
        await hookline.api.events.send("order.filled", {"n": n}, tenant_id=tenant.id)
        for n in range(4)
    ]
    requests = await receiver.wait_for(4, "/paced", timeout=10)
    # 120 a minute: a burst of one second's worth (two), then a slot every 0.5 s counted from
    # the first (so the third may follow the second closely if the second was sent late).
    offsets = [r.at - requests[0].at for r in requests]
    assert offsets[1] < 0.45, offsets
    # (less a margin for the first request arriving later than its slot on a loaded machine)
    assert all(offsets[k] >= (k - 1) * 0.5 - 0.15 for k in (2, 3)), offsets
    for event in sent:  # nothing dropped, and waiting used no attempts
        [delivery] = await settled(hookline.api, event.id)
        assert (delivery.status, delivery.attempt_count) == ("succeeded", 1)
    assert [r.headers["webhook-id"] for r in requests] == [e.id for e in sent]  # in order


async def test_lifting_a_rate_limit_releases_what_waits(
    hookline: Running, receiver: Receiver
) -> None:
    tenant, hook = await webhook_for(hookline.api, receiver, "/paced", rate_limit_per_minute=1)
    sent = [
        await hookline.api.events.send("order.filled", {"n": n}, tenant_id=tenant.id)
        for n in range(3)
    ]
    await receiver.wait_for(1, "/paced")
    deadline = time.monotonic() + 10
    while True:  # the other two hold their slots, a minute apart
        waiting = [(await hookline.api.events.deliveries(e.id)).data[0] for e in sent[1:]]
        slots = [d.next_attempt_at.timestamp() for d in waiting if d.next_attempt_at]
        if len(slots) == 2 and min(slots) > hookline.clock() + 30:
            break
        assert time.monotonic() < deadline, waiting
        await asyncio.sleep(0.02)
    assert len(receiver.at("/paced")) == 1
    await hookline.api.webhooks.update(hook.id, rate_limit_per_minute=None)
    await receiver.wait_for(3, "/paced", timeout=5)
