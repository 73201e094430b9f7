"""Standard Webhooks signatures (https://www.standardwebhooks.com).

A secret is `whsec_` + base64 of random bytes. The signature of one request is
`v1,` + base64(HMAC-SHA256(secret bytes, f"{webhook_id}.{timestamp}.{body}")), computed over the
exact bytes sent. During a secret rotation a request carries one signature per live secret,
space-separated, and receivers accept any that matches.

A secret someone brings must look random: 24 to 64 bytes once decoded, and none of the shapes
that random bytes essentially never take (see `weakness`). Secrets already stored are read with
`stored_key`, which checks their shape only, so a weak secret an older hookline accepted keeps
signing until it is rotated.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import itertools
import os
from collections.abc import Iterable, Mapping

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

SECRET_PREFIX = "whsec_"
SIGNING_KEY_PREFIX = "whsk_"  # an ed25519 private key (v1a); its public key is "whpk_..."
PUBLIC_KEY_PREFIX = "whpk_"
SECRET_BYTES = 32
MIN_SECRET_BYTES = 24
MAX_SECRET_BYTES = 64
MIN_DISTINCT_BYTES = 8  # 24 random bytes have fewer than 8 distinct values with p < 1e-25
DEFAULT_TOLERANCE = 300  # seconds a receiver accepts between the timestamp and its clock


class SignatureError(ValueError):
    """A request whose signature does not verify; the message says why."""


def generate_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(os.urandom(SECRET_BYTES)).decode()


def stored_key(secret: str) -> bytes:
    """The HMAC key inside a `whsec_...` secret. Raises ValueError with a fix if malformed."""
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(
            "a webhook secret is 'whsec_' followed by base64; this one is not valid base64"
        ) from None
    if not MIN_SECRET_BYTES <= len(key) <= MAX_SECRET_BYTES:
        raise ValueError(
            f"a webhook secret must hold {MIN_SECRET_BYTES} to {MAX_SECRET_BYTES} bytes "
            f"once base64-decoded; this one holds {len(key)}"
        )
    return key


def weakness(key: bytes) -> str | None:
    """What makes `key` plainly not random, or None. Each shape below has a probability under
    1e-20 for 24 or more random bytes, so no real random key is ever refused."""
    if len(set(key)) == 1:
        return f"it is one byte (0x{key[0]:02x}) repeated {len(key)} times"
    if len(set(key)) < MIN_DISTINCT_BYTES:
        return f"it uses only {len(set(key))} different byte values"
    for period in range(1, len(key) // 2 + 1):
        if key == (key[:period] * (len(key) // period + 1))[: len(key)]:
            return f"it is the same {period} bytes over and over"
    steps = {(b - a) % 256 for a, b in itertools.pairwise(key)}
    if len(steps) == 1:
        return "it counts up or down one step at a time"
    return None


def secret_key(secret: str) -> bytes:
    """The HMAC key inside a secret someone brings (an API call, the configuration, `listen`):
    well formed, and not plainly non-random. Raises ValueError saying what to fix."""
    key = stored_key(secret)
    weak = weakness(key)
    if weak is not None:
        raise ValueError(
            f"a webhook secret must be random, and this one is not: {weak}; use 'whsec_' + "
            "base64 of 32 random bytes (or leave the secret out when creating a webhook, and "
            "hookline generates one)"
        )
    return key


def sign(key: bytes, webhook_id: str, timestamp: int, body: bytes) -> str:
    """One `v1,<base64>` signature."""
    message = b"%s.%d.%s" % (webhook_id.encode(), timestamp, body)
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_header(keys: Iterable[bytes], webhook_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` value: one signature per live key, newest first."""
    return " ".join(sign(key, webhook_id, timestamp, body) for key in keys)


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: float,
    tolerance: int = DEFAULT_TOLERANCE,
) -> None:
    """Check a received request. Raises SignatureError naming what is wrong."""
    lowered = {name.lower(): value for name, value in headers.items()}
    webhook_id = lowered.get("webhook-id")
    raw_timestamp = lowered.get("webhook-timestamp")
    signatures = lowered.get("webhook-signature")
    if not (webhook_id and raw_timestamp and signatures):
        raise SignatureError("missing webhook-id, webhook-timestamp or webhook-signature header")
    try:
        timestamp = int(raw_timestamp)
    except ValueError:
        raise SignatureError(f"webhook-timestamp {raw_timestamp!r} is not an integer") from None
    if abs(now - timestamp) > tolerance:
        raise SignatureError(
            f"webhook-timestamp is {int(now - timestamp)} s away from this clock "
            f"(tolerance {tolerance} s): replayed, or a clock is wrong"
        )
    expected = sign(secret_key(secret), webhook_id, timestamp, body).encode()
    for candidate in signatures.split(" "):
        if hmac.compare_digest(candidate.encode(), expected):
            return
    raise SignatureError("no signature matches this secret")


# --- v1a: ed25519, for receivers that hold a public key only ------------------------------------


def generate_signing_key() -> str:
    """A new `whsk_` + base64 of a 32-byte ed25519 private key."""
    return SIGNING_KEY_PREFIX + base64.b64encode(os.urandom(32)).decode()


def signing_key(secret: str) -> bytes:
    """The 32-byte ed25519 private key inside a `whsk_...` secret. Raises ValueError with a fix."""
    if not secret.startswith(SIGNING_KEY_PREFIX):
        raise ValueError(
            f"an ed25519 signing key is '{SIGNING_KEY_PREFIX}' followed by base64 of 32 bytes"
        )
    try:
        key = base64.b64decode(secret.removeprefix(SIGNING_KEY_PREFIX), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(
            f"an ed25519 signing key is '{SIGNING_KEY_PREFIX}' followed by base64; this one is "
            "not valid base64"
        ) from None
    if len(key) != 32:
        raise ValueError(
            f"an ed25519 signing key holds 32 bytes once base64-decoded; this one holds {len(key)}"
        )
    return key


def public_key(key: bytes) -> str:
    """The `whpk_...` public key receivers verify v1a signatures of `key` with."""
    raw = Ed25519PrivateKey.from_private_bytes(key).public_key()
    return (
        PUBLIC_KEY_PREFIX
        + base64.b64encode(raw.public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()
    )


def sign_v1a(key: bytes, webhook_id: str, timestamp: int, body: bytes) -> str:
    """One `v1a,<base64>` signature: ed25519 over the same content as v1."""
    message = b"%s.%d.%s" % (webhook_id.encode(), timestamp, body)
    return (
        "v1a," + base64.b64encode(Ed25519PrivateKey.from_private_bytes(key).sign(message)).decode()
    )
