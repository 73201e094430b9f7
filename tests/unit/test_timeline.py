"""Timelines from the store's per-webhook bucket counts: aligned buckets, zeros where nothing
finished, the sum of every webhook under "*", rates per bucket."""

from __future__ import annotations

from hookline.records import Finishes
from hookline.service.stats import Timeline, aligned_start, timelines


def test_buckets_end_on_a_whole_bucket_and_the_last_holds_now() -> None:
    assert aligned_start(now=3_725.0, bucket=60.0, buckets=60) == 180.0  # 00:03 .. 01:03
    start = aligned_start(now=3_725.0, bucket=60.0, buckets=60)
    assert start + 59 * 60 <= 3_725.0 < start + 60 * 60
    assert aligned_start(now=3_720.0, bucket=60.0, buckets=1) == 3_720.0


def test_each_webhook_and_their_sum() -> None:
    found = [
        Finishes("wh_a", 0, 3, 1),
        Finishes("wh_b", 0, 1, 0),
        Finishes("wh_a", 2, 0, 2),
        Finishes("wh_c", 1, 5, 5),  # not asked for: only in the sum
        Finishes("wh_a", 3, 9, 9),  # beyond the last bucket: ignored
    ]
    got = timelines(found, ["*", "wh_a", "wh_b", "wh_z"], start=100.0, bucket=10.0, buckets=3)
    assert got["wh_a"] == Timeline(100.0, 10.0, (3, 0, 0), (1, 0, 2))
    assert got["wh_b"] == Timeline(100.0, 10.0, (1, 0, 0), (0, 0, 0))
    assert got["wh_z"] == Timeline(100.0, 10.0, (0, 0, 0), (0, 0, 0))
    assert got["*"] == Timeline(100.0, 10.0, (4, 5, 0), (1, 5, 2))
    assert "wh_c" not in got
    assert got["*"].end == 130.0
    assert (got["*"].total_succeeded, got["*"].total_failed) == (9, 8)
    assert got["wh_a"].success_rates() == [0.75, None, 0.0]
    assert got["wh_a"].success_rate == 0.5
    assert got["wh_z"].success_rate is None
