"""The delivery pipeline end to end: API → store → worker → a real receiver on loopback."""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import Any

import pytest
import standardwebhooks
import svix.webhooks
from aiohttp import web

from hookline import deliver
from tests.support import api
from tests.support.harness import Running
from tests.support.receiver import Custom, Receiver, Reply, Reset


async def setup_webhook(
    hl: Running, receiver: Receiver, path: str, **fields: object
) -> tuple[str, dict[str, Any]]:
    tenant = await api.tenant(hl.client)
    await api.event_type(hl.client, "order.filled")
    hook = await api.webhook(hl.client, tenant["id"], receiver.url(path), **fields)
    return tenant["id"], hook


async def test_a_sent_event_arrives_signed_and_verifiable_by_public_libraries(
    hookline: Running, receiver: Receiver
) -> None:
    tenant_id, hook = await setup_webhook(hookline, receiver, "/ok", headers={"X-Team": "risk"})
    sent = await api.send(
        hookline.client, "order.filled", {"symbol": "BTCUSDT", "price": 45000}, tenant_id
    )
    assert sent["deliveries"] == 1

    [request] = await receiver.wait_for(1, "/ok")
    payload = standardwebhooks.Webhook(hook["secret"]).verify(request.body, request.headers)
    svix.webhooks.Webhook(hook["secret"]).verify(request.body, request.headers)
    assert payload["id"] == sent["id"]
    assert payload["type"] == "order.filled"
    assert payload["data"] == {"symbol": "BTCUSDT", "price": 45000}
    assert payload["timestamp"].endswith("Z")
    assert request.headers["webhook-id"] == sent["id"]
    assert request.headers["x-webhook-event"] == "order.filled"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-Team"] == "risk"

    [delivery] = await api.settled(hookline.client, sent["id"])
    assert (delivery["status"], delivery["attempt_count"], delivery["last_status_code"]) == (
        "succeeded",
        1,
        200,
    )
    [attempt] = await api.attempts(hookline.client, delivery["id"])
    assert (attempt["status_code"], attempt["trigger"], attempt["response_body"]) == (
        200,
        "scheduled",
        "ok",
    )
    stored = api.ok(await hookline.client.get(f"/api/v1/webhooks/{hook['id']}"))
    assert (stored["success_count"], stored["failure_count"]) == (1, 0)
    assert stored["last_triggered_at"] is not None
    assert "secret" not in stored


async def test_failures_retry_on_schedule_with_the_same_id_and_fresh_timestamps(
    hookline: Running, receiver: Receiver
) -> None:
    receiver.script("/flaky", Reply(500, "boom"), Reply(503), Reply(200))
    tenant_id, hook = await setup_webhook(hookline, receiver, "/flaky")
    sent = await api.send(hookline.client, "order.filled", {"n": 1}, tenant_id)

    requests = await receiver.wait_for(3, "/flaky")
    [delivery] = await api.settled(hookline.client, sent["id"])
    assert delivery["status"] == "succeeded"
    assert delivery["attempt_count"] == 3
    assert {r.headers["webhook-id"] for r in requests} == {sent["id"]}
    for request in requests:  # every attempt is signed afresh, and verifies
        svix.webhooks.Webhook(hook["secret"]).verify(request.body, request.headers)
    gaps = [b.at - a.at for a, b in itertools.pairwise(requests)]
    assert all(gap >= 0.2 * 0.8 - 0.02 for gap in gaps), gaps  # schedule 0.2 s ± 20%

    attempts = await api.attempts(hookline.client, delivery["id"])
    assert [a["status_code"] for a in attempts] == [500, 503, 200]
    assert attempts[0]["error"] == "HTTP 500"
    assert attempts[0]["response_body"] == "boom"
    stored = api.ok(await hookline.client.get(f"/api/v1/webhooks/{hook['id']}"))
    assert (stored["success_count"], stored["failure_count"], stored["consecutive_failures"]) == (
        1,
        2,
        0,
    )


async def test_after_the_last_attempt_the_delivery_fails_and_says_why(
    hookline: Running, receiver: Receiver
) -> None:
    receiver.script("/down", Reply(500))
    tenant_id, hook = await setup_webhook(hookline, receiver, "/down")
    sent = await api.send(hookline.client, "order.filled", {}, tenant_id)

    [delivery] = await api.settled(hookline.client, sent["id"])
    assert delivery["status"] == "failed"
    assert delivery["attempt_count"] == 4  # 1 + len(schedule)
    assert delivery["last_error"] == "no success after 4 attempts; last error: HTTP 500"
    assert delivery["finished_at"] is not None
    assert len(receiver.at("/down")) == 4
    stored = api.ok(await hookline.client.get(f"/api/v1/webhooks/{hook['id']}"))
    assert (stored["failure_count"], stored["consecutive_failures"], stored["is_active"]) == (
        4,
        4,
        True,
    )


