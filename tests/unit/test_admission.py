"""Admission at claim time (pure): circuit, in-flight cap, fair shares, rate limit."""

from __future__ import annotations

import pytest

from hookline.admission import MIN_PACE, Gate, Plan, Rooms, fair_share, plan, rooms
from hookline.circuit import Breaker, Circuit, State
from hookline.models import Trigger
from hookline.records import Claim

BREAKER = Breaker(threshold=5, recovery=60)
CLOSED = Circuit(State.CLOSED, None)
NOW = 1_000.0
DEADLINE = NOW + 35


def claims(webhook: str, n: int, reserved: bool = False, tenant: str = "ten_a") -> list[Claim]:
    return [
        Claim(
            id=f"{webhook}-{i}",
            event_id=f"evt_{i}",
            webhook_id=webhook,
            tenant_id=tenant,
            event_type="order.filled",
            attempt_count=0,
            trigger=Trigger.SCHEDULED,
            throttled=reserved,
        )
        for i in range(n)
    ]


def run(claimed: list[Claim], gates: dict[str, Gate], fair: Rooms | None = None) -> Plan:
    return plan(claimed, gates, breaker=BREAKER, now=NOW, probe_deadline=DEADLINE, fair=fair)


def test_a_healthy_webhook_admits_everything() -> None:
    result = run(claims("a", 3), {"a": Gate(CLOSED, max_in_flight=10, in_flight=0)})
    assert result.admitted == {"a-0", "a-1", "a-2"}
    assert (result.wait, result.reserve, result.circuits) == ({}, {}, {})


def test_unknown_webhooks_admit_everything() -> None:
    assert run(claims("a", 2), {}).admitted == {"a-0", "a-1"}


def test_an_open_circuit_holds_everything_until_it_may_probe() -> None:
    cooling = Circuit(State.OPEN, NOW + 20)
    result = run(claims("a", 3), {"a": Gate(cooling, max_in_flight=10, in_flight=0)})
    assert result.admitted == set()
    assert result.wait == {"a-0": NOW + 20, "a-1": NOW + 20, "a-2": NOW + 20}


def test_after_recovery_one_probe_goes_and_the_rest_wait_for_its_verdict() -> None:
    ready = Circuit(State.OPEN, NOW - 1)
    result = run(claims("a", 3), {"a": Gate(ready, max_in_flight=10, in_flight=0)})
    assert result.admitted == {"a-0"}
    assert result.wait == {"a-1": DEADLINE, "a-2": DEADLINE}
    assert result.circuits == {"a": Circuit(State.HALF_OPEN, DEADLINE)}


def test_the_in_flight_cap_spreads_the_excess_at_the_receivers_pace() -> None:
    gate = Gate(CLOSED, max_in_flight=2, in_flight=1, pace=0.04)
    result = run(claims("a", 7), {"a": gate})
    assert result.admitted == {"a-0"}
    waits = [round(result.wait[f"a-{i}"] - NOW, 6) for i in range(1, 7)]
    assert waits == [0.04 * k for k in (1, 1, 2, 2, 3, 3)]


def test_a_very_fast_receiver_still_waits_a_little() -> None:
    result = run(claims("a", 2), {"a": Gate(CLOSED, max_in_flight=1, in_flight=1, pace=0.0)})
    assert result.wait == {"a-0": NOW + MIN_PACE, "a-1": NOW + 2 * MIN_PACE}


def test_a_full_webhook_waits_without_holding_up_another() -> None:
    result = run(
        claims("slow", 3) + claims("fast", 3),
        {"slow": Gate(CLOSED, max_in_flight=2, in_flight=2), "fast": Gate(CLOSED, 2, 0)},
    )
    assert result.admitted == {"fast-0", "fast-1"}
    assert set(result.wait) == {"slow-0", "slow-1", "slow-2", "fast-2"}


