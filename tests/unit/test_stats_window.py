"""`since` of GET /api/v1/stats (and of `hookline deliveries retry`): a duration back from now,
or an instant, in the one grammar of `durations`."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hookline.errors import InvalidInput
from hookline.service.stats import window_start

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("since", "back"),
    [
        ("90m", 5400),
        ("24h", 86400),
        ("24H", 86400),
        (" 7d ", 7 * 86400),
        ("1m", 60),
        ("90s", 90),
        ("2w", 14 * 86400),
    ],
)
def test_durations_count_back_from_now(since: str, back: float) -> None:
    assert window_start(since, NOW) == NOW - back


@pytest.mark.parametrize(
    ("since", "instant"),
    [
        ("2026-12-01T10:00:00Z", datetime(2026, 12, 1, 10, tzinfo=UTC)),
        ("2026-12-01T10:00:00z", datetime(2026, 12, 1, 10, tzinfo=UTC)),
        ("2026-12-01T11:00:00+01:00", datetime(2026, 12, 1, 10, tzinfo=UTC)),
        ("2026-12-01T10:00:00", datetime(2026, 12, 1, 10, tzinfo=UTC)),  # no offset: UTC
        ("2026-12-01", datetime(2026, 12, 1, tzinfo=UTC)),
    ],
)
def test_instants_are_taken_as_they_are(since: str, instant: datetime) -> None:
    assert window_start(since, NOW) == instant.timestamp()


@pytest.mark.parametrize(
    "since", ["", "0h", "24", "h", "-5m", "5y", "1.5h", "yesterday", "9999999d", "2 h"]
)
def test_anything_else_is_refused_saying_what_to_send(since: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        window_start(since, NOW)
    assert refused.value.loc == ("query", "since")
    assert "90m, 24h or 7d" in refused.value.detail