async def test_a_slow_receiver_times_out_and_is_retried(
    hookline: Running, receiver: Receiver
) -> None:
    receiver.script("/slow", Reply(200, delay=3.0), Reply(200))  # request_timeout is 2 s
    tenant_id, _ = await setup_webhook(hookline, receiver, "/slow")
    sent = await api.send(hookline.client, "order.filled", {}, tenant_id)

    [delivery] = await api.settled(hookline.client, sent["id"])
    attempts = await api.attempts(hookline.client, delivery["id"])
    assert attempts[0]["status_code"] is None
    assert attempts[0]["error"] == "timeout: no complete response within 2 s"
    assert 1900 <= attempts[0]["latency_ms"] < 3000
    assert (delivery["status"], attempts[1]["status_code"]) == ("succeeded", 200)


async def test_a_reset_connection_is_recorded_and_retried(
    hookline: Running, receiver: Receiver
) -> None:
    receiver.script("/reset", Reset(), Reply(200))
    tenant_id, _ = await setup_webhook(hookline, receiver, "/reset")
    sent = await api.send(hookline.client, "order.filled", {}, tenant_id)

    [delivery] = await api.settled(hookline.client, sent["id"])
    first = (await api.attempts(hookline.client, delivery["id"]))[0]
    assert first["status_code"] is None
    assert "connection" in first["error"]
    assert delivery["status"] == "succeeded"


async def test_a_refused_connection_is_recorded(hookline: Running, receiver: Receiver) -> None:
    tenant = await api.tenant(hookline.client)
    await api.event_type(hookline.client)
    closed_port = receiver.port
    await receiver.stop()  # nothing listens there any more
    await api.webhook(hookline.client, tenant["id"], f"http://127.0.0.1:{closed_port}/x")
    sent = await api.send(hookline.client, "order.filled", {}, tenant["id"])

    [delivery] = await api.settled(hookline.client, sent["id"])
    first = (await api.attempts(hookline.client, delivery["id"]))[0]
    assert first["error"] == f"connection refused by 127.0.0.1:{closed_port}"
    assert delivery["status"] == "failed"


async def test_redirects_are_failures_and_never_followed(
    hookline: Running, receiver: Receiver
) -> None:
    receiver.script("/moved", Reply(302, headers={"Location": receiver.url("/elsewhere")}))
    tenant_id, _ = await setup_webhook(hookline, receiver, "/moved")
    sent = await api.send(hookline.client, "order.filled", {}, tenant_id)

    [delivery] = await api.settled(hookline.client, sent["id"])
    assert delivery["status"] == "failed"
    assert receiver.at("/elsewhere") == []
    first = (await api.attempts(hookline.client, delivery["id"]))[0]
    assert first["status_code"] == 302
    assert "redirects are not followed" in first["error"]


async def test_410_gone_disables_the_webhook_and_cancels_what_was_waiting(
    hookline: Running, receiver: Receiver
) -> None:
    receiver.script("/gone", Reply(410))
    tenant_id, hook = await setup_webhook(hookline, receiver, "/gone")
    first = await api.send(hookline.client, "order.filled", {"n": 1}, tenant_id)

    [delivery] = await api.settled(hookline.client, first["id"])
    assert delivery["status"] == "failed"
    assert delivery["attempt_count"] == 1
    assert "410 Gone" in delivery["last_error"]
    stored = api.ok(await hookline.client.get(f"/api/v1/webhooks/{hook['id']}"))
    assert stored["is_active"] is False
    assert "410 Gone" in stored["disabled_reason"]

    later = await api.send(hookline.client, "order.filled", {"n": 2}, tenant_id)
    assert later["deliveries"] == 0  # a disabled webhook is not fanned out to
    assert len(receiver.at("/gone")) == 1


async def test_retry_after_slows_the_next_attempt(hookline: Running, receiver: Receiver) -> None:
    receiver.script("/busy", Reply(429, headers={"Retry-After": "1"}), Reply(200))
    tenant_id, _ = await setup_webhook(hookline, receiver, "/busy")
    sent = await api.send(hookline.client, "order.filled", {}, tenant_id)

    first, second = await receiver.wait_for(2, "/busy")
    assert second.at - first.at >= 0.95  # the schedule alone would wait 0.2 s
    [delivery] = await api.settled(hookline.client, sent["id"])
    assert delivery["status"] == "succeeded"


async def test_a_failed_delivery_can_be_retried_by_hand(
    hookline: Running, receiver: Receiver
) -> None:
    receiver.script("/later", Reply(500), Reply(500), Reply(500), Reply(500), Reply(200))
    tenant_id, _ = await setup_webhook(hookline, receiver, "/later")
    sent = await api.send(hookline.client, "order.filled", {}, tenant_id)
    [delivery] = await api.settled(hookline.client, sent["id"])
    assert delivery["status"] == "failed"

    retried = api.ok(await hookline.client.post(f"/api/v1/deliveries/{delivery['id']}/retry"), 202)
    assert retried["status"] == "pending"
    done = await api.delivery_when(hookline.client, delivery["id"], "succeeded")
    assert done["attempt_count"] == 5
    attempts = await api.attempts(hookline.client, delivery["id"])
    assert [a["trigger"] for a in attempts] == ["scheduled"] * 4 + ["manual"]


