"""Signature schemes: the headers that let a receiver check a delivery came from hookline
(pure). None is Standard Webhooks; `{"algorithm": "ed25519"}` is Standard Webhooks `v1a`
(ed25519, receivers hold the public key only); any other `signature` object is a custom
HMAC-SHA256 scheme, stored expanded (every field present). See docs/formats.md, "Signature
schemes".

A custom scheme signs `signed` (a template over the body, the timestamp and ids) with the
secret's UTF-8 bytes, as the seeds' receivers do (`hmac.new(secret.encode(), ...)`), encodes
the digest (hex or base64) and sends it in `header` as `value` says, with its extra `headers`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hookline import signing
from hookline.errors import InvalidInput

Scheme = Mapping[str, Any] | None  # the expanded `signature` object; None: Standard Webhooks

# Headers that belong to HTTP or to the message's framing: no scheme (or custom header) sets them.
HTTP_HEADERS = frozenset(
    {
        "connection",
        "content-encoding",
        "content-length",
        "content-type",
        "host",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "user-agent",
    }
)
HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")  # an RFC 9110 token

DEFAULTS: dict[str, Any] = {
    "value": "{signature}",
    "signed": "{body}",
    "encoding": "hex",
    "timestamp_unit": "s",
    "headers": {},
}
FIELDS = ("header", "value", "signed", "encoding", "timestamp_unit", "headers")
ENCODINGS = ("hex", "base64")
TIMESTAMP_UNITS = ("s", "ms")
PRESETS: dict[str, dict[str, Any]] = {
    "github": {"header": "X-Hub-Signature-256", "value": "sha256={signature}"},
    "stripe": {
        "header": "Stripe-Signature",
        "value": "t={timestamp},v1={signature}",
        "signed": "{timestamp}.{body}",
    },
    "shopify": {"header": "X-Shopify-Hmac-Sha256", "encoding": "base64"},
}
ED25519 = "ed25519"
ED25519_SCHEME: dict[str, Any] = {"algorithm": ED25519}  # Standard Webhooks v1a, as stored

# What each template may say: {body} is signed, never sent in a header; {signature} exists
# only once `signed` has been signed.
IDS = ("timestamp", "id", "webhook_id", "event_type")
SIGNED_PLACEHOLDERS = ("body", *IDS)
VALUE_PLACEHOLDERS = (*IDS, "signature")
HEADER_PLACEHOLDERS = IDS
MAX_TEMPLATE = 1024
MAX_EXTRA_HEADERS = 10

MIN_CUSTOM_SECRET = 16
MAX_CUSTOM_SECRET = 256
_PRINTABLE_ASCII = re.compile(r"^[\x20-\x7e]*$")


@dataclass(frozen=True, slots=True)
class Message:
    """What is signed: one attempt of one delivery."""

    id: str  # the event's id: the same on every attempt
    webhook_id: str
    event_type: str
    at: float  # when this attempt is made (epoch seconds)
    body: bytes


def is_ed25519(scheme: Scheme) -> bool:
    return scheme is not None and scheme.get("algorithm") == ED25519


def key(scheme: Scheme, secret: str) -> bytes:
    """The key of a secret under a scheme: Standard Webhooks decodes `whsec_...` (`whsk_...`
    for ed25519); a custom scheme uses the secret exactly as the API returned it, as UTF-8
    bytes."""
    if scheme is None:
        return signing.stored_key(secret)
    if is_ed25519(scheme):
        return signing.signing_key(secret)
    return secret.encode()


def public_keys(scheme: Scheme, keys: Sequence[bytes]) -> list[str]:
    """The `whpk_...` public keys of an ed25519 scheme's live keys, newest first."""
    return [signing.public_key(k) for k in keys] if is_ed25519(scheme) else []


def headers(scheme: Scheme, keys: Sequence[bytes], message: Message) -> dict[str, str]:
    """The signature headers of one request; `keys`: the live secrets' keys, newest first.

    Standard Webhooks carries one signature per live key. A custom scheme's header holds one
    value, so it carries the newest key's signature only (docs/formats.md, "Rotation")."""
    if scheme is None or is_ed25519(scheme):
        timestamp = int(message.at)
        if scheme is None:
            signatures = signing.signature_header(keys, message.id, timestamp, message.body)
        else:
            signatures = " ".join(
                signing.sign_v1a(k, message.id, timestamp, message.body) for k in keys
            )
        return {
            "webhook-id": message.id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signatures,
        }
    at = message.at * 1000 if scheme["timestamp_unit"] == "ms" else message.at
    values = {
        "timestamp": str(int(at)),
        "id": message.id,
        "webhook_id": message.webhook_id,
        "event_type": message.event_type,
    }
    signed = _render(scheme["signed"], {**values, "body": message.body})
    digest = hmac.new(keys[0], signed, hashlib.sha256).digest()
    signature = digest.hex() if scheme["encoding"] == "hex" else base64.b64encode(digest).decode()
    sent = {
        name: _render(template, values).decode() for name, template in scheme["headers"].items()
    }
    sent[scheme["header"]] = _render(scheme["value"], {**values, "signature": signature}).decode()
    return sent


