"""The Python a receiver verifies a webhook's deliveries with, written for its signature scheme
and shown with the secret after create and rotate (pure). Standard Webhooks uses its library;
ed25519 (v1a) the `cryptography` package and the public key; any HMAC scheme (the presets and
custom ones) reads the values it needs back out of the headers the scheme sends."""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hookline import schemes, signing


@dataclass(frozen=True)
class Snippet:
    intro: str  # one sentence on what the code checks
    code: str  # Python, complete: paste it and call verify(body, headers)


def for_scheme(scheme: Mapping[str, Any] | None, secret: str, *, webhook_id: str) -> Snippet:
    if scheme is None:
        return Snippet(
            "Standard Webhooks: check the webhook-signature header with any Standard Webhooks "
            "library.",
            STANDARD.format(secret=secret),
        )
    if schemes.is_ed25519(scheme):
        public = signing.public_key(signing.signing_key(secret)).removeprefix(
            signing.PUBLIC_KEY_PREFIX
        )
        return Snippet(
            "Standard Webhooks v1a: receivers check the ed25519 signature with the public key "
            "only (GET /api/v1/webhooks/{id}/public-key); keep the signing key above private.",
            ED25519.format(public=public),
        )
    return _hmac(scheme, secret, webhook_id)


STANDARD = """from standardwebhooks import Webhook

payload = Webhook("{secret}").verify(body, headers)  # raises if not signed by hookline
"""

ED25519 = '''import base64

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

PUBLIC_KEY = Ed25519PublicKey.from_public_bytes(base64.b64decode("{public}"))


def verify(body: bytes, headers) -> bool:
    """True when hookline signed this request (headers: as your web framework gives them)."""
    signed = f"{{headers['webhook-id']}}.{{headers['webhook-timestamp']}}.".encode() + body
    for item in headers["webhook-signature"].split():
        version, _, signature = item.partition(",")
        if version == "v1a":
            try:
                PUBLIC_KEY.verify(base64.b64decode(signature), signed)
                return True
            except InvalidSignature:
                continue
    return False
'''


def _hmac(scheme: Mapping[str, Any], secret: str, webhook_id: str) -> Snippet:
    """Each header the scheme sends becomes a pattern that reads its placeholders back; the
    signed text is put together from them and the body, and signed again."""
    sent = {scheme["header"]: scheme["value"], **scheme["headers"]}
    patterns = {name: _pattern(template) for name, template in sent.items()}
    known = {name for template in sent.values() for name in _placeholders(template)}
    parts = []
    for literal, name, _, _ in string.Formatter().parse(scheme["signed"]):
        if literal:
            parts.append(repr(literal.encode()))
        if name == "body":
            parts.append("body")
        elif name == "webhook_id" and name not in known:
            parts.append(repr(webhook_id.encode()))
        elif name is not None and name not in known:
            return Snippet(
                f"This scheme signs {{{name}}} without sending it in a header, so the receiver "
                "must know it some other way: see docs/formats.md, Signature schemes.",
                "",
            )
        elif name is not None:
            parts.append(f"found[{name!r}].encode()")
    encode = "digest.hex()" if scheme["encoding"] == "hex" else "base64.b64encode(digest).decode()"
    lines = [
        *(["import base64"] if scheme["encoding"] == "base64" else []),
        "import hashlib",
        "import hmac",
        "import re",
        "",
        f"SECRET = {secret.encode()!r}",
        "PATTERNS = {",
        *(f"    {name!r}: re.compile({pattern!r})," for name, pattern in patterns.items()),
        "}",
        "",
        "",
        "def verify(body: bytes, headers) -> bool:",
        '    """True when hookline signed this request (headers: as your web framework gives',
        '    them, looked up by name whatever the case)."""',
        "    found = {}",
        "    for name, pattern in PATTERNS.items():",
        '        match = pattern.fullmatch(headers.get(name, ""))',
        "        if match is None:",
        "            return False",
        "        found.update(match.groupdict())",
        f"    signed = {' + '.join(parts)}",
        "    digest = hmac.new(SECRET, signed, hashlib.sha256).digest()",
        f"    return hmac.compare_digest({encode}, found['signature'])",
    ]
    return Snippet(
        f"An HMAC-SHA256 of {scheme['signed']} keyed with this secret, in the "
        f"{scheme['header']} header ({scheme['encoding']}).",
        "\n".join(lines) + "\n",
    )


def _placeholders(template: str) -> list[str]:
    return [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]


def _pattern(template: str) -> str:
    """A regular expression that matches a header value the template wrote, with a named group
    for each placeholder (the same name again must match the same text)."""
    out, seen = [], set()
    for literal, name, _, _ in string.Formatter().parse(template):
        out.append(re.escape(literal))
        if name is None:
            continue
        out.append(f"(?P={name})" if name in seen else f"(?P<{name}>.+?)")
        seen.add(name)
    return "".join(out)
