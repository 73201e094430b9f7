"""Where attempts go, chosen by the webhook's URL scheme: `https`/`http` through the pooled,
SSRF-guarded `Transport`, `mailto` through the SMTP relay, and the brokers `redis`, `amqp` and
`nats`. Each destination is a small object with `send(request) -> Result` and `close()`; adding
one is a module and an entry in `Destinations.from_settings`, never a change to the worker.

Whatever a destination does, `post` returns a `Result` within the attempt's timeout: a broker
that is down or hangs is a failed attempt, retried on the schedule, never a stuck worker.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from typing import Protocol

from hookline.config import Settings
from hookline.destinations.urls import kind_of, mask
from hookline.ssrf import NetworkPolicy
from hookline.transport import Failure, OutboundRequest, Result, Transport, elapsed_ms

log = logging.getLogger(__name__)


class Destination(Protocol):
    async def send(self, request: OutboundRequest) -> Result:
        """Send one attempt; return what happened (never raise for what the far side does).
        `Destinations.post` bounds it by the attempt's timeout."""
        ...

    async def close(self) -> None: ...


class Destinations:
    """Every destination this process sends to. Start it inside the event loop that uses it."""

    def __init__(self, http: Transport, others: Mapping[str, Destination]) -> None:
        self.http = http
        self._others = dict(others)

    async def start(self) -> None:
        await self.http.start()

    async def close(self) -> None:
        for destination in self._others.values():
            try:
                await destination.close()
            except Exception:
                log.exception("closing a destination failed")
        await self.http.close()

    async def post(self, request: OutboundRequest) -> Result:
        kind = kind_of(request.url)
        if kind in ("http", "https"):
            return await self.http.post(request)
        destination = self._others.get(kind or "")
        if destination is None:
            return Failure(
                error=f"{kind or 'this kind of'} destination is not enabled on this "
                "installation (HOOKLINE_DESTINATIONS; mailto: needs HOOKLINE_SMTP_URL too)",
                latency_ms=0,
            )
        timeout = request.timeout or self.http.timeout
        started = time.perf_counter()
        try:
            async with asyncio.timeout(timeout):
                return await destination.send(request)
        except TimeoutError:
            return Failure(
                error=f"timeout: the {kind} destination did not answer within {timeout:g} s",
                latency_ms=elapsed_ms(started),
            )
        except Exception as exc:  # a fault of the client library: recorded, never raised
            log.exception("sending to %s failed", mask(request.url))
            return Failure(
                error=f"{kind} destination: {type(exc).__name__}", latency_ms=elapsed_ms(started)
            )


def build(
    settings: Settings,
    http: Transport,
    policy: NetworkPolicy,
    *,
    kinds: frozenset[str] | None = None,
) -> Destinations:
    """The destinations the installation enabled (`kinds`; by default HOOKLINE_DESTINATIONS's),
    over `http`."""
    from hookline.destinations import amqp, nats, redis, smtp

    kinds = settings.destination_kinds if kinds is None else kinds
    idle = settings.destination_idle_timeout
    others: dict[str, Destination] = {}
    if "mailto" in kinds and settings.smtp_url is not None:
        sender = settings.smtp_from or "hookline@localhost"
        others["mailto"] = smtp.Smtp(settings.smtp_url.get_secret_value(), sender, idle=idle)
    if "redis" in kinds:
        others["redis"] = redis.Redis(policy, idle=idle)
    if "amqp" in kinds:
        others["amqp"] = amqp.Amqp(policy, idle=idle)
    if "nats" in kinds:
        others["nats"] = nats.Nats(policy, idle=idle)
    return Destinations(http, others)
