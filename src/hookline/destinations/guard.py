"""The SSRF guard for destinations that are not HTTP: resolve the host once, refuse it if any
address is forbidden, and connect to the address that was checked."""

from __future__ import annotations

import socket

from hookline.destinations.pool import Unsent
from hookline.ssrf import NetworkPolicy
from hookline.transport import BlockedAddressError, GuardedResolver


class Refused(Exception):
    """The host may not be connected to; the message says why."""


async def address(host: str, port: int, policy: NetworkPolicy) -> str:
    """The address to connect to for `host`; raises Refused with the SSRF guard's reason, or
    OSError when the name does not resolve."""
    if policy.allow_private:
        return host
    resolver = GuardedResolver(policy)
    try:
        results = await resolver.resolve(host, port, socket.AF_UNSPEC)
    except BlockedAddressError as exc:
        raise Refused(f"blocked by the SSRF guard: {exc}") from None
    finally:
        await resolver.close()
    return str(results[0]["host"])


async def reach(host: str, port: int, policy: NetworkPolicy, *, where: str) -> str:
    """`address`, with what stops it said as an Unsent naming `where` (the destination as
    shown in errors)."""
    try:
        return await address(host, port, policy)
    except Refused as exc:
        raise Unsent(f"{where}: {exc}") from None
    except OSError:
        raise Unsent(f"could not connect to {where}: the name does not resolve") from None
