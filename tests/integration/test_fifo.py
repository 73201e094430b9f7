"""FIFO webhooks (`ordering: "fifo"`): one request at a time, in the order events were accepted.
A failing head holds the queue (the others wait, pending, `blocked_by` naming it) until it
succeeds or finally fails; then the queue moves on (`fifo_on_failure: skip`) or stays stopped
until the head is retried or cancelled (`block`).

The webhooks here retry after 30 s, and the tests move hookline's clock to make a retry due:
while the head waits, the worker has every chance to send what is behind it, and must not."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson
import pytest

from hookline.client import AsyncClient, HooklineAPIError
from tests.support import api
from tests.support.harness import Running
from tests.support.receiver import Receiver, Reply

LATER = [30, 30]  # a webhook's retry schedule: three attempts, 30 s apart


async def fifo_webhook(
    hl: Running, receiver: Receiver, path: str, tenant: dict[str, Any] | None = None, **fields: Any
) -> dict[str, Any]:
    tenant = tenant or await api.tenant(hl.client)
    if (await hl.client.get("/api/v1/event-types/order.filled")).status_code == 404:
        await api.event_type(hl.client, "order.filled")
    fields = {"ordering": "fifo", "retry_schedule": LATER, **fields}
    return await api.webhook(hl.client, tenant["id"], receiver.url(path), **fields)


async def send_in_order(hl: Running, tenant_id: str, count: int) -> list[str]:
    """Send `count` events one after another; the ids of their deliveries, in that order."""
    delivery_ids = []
    for n in range(count):
        sent = await api.send(hl.client, "order.filled", {"n": n}, tenant_id)
        [delivery] = await api.deliveries(hl.client, sent["id"])
        assert delivery["ordered"] is True
        delivery_ids.append(delivery["id"])
    return delivery_ids


def numbers(receiver: Receiver, path: str) -> list[int]:
    """The event numbers the receiver got at `path`, in the order the requests arrived."""
    return [orjson.loads(r.body)["data"]["n"] for r in receiver.at(path)]


async def delivery(hl: Running, delivery_id: str) -> dict[str, Any]:
    return api.ok_object(await hl.client.get(f"/api/v1/deliveries/{delivery_id}"))


async def attempted(hl: Running, delivery_id: str, number: int) -> dict[str, Any]:
    """The delivery once attempt `number` of it is recorded."""
    deadline = time.monotonic() + 10
    while (found := await delivery(hl, delivery_id))["attempt_count"] < number:
        assert time.monotonic() < deadline, f"attempt {number} never recorded: {found}"
        await asyncio.sleep(0.02)
    return found


async def all_settled(hl: Running, delivery_ids: list[str]) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 15
    while True:
        found = [await delivery(hl, d) for d in delivery_ids]
        if all(d["status"] != "pending" for d in found):
            return found
        assert time.monotonic() < deadline, f"not settled: {found}"
        await asyncio.sleep(0.05)


async def held(hl: Running, receiver: Receiver, path: str, head: str, behind: list[str]) -> None:
    """The queue is held by `head`: nothing behind it was sent, each waits naming the head.
    The worker claims every 0.05 s at the latest; give it several chances to do wrong."""
    sent_before = len(receiver.at(path))
    await asyncio.sleep(0.4)
    assert len(receiver.at(path)) == sent_before
    for waiting in behind:
        found = await delivery(hl, waiting)
        assert (found["status"], found["attempt_count"], found["blocked_by"]) == (
            "pending",
            0,
            head,
        )


async def test_a_failing_head_holds_the_others_until_it_succeeds_then_all_arrive_in_order(
    hookline: Running, receiver: Receiver
) -> None:
    receiver.script("/fifo", Reply(500), Reply(500), Reply(200))
    hook = await fifo_webhook(hookline, receiver, "/fifo")
    assert (hook["ordering"], hook["fifo_on_failure"]) == ("fifo", "skip")
    ids = await send_in_order(hookline, hook["tenant_id"], 5)
    head, *behind = ids

    for number in (1, 2):
        found = await attempted(hookline, head, number)
        assert (found["status"], found["blocked_by"]) == ("pending", None)  # the head itself
        await held(hookline, receiver, "/fifo", head, behind)
        hookline.advance(31)

    settled = await all_settled(hookline, ids)
    assert [d["status"] for d in settled] == ["succeeded"] * 5
    assert [d["blocked_by"] for d in settled] == [None] * 5
    assert numbers(receiver, "/fifo") == [0, 0, 0, 1, 2, 3, 4]
    assert receiver.peak["/fifo"] == 1


async def test_skip_moves_on_once_the_head_finally_fails(
    hookline: Running, receiver: Receiver
) -> None:
    receiver.script("/skip", Reply(500), Reply(500), Reply(500), Reply(200))
    hook = await fifo_webhook(hookline, receiver, "/skip")
    ids = await send_in_order(hookline, hook["tenant_id"], 4)

    for number in (1, 2):
        await attempted(hookline, ids[0], number)
        await held(hookline, receiver, "/skip", ids[0], ids[1:])
        hookline.advance(31)

    settled = await all_settled(hookline, ids)
    assert [d["status"] for d in settled] == ["failed", "succeeded", "succeeded", "succeeded"]
    assert numbers(receiver, "/skip") == [0, 0, 0, 1, 2, 3]
    assert receiver.peak["/skip"] == 1


@pytest.mark.parametrize("release", ["retry", "cancel"])
async def test_block_stays_stopped_until_the_head_is_retried_or_cancelled(
    hookline: Running, receiver: Receiver, release: str
) -> None:
    receiver.script("/block", Reply(500), Reply(500), Reply(200))
    hook = await fifo_webhook(
        hookline, receiver, "/block", retry_schedule=[30], fifo_on_failure="block"
    )
    ids = await send_in_order(hookline, hook["tenant_id"], 3)
    head, *behind = ids
    await attempted(hookline, head, 1)
    hookline.advance(31)
    failed = await attempted(hookline, head, 2)
    assert failed["status"] == "failed"
    hookline.advance(3600)  # the queue stays stopped however long it waits
    await held(hookline, receiver, "/block", head, behind)
    assert (await hookline.api.webhooks.stats(hook["id"])).pending == 2

    if release == "retry":
        retried = await hookline.api.deliveries.retry(head)
        assert retried.status == "pending"
        expected_statuses, expected_numbers = ["succeeded"] * 3, [0, 0, 0, 1, 2]
    else:
        cancelled = await hookline.api.deliveries.cancel(head, reason="superseded")
        assert cancelled.status == "cancelled"
        assert cancelled.last_error == "cancelled through the API: superseded"
        expected_statuses = ["cancelled", "succeeded", "succeeded"]
        expected_numbers = [0, 0, 1, 2]

    settled = await all_settled(hookline, ids)
    assert [d["status"] for d in settled] == expected_statuses
    assert numbers(receiver, "/block") == expected_numbers
    assert receiver.peak["/block"] == 1


async def test_an_unordered_webhook_of_the_same_tenant_is_not_held_up(
    hookline: Running, receiver: Receiver
) -> None:
    receiver.script("/stuck", Reply(500), Reply(200))
    fifo = await fifo_webhook(hookline, receiver, "/stuck")
    tenant = {"id": fifo["tenant_id"]}
    await api.webhook(hookline.client, tenant["id"], receiver.url("/free"))
    sent = [
        await api.send(hookline.client, "order.filled", {"n": n}, tenant["id"]) for n in range(5)
    ]
    await receiver.wait_for(5, "/free")
    assert sorted(numbers(receiver, "/free")) == [0, 1, 2, 3, 4]
    assert numbers(receiver, "/stuck") == [0]  # the FIFO head waits for its retry

    # Unordered again: what waited goes at once (in no particular order), without the head.
    queued = [d for e in sent for d in await api.deliveries(hookline.client, e["id"])]
    assert {d["ordered"] for d in queued if d["webhook_id"] == fifo["id"]} == {True}
    assert {d["ordered"] for d in queued if d["webhook_id"] != fifo["id"]} == {False}
    updated = await hookline.api.webhooks.update(fifo["id"], ordering=None)
    assert updated.ordering is None
    await receiver.wait_for(5, "/stuck")
    assert sorted(numbers(receiver, "/stuck")) == [0, 1, 2, 3, 4]


async def test_cancel_answers_what_cannot_be_cancelled_and_keeps_to_the_callers_tenant(
    hookline: Running, receiver: Receiver
) -> None:
    receiver.script("/later", Reply(500))
    tenant = await api.tenant(hookline.client)
    other = await api.tenant(hookline.client, "Other")
    await api.event_type(hookline.client, "order.filled")
    done = await api.webhook(hookline.client, tenant["id"], receiver.url("/ok"))
    later = await api.webhook(
        hookline.client, tenant["id"], receiver.url("/later"), retry_schedule=[3600]
    )
    sent = await api.send(hookline.client, "order.filled", {"n": 1}, tenant["id"])
    queued = {d["webhook_id"]: d for d in await api.deliveries(hookline.client, sent["id"])}
    succeeded = await api.delivery_when(hookline.client, queued[done["id"]]["id"], "succeeded")
    pending = await attempted(hookline, queued[later["id"]]["id"], 1)
    own = hookline.client_for((await hookline.api.tenants.create_key(tenant["id"])).key)
    stranger = hookline.client_for((await hookline.api.tenants.create_key(other["id"])).key)
    async with own, stranger:
        await refusals_and_cancel(hookline, receiver, own, stranger, succeeded, pending)


async def refusals_and_cancel(
    hookline: Running,
    receiver: Receiver,
    own: AsyncClient,
    stranger: AsyncClient,
    succeeded: dict[str, Any],
    pending: dict[str, Any],
) -> None:

    async def refused(client: AsyncClient, delivery_id: str) -> HooklineAPIError:
        with pytest.raises(HooklineAPIError) as caught:
            await client.deliveries.cancel(delivery_id)
        return caught.value

    assert (await refused(hookline.api, "dlv_nope")).status == 404
    assert (await refused(stranger, pending["id"])).status == 404  # another tenant's
    conflict = await refused(own, succeeded["id"])
    assert (conflict.status, conflict.detail) == (
        409,
        f"delivery {succeeded['id']!r} already succeeded; nothing to cancel",
    )

    cancelled = await own.deliveries.cancel(pending["id"])
    assert (cancelled.status, cancelled.last_error) == ("cancelled", "cancelled through the API")
    assert cancelled.next_attempt_at is None
    assert cancelled.finished_at is not None
    again = await own.deliveries.cancel(pending["id"], reason="twice")
    assert again == cancelled  # nothing changes
    hookline.advance(3601)
    await asyncio.sleep(0.3)
    assert len(receiver.at("/later")) == 1  # never attempted again
