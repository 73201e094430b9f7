"""Durations and instants as operators write them, one grammar for the API and the CLI: a
positive whole number and a unit (`90s`, `30m`, `24h`, `7d`, `1w`), or an ISO 8601 instant
(`2026-12-01T10:00:00Z`; without an offset, UTC). Each answers None for anything else, and the
caller says what it expected where (a query parameter, a command option)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86_400.0, "w": 604_800.0}
_DURATION = re.compile(r"(\d{1,6})([smhdw])")
EXAMPLES = "90m, 24h or 7d"


def seconds(text: str) -> float | None:
    """The seconds in a duration, None if `text` is not one."""
    match = _DURATION.fullmatch(text.strip().lower())
    if match is None or int(match[1]) == 0:
        return None
    return int(match[1]) * UNITS[match[2]]


def instant(text: str, now: float) -> float | None:
    """The instant (a Unix time) `text` names: a duration back from `now`, or an ISO 8601
    instant; None if it is neither."""
    back = seconds(text)
    if back is not None:
        return now - back
    if _DURATION.fullmatch(text.strip().lower()):
        return None  # a zero duration
    try:
        at = datetime.fromisoformat(text.strip().replace("z", "Z"))
    except ValueError:
        return None
    return (at if at.tzinfo is not None else at.replace(tzinfo=UTC)).timestamp()