def _render(template: str, values: Mapping[str, str | bytes]) -> bytes:
    """A checked template with its placeholders filled in, as bytes (the body stays as sent)."""
    out = bytearray()
    for literal, name, _, _ in string.Formatter().parse(template):
        out += literal.encode()
        if name is not None:
            value = values[name]
            out += value if isinstance(value, bytes) else value.encode()
    return bytes(out)


def expand(signature: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A `signature` as stored: a preset expanded (its fields overridable), defaults filled in,
    every field checked. Raises InvalidInput saying what to fix."""
    if signature is None:
        return None
    fields = dict(signature)
    preset = fields.pop("preset", None)
    if preset == ED25519 or "algorithm" in fields:
        return _ed25519(fields, preset)
    if preset is not None:
        if preset not in PRESETS:
            raise InvalidInput(
                f"signature.preset: unknown preset {preset!r}; use one of "
                f"{', '.join(map(repr, [*PRESETS, ED25519]))}, or describe the scheme with "
                "`header`, `value`, `signed`...",
                loc=("signature", "preset"),
            )
        fields = {**PRESETS[preset], **fields}
    unknown = sorted(set(fields) - set(FIELDS))
    if unknown:
        raise InvalidInput(
            f"signature: unknown field {unknown[0]!r}; a scheme has {', '.join(FIELDS)} "
            "(or `preset`: " + ", ".join([*PRESETS, ED25519]) + ")",
            loc=("signature", unknown[0]),
        )
    if "header" not in fields:
        raise InvalidInput(
            "signature.header is required: the header that carries the signature, e.g. "
            '{"header": "X-Webhook-Signature"}; or use a preset, e.g. {"preset": "github"}',
            loc=("signature", "header"),
        )
    scheme = {**DEFAULTS, **fields}
    header = _header_name(scheme["header"], ("signature", "header"))
    value = _template(scheme["value"], "value", VALUE_PLACEHOLDERS, required="signature")
    signed = _template(scheme["signed"], "signed", SIGNED_PLACEHOLDERS, required="body")
    encoding = _choice(scheme["encoding"], "encoding", ENCODINGS)
    unit = _choice(scheme["timestamp_unit"], "timestamp_unit", TIMESTAMP_UNITS)
    extra = _extra_headers(scheme["headers"], header)
    return {
        "header": header,
        "value": value,
        "signed": signed,
        "encoding": encoding,
        "timestamp_unit": unit,
        "headers": extra,
    }


def _ed25519(fields: Mapping[str, Any], preset: object) -> dict[str, Any]:
    """Standard Webhooks v1a: the standard headers, signed with ed25519; nothing to choose."""
    algorithm = fields.get("algorithm", ED25519)
    if algorithm != ED25519 or preset not in (None, ED25519):
        raise InvalidInput(
            f"signature.algorithm: {algorithm!r} is not known; 'ed25519' is (Standard Webhooks "
            "v1a), and HMAC-SHA256 schemes leave `algorithm` out",
            loc=("signature", "algorithm"),
        )
    other = sorted(set(fields) - {"algorithm"})
    if other:
        raise InvalidInput(
            f"signature: an ed25519 scheme sends the Standard Webhooks headers and takes no "
            f'{other[0]!r}; send {{"preset": "ed25519"}} alone',
            loc=("signature", other[0]),
        )
    return dict(ED25519_SCHEME)


def _header_name(name: object, loc: tuple[str, ...]) -> str:
    where = ".".join(loc)
    if not isinstance(name, str) or not HEADER_NAME.match(name):
        raise InvalidInput(
            f"{where}: {name!r} is not a valid HTTP header name; use letters, digits and "
            "dashes, e.g. 'X-Webhook-Signature'",
            loc=loc,
        )
    if name.lower() in HTTP_HEADERS:
        raise InvalidInput(
            f"{where}: {name!r} is set by HTTP itself and cannot carry a signature; choose "
            "another name, e.g. 'X-Webhook-Signature'",
            loc=loc,
        )
    return name


def _choice(value: object, field: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise InvalidInput(
            f"signature.{field}: {value!r} is not one of {', '.join(map(repr, allowed))}",
            loc=("signature", field),
        )
    assert isinstance(value, str)
    return value


def _template(
    text: object,
    field: str,
    allowed: tuple[str, ...],
    *,
    required: str | None = None,
    loc: tuple[str, ...] | None = None,
) -> str:
    """A checked template: known placeholders only, and the `required` one present."""
    loc = loc or ("signature", field)
    where = ".".join(loc)
    known = ", ".join("{" + name + "}" for name in allowed)
    if not isinstance(text, str):
        raise InvalidInput(f"{where} must be a string such as {known.split(', ')[0]!r}", loc=loc)
    if len(text) > MAX_TEMPLATE:
        raise InvalidInput(f"{where}: at most {MAX_TEMPLATE} characters; got {len(text)}", loc=loc)
    if field != "signed" and not _PRINTABLE_ASCII.match(text):
        raise InvalidInput(
            f"{where}: a header value takes printable ASCII characters only (no line breaks)",
            loc=loc,
        )
    try:
        parts = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise InvalidInput(
            f"{where}: {exc}; placeholders are written {{name}}, and a literal brace as "
            "{{ or }}",
            loc=loc,
        ) from None
    names = set()
    for _, name, spec, conversion in parts:
        if name is None:
            continue
        shown = (
            "{"
            + name
            + ("!" + conversion if conversion else "")
            + (":" + spec if spec else "")
            + "}"
        )
        if name not in allowed:
            hint = ""
            if name == "signature":
                hint = " ({signature} is only known in `value`)"
            elif name == "body":
                hint = " ({body} can only be signed, in `signed`)"
            raise InvalidInput(
                f"{where}: unknown placeholder {shown}{hint}; the known ones here are {known}",
                loc=loc,
            )
        if spec or conversion:
            raise InvalidInput(
                f"{where}: {shown} takes no format or conversion; write {{{name}}}", loc=loc
            )
        names.add(name)
    if required is not None and required not in names:
        raise InvalidInput(
            f"{where}: {text!r} must contain {{{required}}}, e.g. "
            + ("'sha256={signature}'" if required == "signature" else "'{timestamp}.{body}'"),
            loc=loc,
        )
    return text


def _extra_headers(extra: object, signature_header: str) -> dict[str, str]:
    if not isinstance(extra, Mapping):
        raise InvalidInput(
            'signature.headers must be an object such as {"X-Webhook-ID": "{id}"}',
            loc=("signature", "headers"),
        )
    if len(extra) > MAX_EXTRA_HEADERS:
        raise InvalidInput(
            f"signature.headers: at most {MAX_EXTRA_HEADERS} headers; got {len(extra)}",
            loc=("signature", "headers"),
        )
    seen = {signature_header.lower()}
    checked: dict[str, str] = {}
    for name, text in extra.items():
        loc = ("signature", "headers", str(name))
        _header_name(name, loc)
        if name.lower() in seen:
            raise InvalidInput(
                f"signature.headers: {name!r} is named twice (header names ignore case); keep one",
                loc=loc,
            )
        seen.add(name.lower())
        checked[name] = _template(text, "headers", HEADER_PLACEHOLDERS, loc=loc)
    return checked


def check_secret(scheme: Scheme, secret: str | None) -> str:
    """The secret a webhook signs with: `secret` once checked, or a new one when None (a
    `whsec_` secret, which custom schemes sign with too, as its UTF-8 bytes; a `whsk_` private
    key for ed25519)."""
    if secret is None:
        return signing.generate_signing_key() if is_ed25519(scheme) else signing.generate_secret()
    if scheme is None:
        try:
            signing.secret_key(secret)
        except ValueError as exc:
            raise InvalidInput(f"secret: {exc}", loc=("secret",)) from None
        return secret
    if is_ed25519(scheme):
        try:
            weak = signing.weakness(signing.signing_key(secret))
        except ValueError as exc:
            raise InvalidInput(f"secret: {exc}", loc=("secret",)) from None
        if weak is not None:
            raise InvalidInput(
                f"secret: a signing key must be random, and this one is not: {weak}; leave it "
                "out, and hookline generates one",
                loc=("secret",),
            )
        return secret
    if secret.startswith(signing.SIGNING_KEY_PREFIX):
        raise InvalidInput(
            "secret: a 'whsk_' secret is an ed25519 private key, which must never be shared with "
            "a receiver; an HMAC scheme needs a shared secret: leave it out, and hookline "
            "generates one",
            loc=("secret",),
        )
    if not MIN_CUSTOM_SECRET <= len(secret) <= MAX_CUSTOM_SECRET:
        raise InvalidInput(
            f"secret: with a custom signature scheme a secret is {MIN_CUSTOM_SECRET} to "
            f"{MAX_CUSTOM_SECRET} printable ASCII characters; this one has {len(secret)} "
            "(or leave it out, and hookline generates one)",
            loc=("secret",),
        )
    if not _PRINTABLE_ASCII.match(secret):
        raise InvalidInput(
            "secret: with a custom signature scheme a secret is printable ASCII characters "
            "(space to '~'); this one holds others, such as a line break or a non-ASCII letter",
            loc=("secret",),
        )
    weak = signing.weakness(secret.encode())
    if weak is not None:
        raise InvalidInput(
            f"secret: a webhook secret must be random, and this one is not: {weak}; use a long "
            "random string (or leave it out, and hookline generates one)",
            loc=("secret",),
        )
    return secret


def fits(scheme: Scheme, secret: str) -> bool:
    """Whether a stored secret can sign under `scheme`: Standard Webhooks needs `whsec_`,
    ed25519 `whsk_`, and an HMAC scheme anything but an ed25519 private key."""
    if scheme is not None and not is_ed25519(scheme):
        return not secret.startswith(signing.SIGNING_KEY_PREFIX)
    try:
        key(scheme, secret)
    except ValueError:
        return False
    return True
