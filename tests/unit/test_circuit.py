import pytest

from hookline.circuit import Breaker, Circuit, State, disable_reason

BREAKER = Breaker(threshold=5, recovery=60)
CLOSED = Circuit(State.CLOSED, None)
NOW = 1_000.0


@pytest.mark.parametrize(
    ("before", "streak", "succeeded", "after"),
    [
        (CLOSED, 4, False, CLOSED),
        (CLOSED, 5, False, Circuit(State.OPEN, NOW + 60)),
        (CLOSED, 9, False, Circuit(State.OPEN, NOW + 60)),
        (CLOSED, 0, True, CLOSED),
        (
            Circuit(State.HALF_OPEN, NOW + 30),
            6,
            False,
            Circuit(State.OPEN, NOW + 60),
        ),  # probe failed
        (Circuit(State.HALF_OPEN, NOW + 30), 0, True, CLOSED),  # probe succeeded
        (
            Circuit(State.OPEN, NOW + 10),
            7,
            False,
            Circuit(State.OPEN, NOW + 60),
        ),  # a straggler failed
        (Circuit(State.OPEN, NOW + 10), 0, True, CLOSED),  # a straggler succeeded
    ],
)
def test_transitions_after_attempts(
    before: Circuit, streak: int, succeeded: bool, after: Circuit
) -> None:
    assert BREAKER.after_attempts(before, streak=streak, last_succeeded=succeeded, now=NOW) == after


@pytest.mark.parametrize(
    ("circuit", "allowed", "after"),
    [
        (CLOSED, -1, CLOSED),
        (Circuit(State.OPEN, NOW + 5), 0, Circuit(State.OPEN, NOW + 5)),  # cooling down
        (Circuit(State.OPEN, NOW - 1), 1, Circuit(State.HALF_OPEN, NOW + 35)),  # one probe
        (
            Circuit(State.HALF_OPEN, NOW + 5),
            0,
            Circuit(State.HALF_OPEN, NOW + 5),
        ),  # probe in flight
        (Circuit(State.HALF_OPEN, NOW - 1), 1, Circuit(State.HALF_OPEN, NOW + 35)),  # probe lost
    ],
)
def test_the_gate_lets_everything_nothing_or_one_probe(
    circuit: Circuit, allowed: int, after: Circuit
) -> None:
    assert BREAKER.gate(circuit, NOW, probe_deadline=NOW + 35) == (allowed, after)


@pytest.mark.parametrize(
    ("streak", "since", "disabled"),
    [
        (9, NOW - 7200, False),  # not enough failures
        (10, NOW - 3599, False),  # a blip: not long enough
        (10, NOW - 3600, True),
        (50, NOW - 86_400, True),
        (10, None, False),
    ],
)
def test_disable_needs_enough_failures_over_enough_time(
    streak: int, since: float | None, disabled: bool
) -> None:
    reason = disable_reason(
        streak=streak, failing_since=since, now=NOW, disable_after=10, disable_span=3600
    )
    assert (reason is not None) == disabled
    if reason:
        assert reason.startswith(f"{streak} consecutive failed attempts over ")
