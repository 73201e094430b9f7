import pytest
from hypothesis import given
from hypothesis import strategies as st

from hookline.throttle import admit, burst, interval

NOW = 1_000.0


def test_a_fresh_webhook_sends_its_burst_and_spaces_the_rest() -> None:
    # 10 a minute (seed 003): one every 6 s, a burst of one.
    result = admit(10, None, NOW, 4)
    assert result.admitted == 1
    assert result.deferred_until == (NOW + 6, NOW + 12, NOW + 18)
    assert result.tat == NOW + 24


def test_a_faster_webhook_bursts_one_seconds_worth() -> None:
    assert burst(600) == 10
    result = admit(600, None, NOW, 15)
    assert result.admitted == 10
    assert result.deferred_until[0] == pytest.approx(NOW + 0.1)
    assert len(result.deferred_until) == 5


def test_reserved_slots_make_newcomers_queue_behind() -> None:
    first = admit(10, None, NOW, 3)  # one now, two reserved at +6 and +12
    later = admit(10, first.tat, NOW + 1, 1)
    assert later.admitted == 0
    assert later.deferred_until == (NOW + 18,)


def test_an_idle_bucket_refills() -> None:
    first = admit(10, None, NOW, 1)
    assert admit(10, first.tat, NOW + 6, 1).admitted == 1
    assert admit(10, first.tat, NOW + 5, 1).admitted == 0


@given(
    rate=st.integers(1, 6000),
    arrivals=st.lists(st.tuples(st.floats(0, 120), st.integers(1, 20)), min_size=1, max_size=30),
)
def test_no_minute_carries_more_than_the_rate_plus_a_burst(
    rate: int, arrivals: list[tuple[float, int]]
) -> None:
    tat = None
    sent: list[float] = []
    for offset, wanted in sorted(arrivals):
        now = NOW + offset
        result = admit(rate, tat, now, wanted)
        tat = result.tat
        sent += [now] * result.admitted + list(result.deferred_until)
        assert all(at >= now for at in result.deferred_until)
    sent.sort()
    assert len(sent) == sum(w for _, w in arrivals)  # nothing dropped
    for i, start in enumerate(sent):
        in_window = sum(1 for at in sent[i:] if at < start + 60 - 1e-6)
        assert in_window <= rate + burst(rate)
    assert interval(rate) == 60 / rate
