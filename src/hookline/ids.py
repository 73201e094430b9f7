"""Prefixed, time-sortable identifiers: `evt_01jd3k...`.

Ten characters of millisecond timestamp and sixteen of randomness, in lowercase Crockford base32,
so ids sort by creation time as plain strings (which is what cursor pagination relies on).
"""

from __future__ import annotations

import os
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


def has_prefix(value: str, prefix: str) -> bool:
    return value.startswith(prefix + "_") and len(value) == len(prefix) + 27
