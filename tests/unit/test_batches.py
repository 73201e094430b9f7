"""Batches, the pure parts: a batch's one body in each format (within each chat service's
limits), its signed request, what each member records, how claims of a batch webhook are led,
and the rules checked when a webhook is saved."""

from __future__ import annotations

import time
from typing import Any

import orjson
import pytest
import standardwebhooks

from hookline import batches, formats, signing
from hookline.deliver import (
    Finished,
    Job,
    Member,
    Target,
    attempt_records,
    build_request,
    next_states,
)
from hookline.errors import InvalidInput
from hookline.formats import chat
from hookline.models import DeliveryStatus, Trigger
from hookline.records import Claim
from hookline.schedule import Delivered, GiveUp, Retry
from hookline.transport import Response
from hookline.worker import leaders

SECRET = signing.generate_secret()


def envelope(n: int, event_type: str = "order.filled", **data: Any) -> str:
    document = {
        "id": f"evt_{n}",
        "type": event_type,
        "timestamp": "2026-12-02T10:00:00.000Z",
        "data": data or {"order": n, "note": "x" * 3000},
    }
    return orjson.dumps(document).decode()


def member(n: int, number: int = 1, event_type: str = "order.filled") -> Member:
    return Member(
        f"dlv_{n}", f"evt_{n}", event_type, envelope(n, event_type), number, Trigger.SCHEDULED
    )


def batch_job(*members: Member, spec: formats.Spec | None = None) -> Job:
    first = members[0]
    return Job(
        delivery_id=first.delivery_id,
        lease_token="lease_1",
        event_id=first.event_id,
        event_type=first.event_type,
        payload=first.payload,
        target=Target(
            webhook_id="wh_1",
            url="https://example.com/hook",
            keys=(signing.secret_key(SECRET),),
            headers={},
            format=spec or formats.Spec(),
            context=formats.Context("wh_1"),
        ),
        number=max(m.number for m in members),
        trigger=Trigger.SCHEDULED,
        tenant_id="ten_1",
        batch_id="bat_1",
        members=members,
    )


def test_a_batch_is_one_array_of_the_envelopes_signed_once_under_its_id() -> None:
    job = batch_job(member(1), member(2, event_type="balance.updated"), member(3))
    request = build_request(job, time.time())
    assert request.body == ("[" + ",".join(m.payload for m in job.members) + "]").encode()
    assert request.headers["webhook-id"] == "bat_1"
    assert request.headers["x-webhook-event"] == "order.filled,balance.updated"
    standardwebhooks.Webhook(SECRET).verify(request.body, request.headers)
    document = orjson.loads(request.body)
    assert [e["id"] for e in document] == ["evt_1", "evt_2", "evt_3"]


def test_data_and_template_batches_are_arrays_of_what_each_event_would_be() -> None:
    payloads = [envelope(1, amount=5), envelope(2, amount=7)]
    context = formats.Context("wh_1")
    data = formats.render_batch(formats.Spec("data"), payloads, context)
    assert orjson.loads(data) == [{"amount": 5}, {"amount": 7}]
    spec = formats.Spec("template", '{"n": {{ data.amount }}, "id": {{ event.id | tojson }}}')
    assert orjson.loads(formats.render_batch(spec, payloads, context)) == [
        {"n": 5, "id": "evt_1"},
        {"n": 7, "id": "evt_2"},
    ]
    broken = formats.Spec("template", '{"n": {{ data.amount.missing.deeper }}}')
    with pytest.raises(formats.FormatError, match="event evt_1"):
        formats.render_batch(broken, payloads, context)


def test_discord_batches_are_one_message_of_embeds_within_6000_characters() -> None:
    events = [chat.Event(f"evt_{n}", "order.filled", "", {"note": "y" * 5000}) for n in range(10)]
    body = chat.discord_many(events, {"username": "Fills"})
    assert body["username"] == "Fills"
    assert len(body["embeds"]) == 10

    def size(embed: dict[str, Any]) -> int:
        fields = sum(len(f["name"]) + len(f["value"]) for f in embed["fields"])
        return len(embed["title"]) + len(embed.get("description", "")) + fields

    assert sum(size(e) for e in body["embeds"]) <= chat.DISCORD_TOTAL
    with pytest.raises(ValueError, match="at most 10 embeds"):
        chat.discord_many([*events, events[0]], {})


@pytest.mark.parametrize("count", [1, 3, 7, 40])
def test_slack_batches_stay_within_50_blocks(count: int) -> None:
    events = [
        chat.Event(f"evt_{n}", "order.filled", "", {f"k{i}": i for i in range(30)})
        for n in range(count)
    ]
    body = chat.slack_many(events, {})
    assert len(body["blocks"]) <= chat.SLACK_BLOCKS
    assert len(body["text"]) <= chat.SLACK_FALLBACK
    texts = orjson.dumps(body["blocks"]).decode()
    if count == 40:
        assert "and 16 more events" in texts
    else:
        assert texts.count("order.filled") >= count


