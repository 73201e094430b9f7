"""Connections to brokers and relays, one per destination, opened on first use and closed
when idle."""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from hookline.transport import Accepted, Failure, Result, elapsed_ms

log = logging.getLogger(__name__)

C = TypeVar("C")


def tls_reason(exc: ssl.SSLError) -> str:
    """Why a TLS handshake failed, in words."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"the certificate was not accepted: {exc.verify_message}"
    return str(exc.reason or "handshake error")


class Unsent(Exception):
    """An attempt failed before the destination took the message; the message says why, without
    credentials. `broken`: the connection is unusable and must be discarded."""

    def __init__(self, message: str, *, broken: bool = False) -> None:
        super().__init__(message)
        self.broken = broken


class Pool(Generic[C]):
    """`open(key)` makes a connection, `shut(connection)` closes one. A connection unused for
    `idle` seconds is closed at the next `get`; `discard` drops one that failed, so the next
    attempt connects afresh."""

    def __init__(
        self,
        open: Callable[[str], Awaitable[C]],
        shut: Callable[[C], Awaitable[None]],
        *,
        idle: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._open = open
        self._shut = shut
        self._idle = idle
        self._clock = clock
        self._connections: dict[str, tuple[C, float]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def __len__(self) -> int:
        return len(self._connections)

    async def get(self, key: str) -> C:
        await self._sweep()
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            held = self._connections.get(key)
            connection = held[0] if held else await self._open(key)
            self._connections[key] = (connection, self._clock())
            return connection

    async def deliver(
        self, key: str, alive: Callable[[C], bool], send: Callable[[C], Awaitable[str]]
    ) -> Result:
        """One attempt over the connection for `key` (replaced first if the far side closed
        it since its last use): Accepted with what `send` answered, or the Failure its Unsent
        says, a broken connection dropped so the next attempt connects afresh."""
        started = time.perf_counter()
        try:
            connection = await self.get(key)
            if not alive(connection):
                await self.discard(key)
                connection = await self.get(key)
            detail = await send(connection)
        except Unsent as exc:
            if exc.broken:
                await self.discard(key)
            return Failure(error=str(exc), latency_ms=elapsed_ms(started))
        return Accepted(detail=detail, latency_ms=elapsed_ms(started))

    async def discard(self, key: str) -> None:
        held = self._connections.pop(key, None)
        if held is not None:
            await self._quietly_shut(held[0])

    async def close(self) -> None:
        held, self._connections = list(self._connections.values()), {}
        for connection, _ in held:
            await self._quietly_shut(connection)

    async def _sweep(self) -> None:
        cutoff = self._clock() - self._idle
        stale = [key for key, (_, used) in self._connections.items() if used < cutoff]
        for key in stale:
            await self.discard(key)

    async def _quietly_shut(self, connection: C) -> None:
        try:
            await self._shut(connection)
        except Exception as exc:  # closing a dead connection may fail; it is gone either way
            log.debug("closing an idle connection: %s", type(exc).__name__)
