"""Per-webhook rate limits, as a pure function of the webhook's throttle state and the clock.

The generic cell rate algorithm (a token bucket kept as one number): a webhook limited to `rate`
requests a minute may send one request every `60 / rate` seconds, with a burst of up to one
second's worth. `tat` ("theoretical arrival time") is when the next request would be due if the
webhook sent at exactly its rate; the bucket is full whenever `tat` is in the past.

Deliveries over the limit are not attempted: each is given its own later slot, reserved in `tat`
so that newer deliveries queue behind it. Nothing is dropped, and order is kept.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Admission:
    admitted: int  # how many of the wanted requests may go now
    deferred_until: tuple[float, ...]  # when each of the others may go, in order
    tat: float  # the state to store


def interval(rate_per_minute: float) -> float:
    return 60.0 / rate_per_minute


def burst(rate_per_minute: float) -> int:
    """Up to one second's worth of requests at once, at least one."""
    return max(1, math.ceil(rate_per_minute / 60))


def admit(rate_per_minute: int, tat: float | None, now: float, wanted: int) -> Admission:
    step = interval(rate_per_minute)
    tolerance = step * (burst(rate_per_minute) - 1)
    arrival = now if tat is None else max(tat, now)
    admitted = 0
    while admitted < wanted and arrival - now <= tolerance + 1e-9:
        arrival += step
        admitted += 1
    deferred = []
    for _ in range(wanted - admitted):
        deferred.append(arrival - tolerance)
        arrival += step
    return Admission(admitted=admitted, deferred_until=tuple(deferred), tat=arrival)


def take(rate_per_minute: float, tat: float | None, now: float) -> tuple[bool, float, float]:
    """One request against a limit, refused rather than deferred when over it:
    (allowed, new tat, seconds until a request would be allowed)."""
    step = interval(rate_per_minute)
    tolerance = step * (burst(rate_per_minute) - 1)
    arrival = now if tat is None else max(tat, now)
    if arrival - now > tolerance + 1e-9:
        return False, arrival, arrival - tolerance - now
    return True, arrival + step, 0.0
