"""Retry decisions: a pure function of (attempt number, outcome, Retry-After, now).

Rules (Standard Webhooks' guidance): 2xx is success; 3xx is a failure (redirects are never
followed); 410 Gone disables the webhook; 429, 502, 503 and 504 ask us to slow down, so the next
attempt waits at least its scheduled delay and longer if `Retry-After` says so (up to a bound);
every other failure retries on the schedule with ±20% jitter. After the last attempt the delivery
has failed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC
from email.utils import parsedate_to_datetime

SLOW_DOWN = frozenset({429, 502, 503, 504})
GONE = 410
RETRY_AFTER_CEILING = 30 * 86_400.0  # no wait a receiver asks for is read as longer than this
MAX_RETRIES = 50  # the most delays a webhook's own `retry_schedule` may list
MAX_DELAY = 7 * 86_400.0  # the longest delay in it
_DELAY_SECONDS = re.compile(r"[0-9]+", re.ASCII)  # RFC 9110 delay-seconds: ASCII digits only


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    schedule: tuple[float, ...]  # seconds between attempts; len + 1 attempts in all
    jitter: float = 0.2
    retry_after_max: float = 3600.0

    @property
    def max_attempts(self) -> int:
        return len(self.schedule) + 1


def check_delays(delays: list[float]) -> list[float]:
    """A webhook's own `retry_schedule` as it may be saved; raises ValueError saying what to
    send instead."""
    if len(delays) > MAX_RETRIES:
        raise ValueError(
            f"at most {MAX_RETRIES} delays ({MAX_RETRIES + 1} attempts), got {len(delays)}: send "
            "a shorter list such as [2, 4, 8, 16, 32], or null for the installation's schedule"
        )
    for index, delay in enumerate(delays):
        if not 0 <= delay <= MAX_DELAY:
            raise ValueError(
                f"entry {index} is {delay:g}: each entry is the seconds to wait before the next "
                f"attempt, from 0 to {MAX_DELAY:g} (7 days)"
            )
    return delays


@dataclass(frozen=True, slots=True)
class Delivered:
    pass


@dataclass(frozen=True, slots=True)
class Retry:
    at: float  # epoch seconds


@dataclass(frozen=True, slots=True)
class GiveUp:
    reason: str


@dataclass(frozen=True, slots=True)
class Disable:
    reason: str


Decision = Delivered | Retry | GiveUp | Disable


def is_success(status_code: int | None) -> bool:
    return status_code is not None and 200 <= status_code < 300


def decide(
    policy: RetryPolicy,
    *,
    attempt: int,
    status_code: int | None,
    retry_after: float | None,
    now: float,
    rand: float,
    final: bool = False,
) -> Decision:
    """What happens after attempt number `attempt` (1-based) ended with `status_code`
    (None: no response). `rand` in [0, 1) drives the jitter; `final` marks a one-shot attempt
    (a manual retry) that is never rescheduled."""
    if is_success(status_code):
        return Delivered()
    if status_code == GONE:
        return Disable("the receiver answered 410 Gone: it asked not to be sent any more")
    if final or attempt >= policy.max_attempts:
        return GiveUp(f"no success after {attempt} attempt{'s' if attempt != 1 else ''}")
    delay = policy.schedule[attempt - 1] * (1 + policy.jitter * (2 * rand - 1))
    if status_code in SLOW_DOWN and retry_after is not None:
        delay = max(delay, min(retry_after, policy.retry_after_max))
    return Retry(at=now + delay)


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a `Retry-After` header (delay-seconds or HTTP-date), at most
    RETRY_AFTER_CEILING; None if absent or unusable. Total: a receiver sends any text it likes
    (`²`, Arabic-Indic or fullwidth digits, `-5`, a year 99999), and every value gives a number
    or None, never an exception, so the attempt that got it is recorded like any other."""
    if value is None:
        return None
    value = value.strip()
    if _DELAY_SECONDS.fullmatch(value):
        return min(float(value), RETRY_AFTER_CEILING)
    try:
        when = parsedate_to_datetime(value)
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        wait = when.timestamp() - now
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return min(max(0.0, wait), RETRY_AFTER_CEILING)
