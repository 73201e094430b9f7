"""Destination URLs: what kind of destination a webhook's `url` names, whether this installation
lets the caller use it, and how it is shown back (credentials masked).

Pure: `check` reads the URL and raises InvalidInput saying what to fix; nothing connects.

    https://example.com/hook                      an HTTP endpoint (hookline.ssrf.check_url)
    mailto:alice@example.com,bob@example.com      email through HOOKLINE_SMTP_URL
    redis://:pass@host:6379/0?channel=NAME        PUBLISH (or ?stream=NAME[&maxlen=N]: XADD)
    amqp://user:pass@host:5672/vhost?exchange=X&routing_key=Y
    nats://host:4222?subject=S[&stream=NAME]      JetStream publish when `stream` is given
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

from hookline.errors import Forbidden, InvalidInput
from hookline.ssrf import MAX_URL_LENGTH, NetworkPolicy, check_url, host_refusal, parse_url

MASK = "****"
MAX_RECIPIENTS = 50
# The kind each URL scheme names; rediss and amqps are the TLS spellings.
KINDS = {
    "https": "https",
    "http": "http",
    "mailto": "mailto",
    "redis": "redis",
    "rediss": "redis",
    "amqp": "amqp",
    "amqps": "amqp",
    "nats": "nats",
}
BROKERS = frozenset({"redis", "amqp", "nats"})
DEFAULT_PORTS = {"redis": 6379, "amqp": 5672, "nats": 4222}
# Query parameters per broker kind: (required, optional).
PARAMETERS: Mapping[str, tuple[frozenset[str], frozenset[str]]] = {
    "redis": (frozenset(), frozenset({"channel", "stream", "maxlen"})),
    "amqp": (frozenset({"exchange"}), frozenset({"routing_key"})),
    "nats": (frozenset({"subject"}), frozenset({"stream"})),
}
_ADDRESS = re.compile(r"[^@\s,<>()\[\]\\;:\"]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?")
_NAME = re.compile(r"[\x21-\x7e]{1,255}")  # a channel, stream, exchange, key or subject


@dataclass(frozen=True, slots=True)
class DestinationURL:
    """A checked destination URL. `url` is the whole URL, credentials included: store it sealed
    when `has_credentials`, and show `masked` instead."""

    kind: str
    url: str
    masked: str
    has_credentials: bool = False
    host: str = ""
    port: int | None = None
    params: Mapping[str, str] = field(default_factory=dict)
    recipients: tuple[str, ...] = ()


def kind_of(url: str) -> str | None:
    """The destination kind a URL names (`https`, `mailto`, `redis`...), None if none."""
    scheme, colon, _ = url.partition(":")
    return KINDS.get(scheme.lower()) if colon else None


def check(
    url: str, policy: NetworkPolicy, *, allowed: frozenset[str], admin: bool
) -> DestinationURL:
    """Validate a webhook's `url` at save time, or raise InvalidInput saying what to fix."""
    if len(url) > MAX_URL_LENGTH:
        raise _error(f"url is {len(url)} characters long; the limit is {MAX_URL_LENGTH}")
    kind = kind_of(url)
    if kind is None:
        raise _error(
            "url must start with https:// (or http://), or name another destination "
            f"(mailto:, redis://, amqp://, nats://); got {mask(url)!r}"
        )
    if kind not in allowed:
        raise _error(
            f"{kind} destinations are not enabled on this installation; the operator enables "
            f"them with HOOKLINE_DESTINATIONS (enabled: {', '.join(sorted(allowed))})"
            + (" and HOOKLINE_SMTP_URL" if kind == "mailto" else "")
        )
    if kind in ("http", "https"):
        checked = check_url(url, policy)
        return DestinationURL(kind=kind, url=checked, masked=checked)
    if kind == "mailto":
        return _mailto(url)
    if not admin:
        raise Forbidden(
            f"{kind} destinations are created with an admin key only: a broker belongs to the "
            "platform, not to one tenant"
        )
    return _broker(kind, url, policy)


