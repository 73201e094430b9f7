from hookline.admission import MIN_PACE, Claimed, Gate, plan
from hookline.circuit import Breaker, Circuit, State

BREAKER = Breaker(threshold=5, recovery=60)
CLOSED = Circuit(State.CLOSED, None)
NOW = 1_000.0
DEADLINE = NOW + 35


def claims(webhook: str, n: int, reserved: bool = False) -> list[Claimed]:
    return [Claimed(f"{webhook}-{i}", webhook, reserved) for i in range(n)]


def run(claimed: list[Claimed], gates: dict[str, Gate]):  # type: ignore[no-untyped-def]
    return plan(claimed, gates, breaker=BREAKER, now=NOW, probe_deadline=DEADLINE)


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
