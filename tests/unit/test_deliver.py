from __future__ import annotations

import pytest

from hookline import formats, signing
from hookline.deliver import (
    Finished,
    Job,
    Skipped,
    Target,
    attempt_error,
    attempt_record,
    build_request,
    finish,
    next_state,
    skipped_state,
    tallies,
)
from hookline.models import DeliveryStatus, Trigger
from hookline.records import DeliveryUpdate
from hookline.schedule import Decision, Delivered, Disable, GiveUp, Retry, RetryPolicy
from hookline.transport import Failure, Response

SECRET = signing.generate_secret()
OLD_SECRET = signing.generate_secret()


def job(number: int = 1, webhook: str = "wh_1", keys: tuple[bytes, ...] | None = None) -> Job:
    return Job(
        delivery_id=f"dlv_{webhook}_{number}",
        lease_token="lease_1",
        event_id="evt_1",
        event_type="order.filled",
        payload='{"id":"evt_1","type":"order.filled","data":{"amount":5}}',
        target=Target(
            webhook_id=webhook,
            url="https://example.com/hook",
            keys=keys or (signing.secret_key(SECRET),),
            headers={"X-Customer": "42"},
            format=formats.Spec(),
            context=formats.Context(webhook),
        ),
        number=number,
        trigger=Trigger.SCHEDULED,
        tenant_id="ten_1",
    )


def ok(status: int = 200) -> Response:
    return Response(status_code=status, retry_after=None, body="fine", latency_ms=12)


def test_the_request_is_signed_over_the_exact_body_with_standard_headers() -> None:
    request = build_request(job(), 1_700_000_000)
    assert request.body == job().payload.encode()
    assert request.headers["webhook-id"] == "evt_1"
    assert request.headers["webhook-timestamp"] == "1700000000"
    assert request.headers["x-webhook-event"] == "order.filled"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["X-Customer"] == "42"
    signing.verify(SECRET, request.headers, request.body, now=1_700_000_000)


def test_during_rotation_both_secrets_verify() -> None:
    keys = (signing.secret_key(SECRET), signing.secret_key(OLD_SECRET))
    request = build_request(job(keys=keys), 1000)
    signing.verify(SECRET, request.headers, request.body, now=1000)
    signing.verify(OLD_SECRET, request.headers, request.body, now=1000)


def test_errors_are_described_per_outcome() -> None:
    assert attempt_error(ok(204)) is None
    assert attempt_error(ok(500)) == "HTTP 500"
    assert "redirects are not followed" in (attempt_error(ok(302)) or "")
    assert attempt_error(Failure("timeout: no complete response within 2 s", 2000)) == (
        "timeout: no complete response within 2 s"
    )


def finished(
    decision: Decision,
    result: Response | Failure | None = None,
    number: int = 1,
    webhook: str = "wh_1",
    ended: float = 100.0,
) -> Finished:
    return Finished(job(number, webhook), ended - 1, ended, result or ok(), decision)


def test_the_next_state_follows_the_decision() -> None:
    assert next_state(finished(Delivered())).status == DeliveryStatus.SUCCEEDED
    retry = next_state(finished(Retry(at=160.0), ok(500)))
    assert (retry.status, retry.next_attempt_at, retry.finished_at) == ("pending", 160.0, None)
    gave_up = next_state(finished(GiveUp("no success after 3 attempts"), ok(500), number=3))
    assert gave_up.status == DeliveryStatus.FAILED
    assert gave_up.last_error == "no success after 3 attempts; last error: HTTP 500"
    assert gave_up.attempt_count == 3
    gone = next_state(finished(Disable("410 Gone"), ok(410)))
    assert (gone.status, gone.last_status_code) == ("failed", 410)
    assert gone.token == "lease_1"


def test_a_skipped_delivery_is_cancelled_with_its_reason() -> None:
    assert skipped_state(Skipped("dlv_1", "lease_1", "event no longer stored"), 50.0) == (
        DeliveryUpdate(
            id="dlv_1",
            token="lease_1",
            status=DeliveryStatus.CANCELLED,
            attempt_count=0,
            next_attempt_at=None,
            last_status_code=None,
            last_error="event no longer stored",
            finished_at=50.0,
        )
    )


def test_the_attempt_record_keeps_what_the_receiver_said() -> None:
    answered = attempt_record(finished(Retry(1), ok(503), number=2))
    assert (answered.delivery_id, answered.webhook_id, answered.number) == ("dlv_wh_1_2", "wh_1", 2)
    assert (answered.status_code, answered.response_body, answered.error) == (
        503,
        "fine",
        "HTTP 503",
    )
    assert (answered.trigger, answered.created_at) == (Trigger.SCHEDULED, 99.0)
    silent = attempt_record(finished(Retry(1), Failure("connection refused", 3)))
    assert (silent.status_code, silent.response_body, silent.latency_ms) == (None, "", 3)


def test_tallies_count_per_webhook_and_restart_the_streak_after_a_success() -> None:
    found = {
        t.webhook_id: t
        for t in tallies(
            [
                finished(Retry(1), ok(500), webhook="wh_a", ended=1.0),
                finished(Delivered(), webhook="wh_a", ended=2.0),
                finished(Retry(1), ok(500), webhook="wh_a", ended=3.0),
                finished(Retry(1), ok(503), webhook="wh_a", ended=4.0),
                finished(Retry(1), ok(500), webhook="wh_b", ended=5.0),
            ]
        )
    }
    a, b = found["wh_a"], found["wh_b"]
    assert (a.successes, a.failures) == (1, 3)
    assert (a.reset, a.streak, a.failing_since) == (True, 2, 3.0)
    assert (a.last_at, a.last_success_at, a.last_failure_at) == (4.0, 2.0, 4.0)
    assert (b.reset, b.streak, b.failing_since) == (False, 1, 5.0)


@pytest.mark.parametrize(
    ("status", "header", "body", "due"),
    [
        (429, None, '{"retry_after": 42.5, "global": false}', 1_000 + 42.5),  # Discord
        (429, None, '{"ok": false, "parameters": {"retry_after": 30}}', 1_000 + 30),  # Telegram
        (429, "7", '{"retry_after": 42.5}', 1_000 + 7),  # the header wins
        (503, None, '{"retry_after": 42.5}', 1_000 + 5),  # only a 429's body is read
        (429, None, "slow down", 1_000 + 5),  # no wait given: the schedule's
    ],
)
def test_a_429_body_sets_the_wait_when_no_retry_after_header_does(
    status: int, header: str | None, body: str, due: float
) -> None:
    answer = Response(status_code=status, retry_after=header, body=body, latency_ms=3)
    done = finish(
        job(), answer, RetryPolicy(schedule=(5.0,), jitter=0.0), started=999, ended=1_000, rand=0.5
    )
    assert done.decision == Retry(at=due)
