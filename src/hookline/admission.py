"""Which claimed deliveries go now, and until when the others wait: the circuit breaker, the
cap on requests in flight per webhook, and the rate limit, applied in that order. Pure.

Deliveries that wait are put back unattempted; nothing is dropped. A delivery deferred by the
rate limit holds a reserved slot (`reserved`), so it is admitted without spending another.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hookline import throttle
from hookline.circuit import Breaker, Circuit

MIN_PACE = 0.005  # seconds: the shortest wait for an in-flight slot
DEFAULT_PACE = 0.05  # seconds a request is assumed to take before one has been seen


@dataclass(frozen=True, slots=True)
class Claimed:
    delivery_id: str
    webhook_id: str
    reserved: bool  # holds a rate-limit slot from an earlier deferral


@dataclass(frozen=True, slots=True)
class Gate:
    """What admission knows about one webhook."""

    circuit: Circuit
    max_in_flight: int
    in_flight: int  # requests already in flight (other claims, other workers)
    rate_per_minute: int | None = None
    tat: float | None = None
    pace: float = DEFAULT_PACE  # seconds a request to this webhook takes, lately


@dataclass(slots=True)
class Plan:
    admitted: set[str] = field(default_factory=set)
    wait: dict[str, float] = field(default_factory=dict)  # delivery id -> until
    reserve: dict[str, float] = field(default_factory=dict)  # ...holding a rate-limit slot
    tats: dict[str, float] = field(default_factory=dict)  # webhook id -> throttle state
    circuits: dict[str, Circuit] = field(default_factory=dict)  # webhook id -> changed circuit


def plan(
    claimed: list[Claimed],
    gates: dict[str, Gate],
    *,
    breaker: Breaker,
    now: float,
    probe_deadline: float,
) -> Plan:
    """`claimed` is in claim order; webhooks missing from `gates` admit everything."""
    result = Plan()
    by_webhook: dict[str, list[Claimed]] = {}
    for item in claimed:
        by_webhook.setdefault(item.webhook_id, []).append(item)
    for webhook_id, items in by_webhook.items():
        gate = gates.get(webhook_id)
        if gate is None:
            result.admitted.update(c.delivery_id for c in items)
        else:
            _admit_one_webhook(result, webhook_id, items, gate, breaker, now, probe_deadline)
    return result


def _admit_one_webhook(
    result: Plan,
    webhook_id: str,
    items: list[Claimed],
    gate: Gate,
    breaker: Breaker,
    now: float,
    probe_deadline: float,
) -> None:
    pace = max(gate.pace, MIN_PACE)
    allowed, circuit = breaker.gate(gate.circuit, now, probe_deadline)
    if circuit != gate.circuit:
        result.circuits[webhook_id] = circuit
    if allowed == 0:
        until = circuit.retry_at if circuit.retry_at is not None else now + pace
        result.wait.update((c.delivery_id, until) for c in items)
        return
    candidates = items if allowed < 0 else items[:allowed]
    for c in items[len(candidates) :]:  # behind a probe: wait for its verdict
        result.wait[c.delivery_id] = probe_deadline

    # Over the in-flight cap: wait about as long as it takes requests ahead to finish.
    room = max(0, gate.max_in_flight - gate.in_flight)
    for position, c in enumerate(candidates[room:]):
        result.wait[c.delivery_id] = now + (position // gate.max_in_flight + 1) * pace
    candidates = candidates[:room]

    if gate.rate_per_minute is None:
        result.admitted.update(c.delivery_id for c in candidates)
        return
    result.admitted.update(c.delivery_id for c in candidates if c.reserved)
    unreserved = [c.delivery_id for c in candidates if not c.reserved]
    if unreserved:
        admission = throttle.admit(gate.rate_per_minute, gate.tat, now, len(unreserved))
        result.admitted.update(unreserved[: admission.admitted])
        result.reserve.update(
            zip(unreserved[admission.admitted :], admission.deferred_until, strict=True)
        )
        result.tats[webhook_id] = admission.tat
