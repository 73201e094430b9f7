from hookline import signing
from hookline.deliver import (
    Finished,
    Job,
    Target,
    attempt_error,
    build_request,
    finish_row,
    tallies,
)
from hookline.models import Trigger
from hookline.schedule import Delivered, Disable, GiveUp, Retry
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
            format="standard",
        ),
        number=number,
        trigger=Trigger.SCHEDULED,
    )


def ok(status: int = 200) -> Response:
    return Response(status_code=status, retry_after=None, body="fine", latency_ms=12)


def test_the_request_is_signed_over_the_exact_body_with_standard_headers() -> None:
    request = build_request(job(), timestamp=1_700_000_000)
    assert request.body == job().payload.encode()
    assert request.headers["webhook-id"] == "evt_1"
    assert request.headers["webhook-timestamp"] == "1700000000"
    assert request.headers["x-webhook-event"] == "order.filled"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["X-Customer"] == "42"
    signing.verify(SECRET, request.headers, request.body, now=1_700_000_000)


def test_during_rotation_both_secrets_verify() -> None:
    keys = (signing.secret_key(SECRET), signing.secret_key(OLD_SECRET))
    request = build_request(job(keys=keys), timestamp=1000)
    signing.verify(SECRET, request.headers, request.body, now=1000)
    signing.verify(OLD_SECRET, request.headers, request.body, now=1000)


def test_errors_are_described_per_outcome() -> None:
    assert attempt_error(ok(204)) is None
    assert attempt_error(ok(500)) == "HTTP 500"
    assert "redirects are not followed" in (attempt_error(ok(302)) or "")
    assert attempt_error(Failure("timeout: no complete response within 2 s", 2000)) == (
        "timeout: no complete response within 2 s"
    )


def finished(decision, result=None, number=1, webhook="wh_1", ended=100.0) -> Finished:  # type: ignore[no-untyped-def]
    return Finished(job(number, webhook), ended - 1, ended, result or ok(), decision)


def test_finish_rows_follow_the_decision() -> None:
    assert finish_row(finished(Delivered()))["b_status"] == "succeeded"
    retry = finish_row(finished(Retry(at=160.0), ok(500)))
    assert (retry["b_status"], retry["b_next"], retry["b_finished"]) == ("pending", 160.0, None)
    gave_up = finish_row(finished(GiveUp("no success after 3 attempts"), ok(500), number=3))
    assert gave_up["b_status"] == "failed"
    assert gave_up["b_error"] == "no success after 3 attempts; last error: HTTP 500"
    assert gave_up["b_attempts"] == 3
    gone = finish_row(finished(Disable("410 Gone"), ok(410)))
    assert (gone["b_status"], gone["b_code"]) == ("failed", 410)


def test_tallies_count_per_webhook_and_restart_the_streak_after_a_success() -> None:
    rows = {
        r["b_id"]: r
        for r in tallies(
            [
                finished(Retry(1), ok(500), webhook="wh_a", ended=1.0),
                finished(Delivered(), webhook="wh_a", ended=2.0),
                finished(Retry(1), ok(500), webhook="wh_a", ended=3.0),
                finished(Retry(1), ok(503), webhook="wh_a", ended=4.0),
                finished(Retry(1), ok(500), webhook="wh_b", ended=5.0),
            ]
        )
    }
    a, b = rows["wh_a"], rows["wh_b"]
    assert (a["b_successes"], a["b_failures"]) == (1, 3)
    assert (a["b_reset"], a["b_streak"], a["b_since"]) == (True, 2, 3.0)
    assert (a["b_last"], a["b_last_success"], a["b_last_failure"]) == (4.0, 2.0, 4.0)
    assert (b["b_reset"], b["b_streak"], b["b_since"]) == (False, 1, 5.0)
