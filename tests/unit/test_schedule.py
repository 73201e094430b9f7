import math
import re
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hookline.schedule import (
    RETRY_AFTER_CEILING,
    Decision,
    Delivered,
    Disable,
    GiveUp,
    Retry,
    RetryPolicy,
    check_delays,
    decide,
    parse_retry_after,
)

POLICY = RetryPolicy(schedule=(5.0, 300.0, 1800.0), retry_after_max=3600.0)
NOW = 1_000_000.0
MID = 0.5  # rand in the middle: no jitter


def run(
    attempt: int,
    status: int | None,
    retry_after: float | None = None,
    rand: float = MID,
    final: bool = False,
) -> Decision:
    return decide(
        POLICY,
        attempt=attempt,
        status_code=status,
        retry_after=retry_after,
        now=NOW,
        rand=rand,
        final=final,
    )


@pytest.mark.parametrize(
    ("attempt", "status", "retry_after", "expected"),
    [
        (1, 200, None, Delivered()),
        (1, 204, None, Delivered()),
        (1, 299, None, Delivered()),
        (1, 500, None, Retry(NOW + 5)),
        (2, 500, None, Retry(NOW + 300)),
        (3, 404, None, Retry(NOW + 1800)),
        (1, None, None, Retry(NOW + 5)),  # no response: timeout, reset, refused
        (1, 301, None, Retry(NOW + 5)),  # redirects are failures
        (1, 302, None, Retry(NOW + 5)),
        (1, 410, None, Disable("the receiver answered 410 Gone: it asked not to be sent any more")),
        (4, 410, None, Disable("the receiver answered 410 Gone: it asked not to be sent any more")),
        (4, 500, None, GiveUp("no success after 4 attempts")),
        (4, None, None, GiveUp("no success after 4 attempts")),
        # Retry-After slows down 429/502/503/504, never speeds up, and is capped.
        (1, 429, 60.0, Retry(NOW + 60)),
        (1, 503, 2.0, Retry(NOW + 5)),
        (1, 502, 10_000.0, Retry(NOW + 3600)),
        (2, 504, 120.0, Retry(NOW + 300)),
        (1, 429, None, Retry(NOW + 5)),
        # Other statuses ignore Retry-After.
        (1, 500, 600.0, Retry(NOW + 5)),
    ],
)
def test_decisions(
    attempt: int, status: int | None, retry_after: float | None, expected: object
) -> None:
    assert run(attempt, status, retry_after) == expected


@pytest.mark.parametrize(("rand", "delay"), [(0.0, 4.0), (0.25, 4.5), (0.999999, 6.0)])
def test_jitter_stays_within_twenty_percent(rand: float, delay: float) -> None:
    decision = run(1, 500, rand=rand)
    assert isinstance(decision, Retry)
    assert decision.at - NOW == pytest.approx(delay, abs=1e-4)


def test_a_manual_attempt_is_never_rescheduled() -> None:
    assert run(1, 500, final=True) == GiveUp("no success after 1 attempt")
    assert run(1, 200, final=True) == Delivered()


def test_an_empty_schedule_means_one_attempt() -> None:
    policy = RetryPolicy(schedule=())
    assert policy.max_attempts == 1
    decision = decide(policy, attempt=1, status_code=500, retry_after=None, now=NOW, rand=MID)
    assert isinstance(decision, GiveUp)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("120", 120.0),
        (" 7 ", 7.0),
        ("soon", None),
        ("-5", None),
        ("1.5", None),
        (format_datetime(datetime.fromtimestamp(NOW + 90, UTC), usegmt=True), 90.0),
        (format_datetime(datetime.fromtimestamp(NOW - 90, UTC), usegmt=True), 0.0),
        ("Wed, 99 Foo 2015 07:28:00 GMT", None),
        # Digits that are not ASCII digits: str.isdigit() says yes, float() says no.
        ("\u00b2", None),  # superscript two
        ("\u0661", None),  # Arabic-Indic one
        ("\u0663\u0660", None),
        ("\uff13\uff10", None),  # fullwidth 30
        ("\u2460", None),  # circled one
        ("1\u00b2", None),
        ("\U0001d7d9", None),  # mathematical double-struck one
        # Huge numbers and far dates are capped, not overflowed.
        ("9" * 400, RETRY_AFTER_CEILING),
        ("9" * 5000, RETRY_AFTER_CEILING),
        ("Wed, 21 Oct 99999 07:28:00 GMT", None),
        ("Fri, 31 Dec 9999 23:59:59 GMT", RETRY_AFTER_CEILING),
        ("Mon, 01 Jan 1900 00:00:00 +2359", 0.0),
        ("", None),
        ("   ", None),
        ("\x00", None),
        ("\udcff", None),  # an undecodable byte, as the HTTP client hands it over
        ("inf", None),
        ("nan", None),
        ("1e9", None),
        ("+5", None),
    ],
)
def test_retry_after_parsing(header: str | None, expected: float | None) -> None:
    assert parse_retry_after(header, NOW) == expected


def _is_usable(wait: float | None) -> bool:
    return wait is None or (math.isfinite(wait) and 0.0 <= wait <= RETRY_AFTER_CEILING)


ANY_TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=60)
HTTP_DATES = st.builds(
    "{}, {:02d} {} {} {:02d}:{:02d}:{:02d} {}".format,
    st.sampled_from(["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun", "Xyz"]),
    st.integers(-5, 99),
    st.sampled_from(["Jan", "Feb", "Jun", "Dec", "Foo"]),
    st.integers(-10, 10**6),
    st.integers(-1, 99),
    st.integers(-1, 99),
    st.integers(-1, 99),
    st.sampled_from(["GMT", "UTC", "+0000", "-2359", "+2359", "+9999", "-0000", "EST", "Z", ""]),
)
NUMBERS = st.one_of(
    st.integers().map(str),
    st.tuples(st.sampled_from(["", "-", "+"]), st.text("0123456789", max_size=6000)).map("".join),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
)
PADDED = st.tuples(st.sampled_from(["", " ", "\t", "\u3000", "\n"]), st.one_of(NUMBERS, ANY_TEXT))


@given(value=st.one_of(ANY_TEXT, HTTP_DATES, NUMBERS, PADDED.map("".join)))
def test_any_retry_after_gives_a_bounded_wait_or_none(value: str) -> None:
    assert _is_usable(parse_retry_after(value, NOW))


@given(value=st.one_of(ANY_TEXT, HTTP_DATES), now=st.floats(0, 2**40))
def test_any_retry_after_at_any_time_gives_a_bounded_wait_or_none(value: str, now: float) -> None:
    assert _is_usable(parse_retry_after(value, now))


@pytest.mark.parametrize(
    ("delays", "says"),
    [
        ([2, -1], "entry 1 is -1: each entry is the seconds to wait"),
        ([7 * 86_400 + 1], "entry 0 is 604801"),
        ([float("nan")], "entry 0 is nan"),
        ([1.0] * 51, "at most 50 delays (51 attempts), got 51"),
    ],
)
def test_a_webhooks_own_schedule_is_checked(delays: list[float], says: str) -> None:
    with pytest.raises(ValueError, match=re.escape(says)):
        check_delays(delays)


def test_a_webhooks_own_schedule_may_be_empty_or_full() -> None:
    assert check_delays([]) == []
    assert check_delays([0.0, *[7 * 86_400.0] * 49]) == [0.0, *[7 * 86_400.0] * 49]