def _mailto(url: str) -> DestinationURL:
    _, _, rest = url.partition(":")
    if "?" in rest:
        raise _error(
            "a mailto: url takes addresses only; set the subject with "
            'format_options {"subject": "..."}'
        )
    recipients = tuple(part.strip() for part in rest.split(",") if part.strip())
    if not recipients:
        raise _error("mailto: url has no address; write mailto:alice@example.com")
    if len(recipients) > MAX_RECIPIENTS:
        raise _error(f"mailto: at most {MAX_RECIPIENTS} addresses; got {len(recipients)}")
    for address in recipients:
        if not _ADDRESS.fullmatch(address) or len(address) > 254:
            raise _error(f"mailto: {address!r} is not an email address such as alice@example.com")
    written = "mailto:" + ",".join(recipients)
    return DestinationURL(kind="mailto", url=written, masked=written, recipients=recipients)


def _broker(kind: str, url: str, policy: NetworkPolicy) -> DestinationURL:
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise _error("url must not contain spaces or control characters")
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        raise _error(f"url port is not a number from 1 to 65535: {mask(url)!r}") from None
    if not parts.hostname:
        raise _error(f"url {mask(url)!r} has no host name")
    if port == 0:
        raise _error("url port 0 is not a port a server listens on")
    params = _params(kind, parts.query)
    parsed = parse_url(url)
    reason = host_refusal(parsed, policy, written=url)
    if reason:
        raise _error(f"url host {reason}")
    if kind == "redis":
        _check_redis(parts.path, params)
    if kind == "nats":
        _check_nats_subject(params["subject"])
    return DestinationURL(
        kind=kind,
        url=url,
        masked=mask(url),
        has_credentials=parts.password is not None or parts.username is not None,
        host=parts.hostname,
        port=port or DEFAULT_PORTS[kind],
        params=params,
    )


def _params(kind: str, query: str) -> dict[str, str]:
    required, optional = PARAMETERS[kind]
    known = required | optional
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError:
        raise _error(f"url query {query!r} is not name=value pairs joined by &") from None
    params: dict[str, str] = {}
    for name, value in pairs:
        if name not in known:
            raise _error(
                f"{kind} url: unknown parameter {name!r}; it takes " + ", ".join(sorted(known))
            )
        if name in params:
            raise _error(f"{kind} url: {name!r} is given twice")
        if not _NAME.fullmatch(value):
            raise _error(f"{kind} url: {name} must be 1 to 255 printable characters, no spaces")
        params[name] = value
    missing = sorted(required - params.keys())
    if missing:
        raise _error(f"{kind} url needs ?{missing[0]}=NAME: hookline declares nothing on a broker")
    return params


def _check_redis(path: str, params: Mapping[str, str]) -> None:
    database = path.strip("/")
    if database and not (database.isdigit() and int(database) < 1_000_000):
        raise _error(
            f"redis url: the database is a number, as in redis://host:6379/0; got {path!r}"
        )
    if ("channel" in params) == ("stream" in params):
        raise _error(
            "redis url needs exactly one of ?channel=NAME (PUBLISH) or ?stream=NAME (XADD)"
        )
    if "maxlen" in params:
        if "stream" not in params:
            raise _error("redis url: maxlen applies to a stream (?stream=NAME&maxlen=N)")
        if not params["maxlen"].isdigit() or int(params["maxlen"]) < 1:
            raise _error("redis url: maxlen must be a whole number of entries, 1 or more")


def _check_nats_subject(subject: str) -> None:
    tokens = subject.split(".")
    if not all(tokens):
        raise _error(f"nats url: subject {subject!r} has an empty token; write orders.filled")
    if any(token in ("*", ">") for token in tokens):
        raise _error(
            f"nats url: subject {subject!r} is a wildcard, which subscribers use; hookline "
            "publishes to one subject such as orders.filled"
        )


def mask(url: str) -> str:
    """The URL with its password (or a lone token) replaced by ****: safe to show and log."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    authority, slash, tail = _split_authority(rest)
    userinfo, at, hostport = authority.rpartition("@")
    if not at:
        return url
    user, colon, _ = userinfo.partition(":")
    shown = f"{user}:{MASK}" if colon else MASK
    return f"{scheme}://{shown}@{hostport}{slash}{tail}"


def _split_authority(rest: str) -> tuple[str, str, str]:
    cut = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    return rest[:cut], rest[cut : cut + 1], rest[cut + 1 :]


def is_masked(url: str) -> bool:
    """Whether `url` is a masked URL as shown back (sent again unchanged in an update)."""
    return f":{MASK}@" in url or f"//{MASK}@" in url


def _error(message: str) -> InvalidInput:
    return InvalidInput(message, loc=("url",))
