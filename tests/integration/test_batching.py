"""Batch webhooks end to end, on both stores: a webhook's deliveries go together in one request
(a JSON array, signed once under the batch's id) when `max_events` wait or the first of them
has waited `max_wait_ms`, as seed 001's WebhookAggregator does (100 events or 5 s). Every event
keeps its own delivery and attempt log; a failed batch retries as a batch. Time is moved with
the harness clock, never slept through."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import orjson
import pytest
import standardwebhooks
from aiohttp import web

from tests.support import api
from tests.support.databases import delivery_statuses
from tests.support.harness import Running, make_settings, running
from tests.support.receiver import Custom, Receiver, Reply
from tests.support.smtp import SmtpRelay

LONG_WAIT_MS = 600_000  # ten minutes: only the count bound, or a moved clock, sends


async def batch_webhook(
    hl: Running, receiver: Receiver, path: str, max_events: int, **fields: Any
) -> dict[str, Any]:
    tenant = await api.tenant(hl.client)
    if (await hl.client.get("/api/v1/event-types/order.filled")).status_code == 404:
        await api.event_type(hl.client, "order.filled")
    fields.setdefault("batch", {"max_events": max_events, "max_wait_ms": LONG_WAIT_MS})
    return await api.webhook(hl.client, tenant["id"], receiver.url(path), **fields)


async def send_fills(hl: Running, tenant_id: str, count: int) -> list[dict[str, Any]]:
    return [
        await api.send(hl.client, "order.filled", {"order": n, "amount": n * 10}, tenant_id)
        for n in range(count)
    ]


async def delivery_of(hl: Running, event_id: str, webhook_id: str | None = None) -> dict[str, Any]:
    [delivery] = [
        d
        for d in await api.deliveries(hl.client, event_id)
        if webhook_id is None or d["webhook_id"] == webhook_id
    ]
    return delivery


async def attempted(hl: Running, delivery_id: str, count: int) -> dict[str, Any]:
    """The delivery once `count` attempts are recorded and it is no longer in flight."""
    for _ in range(300):
        found = api.ok_object(await hl.client.get(f"/api/v1/deliveries/{delivery_id}"))
        if found["attempt_count"] >= count and found["status"] != "pending":
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"delivery {delivery_id} never made {count} attempts: {found}")


async def quiet(receiver: Receiver, path: str, seconds: float = 0.3) -> None:
    """Give a worker that would send wrongly the time to do it (the worker polls every 0.05 s),
    then check nothing came."""
    await asyncio.sleep(seconds)
    assert receiver.at(path) == []


async def test_a_full_batch_goes_at_once_as_one_signed_request(
    hookline: Running, receiver: Receiver
) -> None:
    hook = await batch_webhook(hookline, receiver, "/fills", 3)
    assert hook["batch"] == {"max_events": 3, "max_wait_ms": LONG_WAIT_MS}
    sent = await send_fills(hookline, hook["tenant_id"], 4)

    # The third event fills the batch: it goes now, without the clock moving.
    [request] = await receiver.wait_for(1, "/fills")
    body = standardwebhooks.Webhook(hook["secret"]).verify(request.body, request.headers)
    assert [e["id"] for e in body] == [s["id"] for s in sent[:3]]
    assert [e["data"] for e in body] == [{"order": n, "amount": n * 10} for n in range(3)]
    assert request.headers["x-webhook-event"] == "order.filled"

    batch_id = request.headers["webhook-id"]
    assert batch_id.startswith("bat_")
    settled = [
        await api.delivery_when(hookline.client, d["id"], "succeeded")
        for d in [await delivery_of(hookline, s["id"]) for s in sent[:3]]
    ]
    assert {d["batch_id"] for d in settled} == {batch_id}
    for delivery in settled:
        [attempt] = await api.attempts(hookline.client, delivery["id"])
        assert (attempt["number"], attempt["status_code"]) == (1, 200)
    # The fourth waits for a batch of its own.
    await quiet(receiver, "/other")
    fourth = await delivery_of(hookline, sent[3]["id"])
    assert (fourth["status"], fourth["attempt_count"], fourth["batch_id"]) == ("pending", 0, None)
    assert len(receiver.at("/fills")) == 1
    stats = api.ok_object(await hookline.client.get(f"/api/v1/webhooks/{hook['id']}"))
    assert (stats["success_count"], stats["failure_count"]) == (1, 0)  # one request


async def test_a_lone_event_goes_after_max_wait_as_a_one_element_array(
    hookline: Running, receiver: Receiver
) -> None:
    hook = await batch_webhook(hookline, receiver, "/lone", 100)
    alone = await api.webhook(hookline.client, hook["tenant_id"], receiver.url("/alone"))
    [sent] = await send_fills(hookline, hook["tenant_id"], 1)

    # A webhook without `batch` is never delayed by its batching neighbour.
    [immediate] = await receiver.wait_for(1, "/alone")
    assert orjson.loads(immediate.body)["id"] == sent["id"]
    assert immediate.headers["webhook-id"] == sent["id"]
    assert alone["batch"] is None
    await quiet(receiver, "/lone")

    hookline.advance(LONG_WAIT_MS / 1000 + 1)
    [request] = await receiver.wait_for(1, "/lone")
    body = orjson.loads(request.body)
    assert isinstance(body, list)
    assert len(body) == 1
    assert body[0]["id"] == sent["id"]
    assert request.body == b"[" + immediate.body + b"]"  # the envelope alone, byte for byte
    delivery = await api.delivery_when(
        hookline.client, (await delivery_of(hookline, sent["id"], hook["id"]))["id"], "succeeded"
    )
    assert delivery["batch_id"] == request.headers["webhook-id"]


async def test_a_failed_batch_retries_as_the_same_batch(
    hookline: Running, receiver: Receiver
) -> None:
    receiver.script("/flaky", Reply(500), Reply(200))
    hook = await batch_webhook(hookline, receiver, "/flaky", 2)
    sent = await send_fills(hookline, hook["tenant_id"], 2)

    first, second = await receiver.wait_for(2, "/flaky")  # the retry comes after 0.2 s
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert first.body == second.body
    assert first.headers["webhook-timestamp"] <= second.headers["webhook-timestamp"]
    assert [e["id"] for e in orjson.loads(second.body)] == [s["id"] for s in sent]

    for event in sent:
        delivery = await api.delivery_when(
            hookline.client, (await delivery_of(hookline, event["id"]))["id"], "succeeded"
        )
        assert delivery["attempt_count"] == 2
        assert delivery["batch_id"] == first.headers["webhook-id"]
        attempts = await api.attempts(hookline.client, delivery["id"])
        assert [(a["number"], a["status_code"]) for a in attempts] == [(1, 500), (2, 200)]
    stored = api.ok_object(await hookline.client.get(f"/api/v1/webhooks/{hook['id']}"))
    assert (stored["success_count"], stored["failure_count"]) == (1, 1)  # each request once

    # Retrying one member by hand sends the whole batch again, under the same id.
    member = await delivery_of(hookline, sent[1]["id"])
    api.ok(await hookline.client.post(f"/api/v1/deliveries/{member['id']}/retry"), 202)
    [*_, again] = await receiver.wait_for(3, "/flaky")
    assert again.headers["webhook-id"] == first.headers["webhook-id"]
    assert again.body == first.body
    for event in sent:
        delivery = await attempted(hookline, (await delivery_of(hookline, event["id"]))["id"], 3)
        assert (delivery["status"], delivery["batch_id"]) == (
            "succeeded",
            again.headers["webhook-id"],
        )
        attempts = await api.attempts(hookline.client, delivery["id"])
        assert [a["trigger"] for a in attempts] == ["scheduled", "scheduled", "manual"]


async def test_discord_gets_one_message_with_an_embed_per_event(
    hookline: Running, receiver: Receiver
) -> None:
    hook = await batch_webhook(hookline, receiver, "/discord", 3, format="discord")
    sent = await send_fills(hookline, hook["tenant_id"], 3)

    [request] = await receiver.wait_for(1, "/discord")
    body = orjson.loads(request.body)
    assert [e["title"] for e in body["embeds"]] == ["order.filled"] * 3
    assert [e["fields"][0]["value"] for e in body["embeds"]] == ["0", "1", "2"]
    assert len(sent) == 3


@pytest.mark.parametrize(
    ("fields", "loc", "says"),
    [
        (
            {"format": "discord", "batch": {"max_events": 11, "max_wait_ms": 1000}},
            ["body", "batch", "max_events"],
            "at most 10 embeds",
        ),
        (
            {"ordering": "fifo", "batch": {"max_events": 10, "max_wait_ms": 1000}},
            ["body", "batch"],
            "FIFO",
        ),
        ({"batch": {"max_events": 0, "max_wait_ms": 1000}}, None, None),
        ({"batch": {"max_events": 10, "max_wait_ms": 1000, "size": 3}}, None, None),
    ],
)
async def test_a_batch_that_cannot_be_is_refused_with_what_to_fix(
    hookline: Running, receiver: Receiver, fields: dict[str, Any], loc: Any, says: Any
) -> None:
    tenant = await api.tenant(hookline.client)
    body = {"tenant_id": tenant["id"], "url": receiver.url("/no"), **fields}
    refused = await hookline.client.post("/api/v1/webhooks", json=body)
    assert refused.status_code == 422, refused.text
    if says is not None:
        problem = refused.json()
        assert says in problem["detail"]
        assert problem["errors"][0]["loc"] == loc


async def test_patching_a_batch_webhook_into_what_cannot_batch_is_refused(
    hookline: Running, receiver: Receiver
) -> None:
    hook = await batch_webhook(hookline, receiver, "/patch", 20)
    for change in ({"format": "discord"}, {"ordering": "fifo"}):
        refused = await hookline.client.patch(f"/api/v1/webhooks/{hook['id']}", json=change)
        assert refused.status_code == 422, refused.text
    patched = api.ok_object(
        await hookline.client.patch(
            f"/api/v1/webhooks/{hook['id']}",
            json={"format": "discord", "batch": {"max_events": 10, "max_wait_ms": 50}},
        )
    )
    assert patched["batch"] == {"max_events": 10, "max_wait_ms": 50}
    cleared = api.ok_object(
        await hookline.client.patch(f"/api/v1/webhooks/{hook['id']}", json={"batch": None})
    )
    assert cleared["batch"] is None


async def test_under_an_in_flight_cap_of_one_batches_go_one_at_a_time(
    hookline: Running, receiver: Receiver
) -> None:
    receiver.script("/capped", Reply(200, delay=0.2))
    hook = await batch_webhook(hookline, receiver, "/capped", 2, max_in_flight=1)
    sent = await send_fills(hookline, hook["tenant_id"], 6)

    requests = await receiver.wait_for(3, "/capped")
    assert receiver.peak["/capped"] == 1
    batches = [[e["id"] for e in orjson.loads(r.body)] for r in requests]
    assert [len(b) for b in batches] == [2, 2, 2]
    assert sorted(i for b in batches for i in b) == sorted(s["id"] for s in sent)
    assert len({r.headers["webhook-id"] for r in requests}) == 3


async def test_two_workers_never_split_or_share_a_batch(
    database_url: str, receiver: Receiver
) -> None:
    """Two nodes on one database: every event is in exactly one batch, and a failed batch's
    retry carries exactly the events its first attempt did, whichever worker makes it."""
    seen: set[str] = set()

    async def fail_first_time(request: web.Request) -> web.StreamResponse:
        batch_id = request.headers["webhook-id"]
        first = batch_id not in seen
        seen.add(batch_id)
        return web.Response(status=500 if first else 200)

    receiver.script("/shared", Custom(fail_first_time))
    # Every batch fails once: the circuit breaker must not step in.
    settings = make_settings(
        database_url, claim_batch_size=4, circuit_breaker_failure_threshold=100
    )
    async with running(settings) as one, running(settings) as two:
        hook = await batch_webhook(one, receiver, "/shared", 5)
        sent = await asyncio.gather(
            *(
                api.send(node.client, "order.filled", {"n": n}, hook["tenant_id"])
                for n in range(20)
                for node in (one, two)
            )
        )
        await receiver.wait_for(8, "/shared")
        # Batches formed at once may leave a few events short of a full batch: they go after
        # their longest wait.
        for node in (one, two):
            node.advance(LONG_WAIT_MS / 1000 + 1)
        for _ in range(200):
            if await delivery_statuses(database_url) == {"succeeded": 40}:
                break
            await asyncio.sleep(0.05)
    assert await delivery_statuses(database_url) == {"succeeded": 40}
    contents: dict[str, set[bytes]] = {}
    for request in receiver.at("/shared"):
        contents.setdefault(request.headers["webhook-id"], set()).add(request.body)
    assert all(len(bodies) == 1 for bodies in contents.values())  # retried whole
    events = [e["id"] for bodies in contents.values() for e in orjson.loads(next(iter(bodies)))]
    assert sorted(events) == sorted(e["id"] for e in sent)  # each in exactly one batch
    # Each failed once and went again (a jump of the clock may resend one in flight: at least
    # once, and whole).
    sends = Counter(r.headers["webhook-id"] for r in receiver.at("/shared"))
    assert min(sends.values()) >= 2
    # Two workers forming batches at once may each take part of the waiting events (a row the
    # other holds is skipped): more, smaller batches, never a shared event.
    assert all(len(orjson.loads(next(iter(b)))) <= 5 for b in contents.values())
    assert len(contents) >= 8


async def test_a_mailto_batch_is_one_mail_of_its_events(database_url: str) -> None:
    relay = SmtpRelay()
    relay.start()
    try:
        settings = make_settings(
            database_url, smtp_url=relay.url(), smtp_from="Alerts <alerts@example.com>"
        )
        async with running(settings) as hl:
            tenant = await api.tenant(hl.client)
            await api.event_type(hl.client, "order.filled")
            await api.webhook(
                hl.client,
                tenant["id"],
                "mailto:trader@example.com",
                batch={"max_events": 3, "max_wait_ms": LONG_WAIT_MS},
            )
            sent = await send_fills(hl, tenant["id"], 3)
            [mail] = await relay.wait_for(1)
            for event in sent:
                [delivery] = await api.settled(hl.client, event["id"])
                assert delivery["batch_id"] == mail.header("webhook-id")
    finally:
        relay.stop()
    assert mail.recipients == ["trader@example.com"]
    assert mail.header("Subject").startswith("3 events")
    assert mail.header("webhook-id").startswith("bat_")


async def test_recovering_part_of_a_failed_batch_sends_the_whole_batch_again(
    hookline: Running, receiver: Receiver
) -> None:
    receiver.script("/down", Reply(500), Reply(200))
    hook = await batch_webhook(hookline, receiver, "/down", 2, retry_schedule=[])
    sent = await send_fills(hookline, hook["tenant_id"], 2)
    [failed] = await receiver.wait_for(1, "/down")
    first, second = [await delivery_of(hookline, s["id"]) for s in sent]
    await api.delivery_when(hookline.client, first["id"], "failed")
    await api.delivery_when(hookline.client, second["id"], "failed")

    # A time range that holds the first event only: the batch still goes whole, as it was.
    window = {"since": first["created_at"], "until": second["created_at"]}
    recovered = api.ok_object(
        await hookline.client.post(f"/api/v1/webhooks/{hook['id']}/recover", json=window), 202
    )
    assert recovered["requeued"] == 1
    [_, again] = await receiver.wait_for(2, "/down")
    assert again.headers["webhook-id"] == failed.headers["webhook-id"]
    assert again.body == failed.body
    for delivery in (first, second):
        done = await api.delivery_when(hookline.client, delivery["id"], "succeeded")
        assert done["attempt_count"] == 2


async def test_a_test_send_and_a_preview_are_shaped_like_a_batch(
    hookline: Running, receiver: Receiver
) -> None:
    hook = await batch_webhook(hookline, receiver, "/shape", 50)
    tested = api.ok_object(await hookline.client.post(f"/api/v1/webhooks/{hook['id']}/test"))
    assert tested["status"] == "success"
    [request] = await receiver.wait_for(1, "/shape")
    [event] = standardwebhooks.Webhook(hook["secret"]).verify(request.body, request.headers)
    assert event["id"] == tested["event_id"]
    assert request.headers["webhook-id"].startswith("bat_")
    logged = api.ok_object(await hookline.client.get(f"/api/v1/deliveries/{tested['delivery_id']}"))
    assert logged["batch_id"] == request.headers["webhook-id"]

    preview = api.ok_object(
        await hookline.client.post(
            f"/api/v1/webhooks/{hook['id']}/preview",
            json={"event_type": "order.filled", "data": {"order": 1}},
        )
    )
    assert [e["data"] for e in orjson.loads(preview["body"])] == [{"order": 1}]
    assert preview["headers"]["webhook-id"].startswith("bat_")


async def test_the_client_creates_and_clears_a_batch(hookline: Running, receiver: Receiver) -> None:
    tenant = await api.tenant(hookline.client)
    created = await hookline.api.webhooks.create(
        url=receiver.url("/client"),
        tenant_id=tenant["id"],
        batch={"max_events": 100, "max_wait_ms": 5000},
    )
    assert created.batch is not None
    assert (created.batch.max_events, created.batch.max_wait_ms) == (100, 5000)
    cleared = await hookline.api.webhooks.update(created.id, batch=None)
    assert cleared.batch is None
