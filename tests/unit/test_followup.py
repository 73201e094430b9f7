"""What follows a batch of attempts (pure): circuit moves, disables, and the operator's notices,
at most one per webhook and kind of change an hour."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from hookline import formats, notices
from hookline.circuit import Breaker, Circuit, State
from hookline.deliver import Finished, Job, Target
from hookline.followup import NOTICE_INTERVAL, Rules, plan
from hookline.models import Trigger
from hookline.records import WebhookHealth
from hookline.schedule import Decision, Delivered, Disable, GiveUp, Retry
from hookline.transport import Failure, Response

NOW = 10_000.0
RULES = Rules(breaker=Breaker(threshold=3, recovery=60), disable_after=5, disable_span=600)
CLOSED = Circuit(State.CLOSED, None)
OPEN = Circuit(State.OPEN, NOW - 1)
HALF_OPEN = Circuit(State.HALF_OPEN, NOW + 30)


def health(**changes: Any) -> WebhookHealth:
    base = WebhookHealth(
        id="wh_1",
        tenant_id="ten_1",
        url="https://example.com/hook",
        is_active=True,
        consecutive_failures=0,
        failing_since=None,
        circuit=CLOSED,
    )
    return replace(base, **changes)


def attempt(
    decision: Decision,
    *,
    status: int | None = 500,
    trigger: Trigger = Trigger.SCHEDULED,
    ended: float = NOW,
    number: int = 1,
) -> Finished:
    job = Job(
        delivery_id=f"dlv_{ended}",
        lease_token="lease",
        event_id="evt_1",
        event_type="order.filled",
        payload="{}",
        target=Target(
            "wh_1",
            "https://example.com/hook",
            (b"k" * 32,),
            {},
            formats.Spec(),
            formats.Context("wh_1"),
        ),
        number=number,
        trigger=trigger,
        tenant_id="ten_1",
    )
    result: Response | Failure = (
        Response(status, None, "", 5) if status is not None else Failure("refused", 5)
    )
    return Finished(job, ended - 0.1, ended, result, decision)


def kinds(result_notices: list[tuple[str, dict[str, object]]]) -> list[str]:
    return [kind for kind, _ in result_notices]


@pytest.mark.parametrize(
    ("before", "streak", "last", "after"),
    [
        (CLOSED, 1, Retry(NOW + 5), CLOSED),  # below the threshold
        (CLOSED, 3, Retry(NOW + 5), Circuit(State.OPEN, NOW + 60)),  # at it: opens
        (HALF_OPEN, 4, Retry(NOW + 5), Circuit(State.OPEN, NOW + 60)),  # the probe failed
        (HALF_OPEN, 0, Delivered(), CLOSED),  # the probe succeeded
        (OPEN, 0, Delivered(), CLOSED),
    ],
)
def test_the_circuit_follows_the_last_attempt(
    before: Circuit, streak: int, last: Decision, after: Circuit
) -> None:
    status = 200 if isinstance(last, Delivered) else 500
    result = plan(
        [health(circuit=before, consecutive_failures=streak)],
        [attempt(last, status=status)],
        RULES,
        operator=None,
        now=NOW,
    )
    assert result.circuits.get("wh_1", before) == after
    assert ("wh_1" in result.hold) == (after.state == State.OPEN and before != after)
    assert ("wh_1" in result.release) == (before.state != State.CLOSED and after == CLOSED)


@pytest.mark.parametrize(
    ("last_notice", "told"),
    [
        (None, True),  # never told
        (NOW - NOTICE_INTERVAL - 1, True),  # over an hour ago
        (NOW - NOTICE_INTERVAL + 1, False),  # within the hour: quiet
        (NOW - 5, False),
    ],
)
def test_a_recovery_is_told_once_an_hour_at_most(last_notice: float | None, told: bool) -> None:
    result = plan(
        [health(circuit=HALF_OPEN, recovered_notice_at=last_notice)],
        [attempt(Delivered(), status=200)],
        RULES,
        operator=None,
        now=NOW,
    )
    assert result.release == {"wh_1"}  # the queue goes either way
    assert kinds(result.notices) == (["webhook.recovered"] if told else [])
    assert result.noticed_recovered == ({"wh_1"} if told else set())


@pytest.mark.parametrize(
    ("last_notice", "told"),
    [(None, True), (NOW - NOTICE_INTERVAL - 1, True), (NOW - 60, False)],
)
def test_a_disable_is_told_once_an_hour_at_most(last_notice: float | None, told: bool) -> None:
    result = plan(
        [health(disabled_notice_at=last_notice)],
        [attempt(Disable("410 Gone"), status=410)],
        RULES,
        operator=None,
        now=NOW,
    )
    assert result.disable == {"wh_1": "410 Gone"}  # disabled either way
    assert kinds(result.notices) == (["webhook.disabled"] if told else [])
    assert result.noticed_disabled == ({"wh_1"} if told else set())


@pytest.mark.parametrize(
    ("streak", "since", "disabled"),
    [
        (5, NOW - 601, True),  # enough failures over long enough
        (5, NOW - 10, False),  # a short blip never disables
        (4, NOW - 9999, False),  # not enough failures
    ],
)
def test_auto_disable_needs_failures_over_a_span(streak: int, since: float, disabled: bool) -> None:
    result = plan(
        [health(consecutive_failures=streak, failing_since=since)],
        [attempt(Retry(NOW + 5))],
        RULES,
        operator=None,
        now=NOW,
    )
    assert ("wh_1" in result.disable) == disabled


def test_an_exhausted_scheduled_delivery_is_told_but_a_manual_one_is_not() -> None:
    given_up = GiveUp("no success after 8 attempts")
    result = plan(
        [health()],
        [
            attempt(given_up, number=8, ended=NOW - 1),
            attempt(given_up, trigger=Trigger.MANUAL, ended=NOW),
        ],
        RULES,
        operator=None,
        now=NOW,
    )
    [(kind, data)] = result.notices
    assert kind == notices.DELIVERY_EXHAUSTED
    assert (data["attempts"], data["last_status_code"]) == (8, 500)


def test_the_operators_own_webhooks_raise_no_notices_and_are_never_auto_disabled() -> None:
    result = plan(
        [health(tenant_id="ten_operator", consecutive_failures=50, failing_since=0.0)],
        [attempt(GiveUp("no success after 8 attempts"), number=8)],
        RULES,
        operator="ten_operator",
        now=NOW,
    )
    assert (result.notices, result.disable) == ([], {})


def test_webhooks_without_attempts_in_the_batch_are_left_alone() -> None:
    result = plan(
        [health(id="wh_other", consecutive_failures=99, failing_since=0.0)],
        [attempt(Retry(NOW + 5))],
        RULES,
        operator=None,
        now=NOW,
    )
    assert (result.circuits, result.disable, result.notices) == ({}, {}, [])
