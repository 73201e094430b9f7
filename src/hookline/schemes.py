"""Signature schemes: the headers that let a receiver check a delivery came from hookline
(pure). None is Standard Webhooks; a webhook's `signature` object is a custom HMAC scheme.
See docs/formats.md.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hookline import signing
from hookline.errors import InvalidInput

Scheme = Mapping[str, Any] | None  # the expanded `signature` object; None: Standard Webhooks


@dataclass(frozen=True, slots=True)
class Message:
    """What is signed: one attempt of one delivery."""

    id: str  # the event's id: the same on every attempt
    webhook_id: str
    event_type: str
    at: float  # when this attempt is made (epoch seconds)
    body: bytes


def key(scheme: Scheme, secret: str) -> bytes:
    """The HMAC key of a secret under a scheme."""
    return signing.stored_key(secret)


def headers(scheme: Scheme, keys: Sequence[bytes], message: Message) -> dict[str, str]:
    """The signature headers of one request; `keys`: the live secrets' keys, newest first."""
    timestamp = int(message.at)
    return {
        "webhook-id": message.id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signing.signature_header(keys, message.id, timestamp, message.body),
    }


def expand(signature: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A `signature` as stored: presets expanded, every field checked (InvalidInput on error)."""
    if signature is None:
        return None
    raise InvalidInput("custom signature schemes are not supported yet", loc=("signature",))


def check_secret(scheme: Scheme, secret: str | None) -> str:
    """The secret a webhook signs with: `secret` once checked, or a new one when None."""
    if secret is None:
        return signing.generate_secret()
    try:
        signing.secret_key(secret)
    except ValueError as exc:
        raise InvalidInput(f"secret: {exc}", loc=("secret",)) from None
    return secret
