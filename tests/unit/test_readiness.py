from __future__ import annotations

from hookline.readiness import Check, schema_check, worker_check


def test_schema_check_says_what_to_run() -> None:
    assert schema_check("0005", "0005").ok
    assert schema_check("0004", "0005") == Check(
        False, "schema at 0004, hookline needs 0005: run hookline migrate"
    )
    assert not schema_check(None, "0005").ok


def test_worker_check_wants_a_beat_within_three_intervals() -> None:
    assert worker_check(70.0, runs_worker=True, now=100.0, interval=10).ok
    assert worker_check(55.0, runs_worker=True, now=100.0, interval=10) == Check(
        False, "no worker heartbeat for 45 s"
    )
    assert not worker_check(None, runs_worker=True, now=100.0, interval=10).ok
    # An API-only node: fine with no workers at all, not with workers that stopped beating.
    assert worker_check(None, runs_worker=False, now=100.0, interval=10).ok
    assert not worker_check(55.0, runs_worker=False, now=100.0, interval=10).ok