@pytest.mark.parametrize("count", [1, 2, 10, 200])
def test_telegram_batches_are_one_text_within_4096_characters(count: int) -> None:
    events = [chat.Event(f"evt_{n}", "order.filled", "", {"note": "z" * 900}) for n in range(count)]
    body = chat.telegram_many(events, {"chat_id": 42})
    visible = body["text"]
    for tag in ("<b>", "</b>", "<i>", "</i>"):
        visible = visible.replace(tag, "")
    assert len(visible) <= chat.TELEGRAM_TEXT
    assert visible.count("order.filled") == min(count, 62)
    if count == 200:
        assert visible.endswith("… and 138 more events")


def finished(job: Job, decision: Any, status: int = 500) -> Finished:
    result = Response(status_code=status, retry_after=None, body="no", latency_ms=40)
    return Finished(job, 100.0, 100.04, result, decision)


def test_every_member_logs_the_attempt_and_waits_for_its_leader() -> None:
    job = batch_job(member(1, number=2), member(2, number=2), member(3, number=1))
    records = attempt_records(finished(job, Retry(at=160.0)))
    assert [(a.delivery_id, a.number, a.status_code, a.latency_ms) for a in records] == [
        ("dlv_1", 2, 500, 40),
        ("dlv_2", 2, 500, 40),
        ("dlv_3", 1, 500, 40),
    ]
    states = next_states(finished(job, Retry(at=160.0)))
    assert [(s.id, s.status, s.next_attempt_at) for s in states] == [
        ("dlv_1", DeliveryStatus.PENDING, 160.0),  # the leader carries the batch's time
        ("dlv_2", DeliveryStatus.PENDING, None),
        ("dlv_3", DeliveryStatus.PENDING, None),
    ]
    done = next_states(finished(job, Delivered(), status=200))
    assert {(s.status, s.next_attempt_at, s.finished_at) for s in done} == {
        (DeliveryStatus.SUCCEEDED, None, 100.04)
    }
    failed = next_states(finished(job, GiveUp("no success after 3 attempts")))
    assert {s.status for s in failed} == {DeliveryStatus.FAILED}
    assert [s.attempt_count for s in failed] == [2, 2, 1]


def claim(n: int, webhook: str, batch_id: str | None = None) -> Claim:
    return Claim(
        id=f"dlv_{n}",
        event_id=f"evt_{n}",
        webhook_id=webhook,
        tenant_id="ten_1",
        event_type="order.filled",
        attempt_count=0,
        trigger=Trigger.SCHEDULED,
        throttled=False,
        batch_id=batch_id,
    )


def test_a_batch_webhooks_claims_are_one_request_per_batch() -> None:
    claims = [
        claim(1, "wh_plain"),
        claim(2, "wh_batch"),
        claim(3, "wh_plain"),
        claim(4, "wh_batch"),
        claim(5, "wh_batch", "bat_a"),
        claim(6, "wh_batch", "bat_a"),
        claim(7, "wh_gone", "bat_b"),  # its webhook stopped batching: the batch still goes whole
        claim(8, "wh_gone", "bat_b"),
    ]
    kept, followers = leaders(claims, {"wh_batch": object()})
    assert [c.id for c in kept] == ["dlv_1", "dlv_2", "dlv_3", "dlv_5", "dlv_7"]
    assert {k: [c.id for c in v] for k, v in followers.items()} == {
        "dlv_2": ["dlv_4"],
        "dlv_5": ["dlv_6"],
        "dlv_7": ["dlv_8"],
    }


@pytest.mark.parametrize(
    ("batch", "ordering", "format_name", "url", "loc"),
    [
        ({"max_events": 5}, "fifo", "standard", "https://x.example/h", ("batch",)),
        ({"max_events": 11}, None, "discord", "https://x.example/h", ("batch", "max_events")),
    ],
)
def test_what_cannot_batch_is_refused_at_save(
    batch: dict[str, int], ordering: str | None, format_name: str, url: str, loc: tuple[str, ...]
) -> None:
    with pytest.raises(InvalidInput) as refused:
        batches.check(batch, ordering=ordering, format_name=format_name, url=url)
    assert refused.value.loc == loc


def test_what_can_batch_passes() -> None:
    batches.check({"max_events": 10}, ordering=None, format_name="discord", url="https://x/h")
    batches.check(None, ordering="fifo", format_name="standard", url="https://x/h")
    batches.check({"max_events": 50}, ordering=None, format_name="email", url="mailto:a@b.c")