def test_the_rate_limit_reserves_slots_and_honours_reserved_ones() -> None:
    gate = Gate(CLOSED, max_in_flight=10, in_flight=0, rate_per_minute=60, tat=None)
    result = run(claims("a", 3), {"a": gate})
    assert result.admitted == {"a-0"}
    assert result.reserve == {"a-1": NOW + 1, "a-2": NOW + 2}
    assert result.tats == {"a": NOW + 3}

    later = Gate(CLOSED, max_in_flight=10, in_flight=0, rate_per_minute=60, tat=NOW + 3)
    again = run(claims("a", 2, reserved=True), {"a": later})
    assert again.admitted == {"a-0", "a-1"}  # they hold slots: no new tokens
    assert again.tats == {}


# --- fair shares -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("capacity", "active", "share"),
    [
        (256, 0, 224),  # an eighth is always kept for newcomers
        (256, 1, 224),
        (256, 2, 112),
        (256, 7, 32),
        (256, 300, 1),  # never zero: everyone may have one
        (8, 1, 7),
        (8, 3, 2),
        (1, 1, 1),
        (4, 1, 4),  # an eighth of four slots is none
    ],
)
def test_fair_share_splits_capacity_with_room_for_newcomers(
    capacity: int, active: int, share: int
) -> None:
    assert fair_share(capacity, active) == share


def test_a_lone_busy_tenant_leaves_room_for_a_newcomer() -> None:
    alone = rooms(256, {"wh_slow": ("ten_hog", 224)})
    assert alone.tenants == {"ten_hog": 0}  # its share, and no more
    assert alone.full() == (frozenset({"ten_hog"}), frozenset({"wh_slow"}))
    # A second tenant wants to send: the hog's share halves, the newcomer gets one at once.
    both = rooms(256, {"wh_slow": ("ten_hog", 224)}, [("wh_fast", "ten_new")])
    assert both.tenants == {"ten_hog": 0, "ten_new": 112}
    assert both.webhooks["wh_fast"] == 98  # its share of its tenant's share


def test_a_tenants_share_is_split_among_its_busy_webhooks() -> None:
    fair = rooms(
        256,
        {"wh_a": ("ten_1", 100), "wh_b": ("ten_1", 10)},
        [("wh_c", "ten_1")],
    )
    # One tenant: 224 slots; three webhooks: (224 - 28) // 3 = 65 each.
    assert fair.tenants == {"ten_1": 114}
    assert fair.webhooks == {"wh_a": 0, "wh_b": 55, "wh_c": 65}


def test_rooms_limit_what_is_admitted_per_tenant_and_per_webhook() -> None:
    gates = {w: Gate(CLOSED, max_in_flight=100, in_flight=0) for w in ("a", "b", "c")}
    fair = Rooms(tenants={"ten_1": 3, "ten_2": 5}, webhooks={"a": 2, "b": 5, "c": 5})
    claimed = claims("a", 4, tenant="ten_1") + claims("b", 4, tenant="ten_1")
    claimed += claims("c", 4, tenant="ten_2")
    result = run(claimed, gates, fair)
    # ten_1 may start 3: two on webhook a (its own room), then one on b.
    assert result.admitted == {"a-0", "a-1", "b-0", "c-0", "c-1", "c-2", "c-3"}
    assert set(result.wait) == {"a-2", "a-3", "b-1", "b-2", "b-3"}
    assert all(until > NOW for until in result.wait.values())


def test_rate_limited_deliveries_do_not_use_a_tenants_room() -> None:
    gate = Gate(CLOSED, max_in_flight=10, in_flight=0, rate_per_minute=60, tat=None)
    fair = Rooms(tenants={"ten_a": 2}, webhooks={"a": 5, "b": 5})
    result = run(claims("a", 3) + claims("b", 2), {"a": gate, "b": Gate(CLOSED, 10, 0)}, fair)
    # a: two fit the tenant's room; one goes, one holds a rate-limit slot (using no room);
    # b: the tenant has one more slot.
    assert result.admitted == {"a-0", "b-0"}
    assert set(result.reserve) == {"a-1"}
    assert set(result.wait) == {"a-2", "b-1"}
