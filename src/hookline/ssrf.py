"""The SSRF guard: which URLs a webhook may have and which addresses hookline may connect to.

One reading of a URL: `parse_url` parses it with yarl, as aiohttp will, so the host is normalised
once with IDNA/UTS-46 (fullwidth digits, ideographic full stops and circled digits spelling
127.0.0.1 are `127.0.0.1`; fullwidth `localhost.` is `localhost.`) and every check judges what
the client will actually connect to.

Checked twice, with the same `host_refusal`:
- when a webhook is saved (`check_url`): scheme, credentials, a host yarl/IDNA cannot read, IP
  literals in any spelling (`2130706433`, `0x7f.1`, `0177.0.0.1`, `127.1`, `[::ffff:127.0.0.1]`),
  IPv6 zone ids, and names certain to be local (`localhost`, `*.localhost`, `*.local`, ...);
- at every connection (`transport.Transport.post`, which sends the very `yarl.URL` it checked),
  and on the addresses DNS returns (`transport.GuardedResolver`), so a name that later resolves
  to an internal address is still refused.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from yarl import URL

from hookline.errors import InvalidInput

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

MAX_URL_LENGTH = 2048

# Ranges that are never a customer's public endpoint, beyond what `is_global` already excludes.
_BLOCKED_V4 = tuple(
    ipaddress.IPv4Network(n)
    for n in (
        "0.0.0.0/8",  # "this network"
        "10.0.0.0/8",
        "100.64.0.0/10",  # carrier-grade NAT
        "127.0.0.0/8",
        "169.254.0.0/16",  # link-local, cloud metadata (169.254.169.254)
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",  # benchmarking
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, broadcast
    )
)
_NAT64 = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"))
_NUMERIC_HOST = re.compile(r"^(0x[0-9a-f]+|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+)){0,3}\.?$", re.I)
_HOST_NAME = re.compile(r"^[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?$", re.I)
# Names that mean this machine or a local network whatever DNS says (RFC 6761, 6762, 8375).
_LOCAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")
_LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".home.arpa")


@dataclass(frozen=True, slots=True)
class NetworkPolicy:
    """`allow_private` (--dev) opens every address; `allowed_networks` opens chosen ranges."""

    allow_http: bool = False
    allow_private: bool = False
    allowed_networks: tuple[IPNetwork, ...] = field(default=())

    @classmethod
    def development(cls) -> NetworkPolicy:
        return cls(allow_http=True, allow_private=True)


def _embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses an IPv6 address can carry to reach an IPv4 host."""
    found: list[ipaddress.IPv4Address] = []
    if address.ipv4_mapped is not None:
        found.append(address.ipv4_mapped)
    packed = address.packed
    if packed[:12] == bytes(12) and int(address) > 1:  # IPv4-compatible ::a.b.c.d
        found.append(ipaddress.IPv4Address(packed[12:]))
    if any(address in net for net in _NAT64):
        found.append(ipaddress.IPv4Address(packed[12:]))
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.extend(address.teredo)
    return found


def _opened(address: IPAddress, policy: NetworkPolicy) -> bool:
    """The operator opened this address on purpose (--dev or HOOKLINE_ALLOWED_NETWORKS)."""
    return policy.allow_private or any(address in net for net in policy.allowed_networks)


def blocked_reason(
    address: IPAddress, policy: NetworkPolicy, *, subject: str | None = None
) -> str | None:
    """Why hookline must not connect to `address`, or None if it may. `subject` leads the
    message in place of the bare address: `"<host as the user wrote it> is"` or
    `"<name> resolves to"`, giving `"<subject> 127.0.0.1, not a public internet address; ..."`."""
    if _opened(address, policy):
        return None
    candidates: list[IPAddress] = [address]
    if isinstance(address, ipaddress.IPv6Address):  # name the IPv4 host it reaches, if any
        candidates[:0] = _embedded_ipv4(address)
    for candidate in candidates:
        if isinstance(candidate, ipaddress.IPv4Address):
            if any(candidate in net for net in _BLOCKED_V4) or not candidate.is_global:
                return _describe(address, candidate, subject)
        elif not candidate.is_global or candidate.is_multicast:
            return _describe(address, candidate, subject)
    return None


def _describe(address: IPAddress, blocked: IPAddress, subject: str | None) -> str:
    inner = "" if blocked == address else f" (it carries {blocked})"
    what = f"{address}{inner} is not" if subject is None else f"{subject} {address}{inner}, not"
    return (
        f"{what} a public internet address; webhooks may only reach public hosts "
        "(use --dev or HOOKLINE_ALLOWED_NETWORKS to open private ranges on purpose)"
    )


def parse_ip_literal(host: str) -> IPAddress | None:
    """The address a host name spells as a literal, in any spelling a resolver accepts
    (`127.0.0.1`, `[::1]`, `2130706433`, `0x7f.1`, `0177.0.0.1`, `127.0.0.1.`); None for a real
    name. Give it the host as `parse_url` normalised it: Unicode digits are not read here."""
    host = host.strip("[]")
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        pass
    if _NUMERIC_HOST.match(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host.rstrip(".")))
        except OSError:
            return None
    return None