async def test_a_failed_manual_retry_is_not_rescheduled(
    hookline: Running, receiver: Receiver
) -> None:
    receiver.script("/down", Reply(500))
    tenant_id, _ = await setup_webhook(hookline, receiver, "/down")
    sent = await api.send(hookline.client, "order.filled", {}, tenant_id)
    [delivery] = await api.settled(hookline.client, sent["id"])

    await hookline.client.post(f"/api/v1/deliveries/{delivery['id']}/retry")
    failed = await api.delivery_when(hookline.client, delivery["id"], "failed")
    assert (failed["attempt_count"], failed["next_attempt_at"]) == (5, None)  # nothing follows
    assert len(receiver.at("/down")) == 5


async def test_a_slow_receiver_does_not_hold_back_others(
    hookline: Running, receiver: Receiver
) -> None:
    answer = asyncio.Event()

    async def answer_when_told(request: web.Request) -> web.StreamResponse:
        await answer.wait()
        return web.Response(text="ok")

    receiver.script("/slow", Custom(answer_when_told))
    tenant = await api.tenant(hookline.client)
    await api.event_type(hookline.client)
    slow = await api.webhook(hookline.client, tenant["id"], receiver.url("/slow"))
    fast = await api.webhook(hookline.client, tenant["id"], receiver.url("/fast"))
    sent = await api.send(hookline.client, "order.filled", {}, tenant["id"])
    assert sent["deliveries"] == 2

    by_webhook = {}
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        by_webhook = {d["webhook_id"]: d for d in await api.deliveries(hookline.client, sent["id"])}
        if by_webhook[fast["id"]]["status"] == "succeeded":
            break
        await asyncio.sleep(0.02)
    # The fast delivery is recorded while the slow one is still waiting for its answer.
    assert by_webhook[fast["id"]]["status"] == "succeeded"
    assert by_webhook[slow["id"]]["status"] == "pending"
    answer.set()
    await api.settled(hookline.client, sent["id"], count=2)


async def test_a_broadcast_reaches_every_tenants_subscribers(
    hookline: Running, receiver: Receiver
) -> None:
    await api.event_type(hookline.client, "market.halted")
    for name in ("a", "b"):
        tenant = await api.tenant(hookline.client, name)
        await api.webhook(
            hookline.client, tenant["id"], receiver.url(f"/{name}"), event_types=["market.halted"]
        )
    other = await api.tenant(hookline.client, "c")
    await api.event_type(hookline.client, "order.filled")
    await api.webhook(
        hookline.client, other["id"], receiver.url("/c"), event_types=["order.filled"]
    )

    sent = await api.send(hookline.client, "market.halted", {"venue": "binance"})
    assert sent["tenant_id"] is None
    assert sent["deliveries"] == 2
    await api.settled(hookline.client, sent["id"], count=2)
    assert len(receiver.at("/a")) == len(receiver.at("/b")) == 1
    assert receiver.at("/c") == []


async def test_an_idle_worker_waits_for_work_instead_of_spinning(
    hookline: Running, receiver: Receiver
) -> None:
    tenant_id, _ = await setup_webhook(hookline, receiver, "/ok")
    sent = await api.send(hookline.client, "order.filled", {}, tenant_id)
    await api.settled(hookline.client, sent["id"])  # the worker was woken, and is idle again
    worker = hookline.node.worker
    assert worker is not None
    await asyncio.sleep(0.1)
    before = worker.claims
    await asyncio.sleep(0.5)
    # One claim per poll interval (0.05 s) at most, not a busy loop.
    assert worker.claims - before <= 0.5 / 0.05 + 2


async def test_a_fault_while_handling_an_answer_is_a_recorded_attempt_not_a_loop(
    hookline: Running, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever goes wrong inside hookline after the receiver answered, the attempt is recorded
    and the delivery follows its schedule: it is never left leased and redelivered every lease."""

    def broken(value: str | None, now: float) -> float | None:
        raise RuntimeError("a bug of ours")

    monkeypatch.setattr(deliver, "parse_retry_after", broken)
    tenant_id, _ = await setup_webhook(hookline, receiver, "/ok")
    sent = await api.send(hookline.client, "order.filled", {}, tenant_id)
    [delivery] = await api.settled(hookline.client, sent["id"])
    assert (delivery["status"], delivery["attempt_count"]) == ("failed", 4)  # the schedule
    attempts = await api.attempts(hookline.client, delivery["id"])
    assert [a["number"] for a in attempts] == [1, 2, 3, 4]
    assert all("hookline could not handle this attempt" in a["error"] for a in attempts)
    assert "a bug of ours" in attempts[0]["error"]
