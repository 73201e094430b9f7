"""Which claimed deliveries go now, and until when the others wait. Pure.

Applied per webhook, in this order: the circuit breaker, the cap on requests in flight (the
webhook's `max_in_flight`, never above HOOKLINE_MAX_IN_FLIGHT_CEILING, counted across workers),
this worker's fair share of its slots (`rooms`), and the rate limit.

Fair shares: a worker's slots are shared equally among the tenants that use them, and a tenant's
share equally among its busy webhooks, an eighth of each kept free for whoever has nothing in
flight yet. A tenant with thousands of deliveries for a receiver that takes 10 s holds its share
and no more, so another tenant's delivery to a fast receiver finds a slot at once.

Deliveries that wait are put back unattempted; nothing is dropped. A delivery deferred by the
rate limit holds a reserved slot (`reserved`), so it is admitted without spending another.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from hookline import throttle
from hookline.circuit import Breaker, Circuit
from hookline.records import Claim

MIN_PACE = 0.005  # seconds: the shortest wait for an in-flight slot
DEFAULT_PACE = 0.05  # seconds a request is assumed to take before one has been seen


def fair_share(capacity: int, active: int) -> int:
    """Each of `active` users' share of `capacity` slots, with an eighth of them kept free for
    newcomers; at least one."""
    usable = capacity - capacity // 8
    return max(1, usable // max(1, active))


@dataclass(frozen=True, slots=True)
class Rooms:
    """How many more requests each tenant and each webhook may start in this worker now."""

    tenants: dict[str, int] = field(default_factory=dict)
    webhooks: dict[str, int] = field(default_factory=dict)

    def full(self) -> tuple[frozenset[str], frozenset[str]]:
        """The tenants and webhooks with no room: a claim passes over their deliveries."""
        return (
            frozenset(t for t, room in self.tenants.items() if room <= 0),
            frozenset(w for w, room in self.webhooks.items() if room <= 0),
        )


def rooms(
    concurrency: int,
    busy: Mapping[str, tuple[str, int]],
    wanting: Iterable[tuple[str, str]] = (),
) -> Rooms:
    """Fair rooms for a worker of `concurrency` slots. `busy` maps each webhook with requests in
    flight in this worker to (its tenant, how many); `wanting` lists (webhook, tenant) pairs that
    have deliveries waiting to start. Both count as active."""
    load: Counter[str] = Counter()
    webhooks_of: dict[str, set[str]] = {}
    for webhook, (tenant, count) in busy.items():
        if count > 0:
            load[tenant] += count
            webhooks_of.setdefault(tenant, set()).add(webhook)
    for webhook, tenant in wanting:
        webhooks_of.setdefault(tenant, set()).add(webhook)
    tenant_share = fair_share(concurrency, len(webhooks_of))
    result = Rooms()
    for tenant, webhooks in webhooks_of.items():
        result.tenants[tenant] = max(0, tenant_share - load[tenant])
        webhook_share = fair_share(tenant_share, len(webhooks))
        for webhook in webhooks:
            in_flight = busy[webhook][1] if webhook in busy else 0
            result.webhooks[webhook] = max(0, webhook_share - in_flight)
    return result


@dataclass(frozen=True, slots=True)
class Gate:
    """What admission knows about one webhook."""

    circuit: Circuit
    max_in_flight: int  # across every worker, the ceiling applied
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
    claimed: list[Claim],
    gates: dict[str, Gate],
    *,
    breaker: Breaker,
    now: float,
    probe_deadline: float,
    fair: Rooms | None = None,
) -> Plan:
    """`claimed` is in claim order; webhooks missing from `gates` admit everything, and tenants
    and webhooks missing from `fair` have unlimited room."""
    result = Plan()
    fair = fair or Rooms()
    tenant_room = dict(fair.tenants)
    by_webhook: dict[str, list[Claim]] = {}
    for item in claimed:
        by_webhook.setdefault(item.webhook_id, []).append(item)
    for webhook_id, items in by_webhook.items():
        gate = gates.get(webhook_id)
        if gate is None:
            result.admitted.update(c.id for c in items)
            continue
        tenant = items[0].tenant_id
        room = min(fair.webhooks.get(webhook_id, len(items)), tenant_room.get(tenant, len(items)))
        admitted = _admit_one_webhook(
            result, webhook_id, items, gate, room, breaker, now, probe_deadline
        )
        if tenant in tenant_room:
            tenant_room[tenant] -= admitted
    return result


def _admit_one_webhook(
    result: Plan,
    webhook_id: str,
    items: list[Claim],
    gate: Gate,
    fair_room: int,
    breaker: Breaker,
    now: float,
    probe_deadline: float,
) -> int:
    """Admit what may go of one webhook's claimed deliveries; returns how many went."""
    pace = max(gate.pace, MIN_PACE)
    allowed, circuit = breaker.gate(gate.circuit, now, probe_deadline)
    if circuit != gate.circuit:
        result.circuits[webhook_id] = circuit
    if allowed == 0:
        until = circuit.retry_at if circuit.retry_at is not None else now + pace
        result.wait.update((c.id, until) for c in items)
        return 0
    candidates = items if allowed < 0 else items[:allowed]
    for c in items[len(candidates) :]:  # behind a probe: wait for its verdict
        result.wait[c.id] = probe_deadline

    # Over the in-flight cap or this worker's fair share: wait about as long as it takes
    # requests ahead to finish.
    room = min(max(0, gate.max_in_flight - gate.in_flight), max(0, fair_room))
    for position, c in enumerate(candidates[room:]):
        result.wait[c.id] = now + (position // gate.max_in_flight + 1) * pace
    candidates = candidates[:room]

    if gate.rate_per_minute is None:
        result.admitted.update(c.id for c in candidates)
        return len(candidates)
    going = [c.id for c in candidates if c.throttled]
    unreserved = [c.id for c in candidates if not c.throttled]
    if unreserved:
        admission = throttle.admit(gate.rate_per_minute, gate.tat, now, len(unreserved))
        going += unreserved[: admission.admitted]
        result.reserve.update(
            zip(unreserved[admission.admitted :], admission.deferred_until, strict=True)
        )
        result.tats[webhook_id] = admission.tat
    result.admitted.update(going)
    return len(going)
