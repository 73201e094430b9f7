"""The circuit breaker and auto-disable rules, as pure functions of a webhook's health.

After `threshold` consecutive failures the circuit opens: the webhook's deliveries wait, using
no attempts, until `recovery` seconds have passed; then one delivery goes as a probe (half-open).
The probe's success closes the circuit (the webhook has recovered); its failure opens it again.

Separately, a webhook whose failures go on long enough is disabled: `disable_after` consecutive
failed attempts spanning at least `disable_span` seconds, so a short blip never disables.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class State(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True, slots=True)
class Circuit:
    state: State
    retry_at: float | None  # open: when a probe may go; half-open: when the probe is overdue


@dataclass(frozen=True, slots=True)
class Breaker:
    threshold: int
    recovery: float

    def after_attempts(
        self, circuit: Circuit, *, streak: int, last_succeeded: bool, now: float
    ) -> Circuit:
        """The circuit once a batch of attempts is recorded: `streak` is the webhook's
        consecutive failures after it, `last_succeeded` how its latest attempt ended."""
        if last_succeeded:
            return Circuit(State.CLOSED, None)
        if circuit.state != State.CLOSED or streak >= self.threshold:
            return Circuit(State.OPEN, now + self.recovery)
        return circuit

    def gate(self, circuit: Circuit, now: float, probe_deadline: float) -> tuple[int, Circuit]:
        """How many deliveries may go now (0, 1 as a probe, or all as -1), and the circuit
        after letting them."""
        if circuit.state == State.CLOSED:
            return -1, circuit
        if circuit.retry_at is not None and now < circuit.retry_at:
            return 0, circuit  # open and cooling down, or a probe is in flight
        return 1, Circuit(State.HALF_OPEN, probe_deadline)


def disable_reason(
    *, streak: int, failing_since: float | None, now: float, disable_after: int, disable_span: float
) -> str | None:
    """Why a webhook should be disabled now, or None."""
    if streak < disable_after or failing_since is None or now - failing_since < disable_span:
        return None
    return (
        f"{streak} consecutive failed attempts over {_duration(now - failing_since)} "
        f"(HOOKLINE_DISABLE_AFTER_FAILURES={disable_after}, "
        f"HOOKLINE_DISABLE_AFTER_SECONDS={disable_span:g})"
    )


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {secs} s"
    return f"{secs} s"
