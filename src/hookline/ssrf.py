"""The SSRF guard: which URLs a webhook may have and which addresses hookline may connect to.

Checked twice: when a webhook is saved (scheme, credentials, IP literals in any numeric spelling)
and at every delivery, on the addresses DNS returns (see `transport.GuardedResolver`), so a name
that later resolves to an internal address is still refused.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

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


def blocked_reason(address: IPAddress, policy: NetworkPolicy) -> str | None:
    """Why hookline must not connect to `address`, or None if it may."""
    if policy.allow_private:
        return None
    if any(address in net for net in policy.allowed_networks):
        return None
    candidates: list[IPAddress] = [address]
    if isinstance(address, ipaddress.IPv6Address):
        candidates.extend(_embedded_ipv4(address))
    for candidate in candidates:
        if isinstance(candidate, ipaddress.IPv4Address):
            if any(candidate in net for net in _BLOCKED_V4) or not candidate.is_global:
                return _describe(address, candidate)
        elif not candidate.is_global or candidate.is_multicast:
            return _describe(address, candidate)
    return None


def _describe(address: IPAddress, blocked: IPAddress) -> str:
    inner = "" if blocked == address else f" (it carries {blocked})"
    return (
        f"{address}{inner} is not a public internet address; webhooks may only reach public "
        "hosts (use --dev or HOOKLINE_ALLOWED_NETWORKS to open private ranges on purpose)"
    )


def parse_ip_literal(host: str) -> IPAddress | None:
    """The address a host name spells as a literal, in any spelling a resolver accepts
    (`127.0.0.1`, `[::1]`, `2130706433`, `0x7f.1`, `0177.0.0.1`); None for a real name."""
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


def check_url(url: str, policy: NetworkPolicy) -> str:
    """Validate a webhook URL at save time; returns it unchanged or raises InvalidInput."""
    if len(url) > MAX_URL_LENGTH:
        raise InvalidInput(f"url is {len(url)} characters long; the limit is {MAX_URL_LENGTH}")
    if any(ch.isspace() for ch in url) or any(ord(ch) < 32 for ch in url):
        raise InvalidInput("url must not contain spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidInput(f"url {url!r} is not a valid URL: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise InvalidInput(f"url must start with https:// (or http://); got {url!r}")
    if parts.scheme == "http" and not policy.allow_http:
        raise InvalidInput(
            "url must use https://; plain http is only allowed with --dev or HOOKLINE_ALLOW_HTTP"
        )
    if parts.username is not None or parts.password is not None:
        raise InvalidInput(
            "url must not contain credentials (user:password@); send them in a custom header"
        )
    host = parts.hostname
    if not host:
        raise InvalidInput(f"url {url!r} has no host name")
    if port == 0:
        raise InvalidInput("url port 0 is not a port a server listens on")
    literal = parse_ip_literal(host)
    if literal is not None:
        reason = blocked_reason(literal, policy)
        if reason:
            raise InvalidInput(f"url host {reason}")
    elif not policy.allow_private and _is_local_name(host):
        raise InvalidInput(
            f"url host {host!r} names this machine or a local network; webhooks may only reach "
            "public hosts (use --dev for local testing)"
        )
    return url


def _is_local_name(host: str) -> bool:
    host = host.rstrip(".").lower()
    return host == "localhost" or host.endswith((".localhost", ".local", ".internal"))


def parse_networks(values: Iterable[str]) -> tuple[IPNetwork, ...]:
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            raise InvalidInput(f"{value!r} is not a CIDR network such as 10.0.0.0/8") from None
    return tuple(networks)