def parse_url(url: str) -> URL:
    """`url` read once, exactly as the HTTP client will read it: aiohttp parses with yarl, which
    normalises the host with IDNA/UTS-46 (127.0.0.1 in fullwidth or circled digits, or with
    ideographic full stops, becomes `127.0.0.1`; fullwidth `localhost` becomes `localhost`).
    Check this object and send this very object."""
    try:
        parsed = URL(url)
        parsed.host  # noqa: B018 (decodes the punycode: a label IDNA cannot read fails here)
    except (ValueError, UnicodeError) as exc:
        raise InvalidInput(f"url {url!r} is not a valid URL: {exc}") from None
    problem = _malformed_host(parsed.raw_host or "")
    if problem:
        raise InvalidInput(f"url host {problem}")
    return parsed


def check_url(url: str, policy: NetworkPolicy) -> str:
    """Validate a webhook URL at save time; returns it unchanged or raises InvalidInput."""
    if len(url) > MAX_URL_LENGTH:
        raise InvalidInput(f"url is {len(url)} characters long; the limit is {MAX_URL_LENGTH}")
    if any(ch.isspace() for ch in url) or any(ord(ch) < 32 for ch in url):
        raise InvalidInput("url must not contain spaces or control characters")
    parsed = parse_url(url)
    if parsed.scheme not in ("http", "https"):
        raise InvalidInput(f"url must start with https:// (or http://); got {url!r}")
    if parsed.scheme == "http" and not policy.allow_http:
        raise InvalidInput(
            "url must use https://; plain http is only allowed with --dev or HOOKLINE_ALLOW_HTTP"
        )
    if "@" in (parsed.raw_authority or ""):
        raise InvalidInput(
            "url must not contain credentials (user:password@); send them in a custom header"
        )
    if not parsed.raw_host:
        raise InvalidInput(f"url {url!r} has no host name")
    if parsed.explicit_port == 0:
        raise InvalidInput("url port 0 is not a port a server listens on")
    reason = host_refusal(parsed, policy, written=url)
    if reason:
        raise InvalidInput(f"url host {reason}")
    return url


def host_refusal(url: URL, policy: NetworkPolicy, *, written: str | None = None) -> str | None:
    """Why hookline must not connect to the host of `url` (from `parse_url`), or None if it may.

    The host is judged as the HTTP client will use it (normalised, ASCII). `written` is the URL
    as the user wrote it, only to name the host in their own spelling in the message."""
    if policy.allow_private:
        return None
    host = url.raw_host or ""
    spelled = _spelled(written, host)
    literal = parse_ip_literal(host)
    if literal is not None:
        if "%" in host and not _opened(literal, policy):
            return (
                f"{spelled} has an IPv6 zone id, which names a network interface of this "
                "machine; webhooks may only reach public hosts (use --dev for local testing)"
            )
        subject = None if spelled == str(literal) else f"{spelled} is"
        return blocked_reason(literal, policy, subject=subject)
    if _looks_numeric(host):
        return f"{spelled} is neither an IP address nor a host name; give a host name or an address"
    if _is_local_name(host):
        shown = spelled if spelled == host else f"{spelled} is {host}, which"
        return (
            f"{shown} names this machine or a local network; webhooks may only reach "
            "public hosts (use --dev for local testing)"
        )
    return None


def _spelled(written: str | None, host: str) -> str:
    """The host as the user wrote it (for messages only; the decision uses `host`)."""
    if written is None:
        return host
    try:
        return urlsplit(written).hostname or host
    except ValueError:
        return host


def _malformed_host(host: str) -> str | None:
    """After IDNA a host is an IP literal or ASCII labels of letters, digits, `-` and `_`;
    anything else (percent escapes, empty labels, several trailing dots) is refused, not guessed
    at. An empty host is left to the caller (a relative URL has none)."""
    if not host:
        return None
    if ":" in host:
        if parse_ip_literal(host) is None:
            return f"{host} is not a valid IPv6 address"
        return None
    if not _HOST_NAME.match(host):
        return f"{host} is not a valid host name (letters, digits, '-', '_' and '.' only)"
    return None


def _looks_numeric(host: str) -> bool:
    """aiohttp connects to such a host without asking the resolver: it must be an address."""
    return host.replace(".", "").isdigit()


def _is_local_name(host: str) -> bool:
    host = host.rstrip(".").lower()
    return host in _LOCAL_NAMES or host.endswith(_LOCAL_SUFFIXES)


def parse_networks(values: Iterable[str]) -> tuple[IPNetwork, ...]:
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            raise InvalidInput(f"{value!r} is not a CIDR network such as 10.0.0.0/8") from None
    return tuple(networks)
