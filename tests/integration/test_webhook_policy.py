"""A webhook's own delivery policy: `retry_schedule` (seconds between attempts) and `timeout`
(seconds per attempt) override the installation's, and null falls back to it. Seed 002 wants
retries after 2, 4, 8, 16 and 32 s and a 30 s timeout.

The installation these tests run retries after 0.2 s three times and times out after 2 s (at
most 10 s for a webhook's own timeout), so a webhook's own policy is always told apart from it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import pytest

from tests.support import api
from tests.support.harness import Running, make_settings, running
from tests.support.receiver import Receiver, Reply

SEED_002_SCHEDULE = [2, 4, 8, 16, 32]


@pytest.fixture
async def patient(database_url: str) -> AsyncIterator[Running]:
    """hookline whose circuit breaker stays out of the way of six failures in a row."""
    async with running(make_settings(database_url, circuit_breaker_failure_threshold=20)) as app:
        yield app


async def webhook_to(hl: Running, receiver: Receiver, path: str, **fields: Any) -> dict[str, Any]:
    tenant = await api.tenant(hl.client)
    if (await hl.client.get("/api/v1/event-types/order.filled")).status_code == 404:
        await api.event_type(hl.client, "order.filled")
    return await api.webhook(hl.client, tenant["id"], receiver.url(path), **fields)


async def after_attempt(hl: Running, delivery_id: str, number: int) -> dict[str, Any]:
    """The delivery once its attempt `number` is recorded."""
    deadline = time.monotonic() + 15
    while True:
        found = api.ok_object(await hl.client.get(f"/api/v1/deliveries/{delivery_id}"))
        if found["attempt_count"] >= number:
            assert found["attempt_count"] == number, found
            return found
        assert time.monotonic() < deadline, f"attempt {number} never happened: {found}"
        await asyncio.sleep(0.02)


def epoch(value: str) -> float:
    return datetime.fromisoformat(value).timestamp()


async def test_a_webhooks_own_retry_schedule_is_followed(
    patient: Running, receiver: Receiver
) -> None:
    receiver.script("/down", Reply(500))
    hook = await webhook_to(patient, receiver, "/down", retry_schedule=SEED_002_SCHEDULE)
    assert hook["retry_schedule"] == SEED_002_SCHEDULE
    sent = await api.send(patient.client, "order.filled", {"n": 1}, hook["tenant_id"])
    [queued] = await api.deliveries(patient.client, sent["id"])

    for number, delay in enumerate(SEED_002_SCHEDULE, start=1):
        delivery = await after_attempt(patient, queued["id"], number)
        attempt = (await api.attempts(patient.client, queued["id"]))[-1]
        assert delivery["status"] == "pending"
        wait = epoch(delivery["next_attempt_at"]) - epoch(attempt["created_at"])
        # The webhook's delay, with ±20% jitter, counted from the end of the attempt.
        slack = attempt["latency_ms"] / 1000 + 0.01
        assert delay * 0.8 - 0.01 <= wait <= delay * 1.2 + slack, (number, wait)
        patient.advance(max(0.0, epoch(delivery["next_attempt_at"]) - patient.clock()) + 0.01)

    failed = await after_attempt(patient, queued["id"], len(SEED_002_SCHEDULE) + 1)
    assert failed["status"] == "failed"  # six attempts, where the installation makes four
    assert failed["last_error"] == "no success after 6 attempts; last error: HTTP 500"
    requests = receiver.at("/down")
    assert len(requests) == 6
    assert {r.headers["webhook-id"] for r in requests} == {sent["id"]}


async def test_a_webhooks_own_timeout_can_be_shorter_than_the_default(
    hookline: Running, receiver: Receiver
) -> None:
    receiver.script("/slow", Reply(200, delay=1.0))  # within the default 2 s
    short = await webhook_to(hookline, receiver, "/slow", timeout=0.5, retry_schedule=[])
    default = await webhook_to(hookline, receiver, "/slow", retry_schedule=[])
    assert (short["timeout"], default["timeout"]) == (0.5, None)
    sent_short = await api.send(hookline.client, "order.filled", {}, short["tenant_id"])
    sent_default = await api.send(hookline.client, "order.filled", {}, default["tenant_id"])

    [timed_out] = await api.settled(hookline.client, sent_short["id"])
    [attempt] = await api.attempts(hookline.client, timed_out["id"])
    assert timed_out["status"] == "failed"
    # Failed, where the default 2 s lets the same 1 s answer through.
    assert attempt["error"] == "timeout: no complete response within 0.5 s"
    assert attempt["latency_ms"] >= 450
    [delivered] = await api.settled(hookline.client, sent_default["id"])
    assert (delivered["status"], delivered["last_status_code"]) == ("succeeded", 200)


async def test_a_webhooks_own_timeout_can_be_longer_than_the_default(
    hookline: Running, receiver: Receiver
) -> None:
    receiver.script("/slower", Reply(200, delay=2.5))  # past the default 2 s
    long = await webhook_to(hookline, receiver, "/slower", timeout=4, retry_schedule=[])
    default = await webhook_to(hookline, receiver, "/slower", retry_schedule=[])
    sent_long = await api.send(hookline.client, "order.filled", {}, long["tenant_id"])
    sent_default = await api.send(hookline.client, "order.filled", {}, default["tenant_id"])

    [delivered] = await api.settled(hookline.client, sent_long["id"])
    assert (delivered["status"], delivered["last_status_code"]) == ("succeeded", 200)
    [timed_out] = await api.settled(hookline.client, sent_default["id"])
    assert timed_out["status"] == "failed"
    assert timed_out["last_error"].endswith("timeout: no complete response within 2 s")


async def test_null_falls_back_to_the_installations_policy(
    hookline: Running, receiver: Receiver
) -> None:
    hook = await webhook_to(hookline, receiver, "/back", retry_schedule=[600], timeout=0.5)
    patched = api.ok_object(
        await hookline.client.patch(
            f"/api/v1/webhooks/{hook['id']}", json={"retry_schedule": None, "timeout": None}
        )
    )
    assert (patched["retry_schedule"], patched["timeout"]) == (None, None)
    stored = api.ok_object(await hookline.client.get(f"/api/v1/webhooks/{hook['id']}"))
    assert (stored["retry_schedule"], stored["timeout"]) == (None, None)

    # Fails once, then answers in 1 s: past the 0.5 s the webhook had, within the default 2 s.
    receiver.script("/back", Reply(500), Reply(200, delay=1.0))
    sent = await api.send(hookline.client, "order.filled", {}, hook["tenant_id"])
    # The clock is never moved: the retry comes after the installation's 0.2 s, not 600 s.
    [delivery] = await api.settled(hookline.client, sent["id"])
    assert (delivery["status"], delivery["attempt_count"]) == ("succeeded", 2)


async def test_patching_one_policy_field_keeps_the_other(
    hookline: Running, receiver: Receiver
) -> None:
    hook = await webhook_to(hookline, receiver, "/keep", retry_schedule=[2, 4], timeout=3)
    patched = api.ok_object(
        await hookline.client.patch(f"/api/v1/webhooks/{hook['id']}", json={"timeout": 30 / 4})
    )
    assert (patched["retry_schedule"], patched["timeout"]) == ([2, 4], 7.5)


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"retry_schedule": [2, -1]}, "retry_schedule: entry 1 is -1: each entry is the seconds"),
        ({"retry_schedule": [1] * 51}, "retry_schedule: at most 50 delays (51 attempts), got 51"),
        ({"retry_schedule": [8 * 86_400]}, "from 0 to 604800 (7 days)"),
        ({"retry_schedule": ["2s"]}, "retry_schedule.0: must be a JSON number"),
        ({"retry_schedule": "2,4,8"}, "retry_schedule"),
        ({"timeout": 11}, "timeout: at most 10 s on this installation (HOOKLINE_MAX_REQUEST_TIM"),
        ({"timeout": 0}, "timeout: Input should be greater than 0"),
        ({"timeout": "30"}, "timeout: must be a JSON number"),
    ],
)
async def test_a_bad_policy_is_refused_saying_what_to_send(
    hookline: Running, receiver: Receiver, fields: dict[str, Any], says: str
) -> None:
    tenant = await api.tenant(hookline.client)
    created = await hookline.client.post(
        "/api/v1/webhooks", json={"tenant_id": tenant["id"], "url": receiver.url(), **fields}
    )
    assert created.status_code == 422, created.text
    assert says in created.json()["detail"]

    hook = await api.webhook(hookline.client, tenant["id"], receiver.url())
    patched = await hookline.client.patch(f"/api/v1/webhooks/{hook['id']}", json=fields)
    assert patched.status_code == 422, patched.text
    assert says in patched.json()["detail"]
    stored = api.ok_object(await hookline.client.get(f"/api/v1/webhooks/{hook['id']}"))
    assert (stored["retry_schedule"], stored["timeout"]) == (None, None)


async def test_the_longest_timeout_and_schedule_allowed_are_taken(
    hookline: Running, receiver: Receiver
) -> None:
    tenant = await api.tenant(hookline.client)
    hook = await api.webhook(
        hookline.client,
        tenant["id"],
        receiver.url(),
        timeout=10,
        retry_schedule=[0, *[7 * 86_400] * 49],
    )
    assert (hook["timeout"], len(hook["retry_schedule"])) == (10, 50)
