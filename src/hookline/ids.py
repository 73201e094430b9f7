"""Prefixed, time-sortable identifiers: `evt_01jd3k...`.

Ten characters of millisecond timestamp and sixteen of randomness, in lowercase Crockford base32,
so ids sort by creation time as plain strings (which is what cursor pagination relies on).
"""

from __future__ import annotations

import os
import threading
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"

TENANT = "ten"
KEY = "key"
WEBHOOK = "wh"
EVENT = "evt"
DELIVERY = "dlv"
ATTEMPT = "att"
BATCH = "bat"  # a batch of deliveries sent in one request: its `webhook-id`


def _base32(value: int, width: int) -> str:
    chars = []
    for _ in range(width):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def new_id(prefix: str, now: float | None = None) -> str:
    """A fresh id such as `evt_01jd3k8q0m7x2c9v4b5n6p7r8s`."""
    millis = int((time.time() if now is None else now) * 1000)
    random_bits = int.from_bytes(os.urandom(10), "big")
    return f"{prefix}_{_base32(millis, 10)}{_base32(random_bits, 16)}"


_last: dict[str, tuple[int, int]] = {}  # prefix -> (millis, random bits) of the last sequential id
_lock = threading.Lock()
_RANDOM_LIMIT = 1 << 80


def sequential_id(prefix: str, now: float | None = None) -> str:
    """A fresh id that sorts after every id this process made before with `sequential_id` and
    the same prefix, even within one millisecond or when the clock steps back (the next one
    then counts on from the last: its random part plus one). Delivery ids are made this way,
    so within an API process id order is the order events were accepted in (FIFO webhooks)."""
    millis = int((time.time() if now is None else now) * 1000)
    with _lock:
        last_millis, last_random = _last.get(prefix, (-1, 0))
        if millis > last_millis:
            random_bits = int.from_bytes(os.urandom(10), "big") >> 1  # room to count on
        else:
            millis, random_bits = last_millis, last_random + 1
            if random_bits >= _RANDOM_LIMIT:
                millis, random_bits = millis + 1, 0
        _last[prefix] = (millis, random_bits)
    return f"{prefix}_{_base32(millis, 10)}{_base32(random_bits, 16)}"


def has_prefix(value: str, prefix: str) -> bool:
    return value.startswith(prefix + "_") and len(value) == len(prefix) + 27
