"""A real HTTP receiver on loopback whose behaviour a test switches per path.

receiver.script("/a", Reply(500), Reply(500), Reply(200))   # consumed in order, last repeats
receiver.script("/slow", Reply(200, delay=5))
receiver.script("/gone", Reply(410))
receiver.script("/reset", Reset())
"""

from __future__ import annotations

import asyncio
import collections
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: str = "ok"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass(frozen=True)
class Reset:
    """Drop the connection without answering."""


@dataclass(frozen=True)
class Custom:
    """Answer with a handler of the test's own (streams, trickles, odd headers...)."""

    handler: Callable[[web.Request], Awaitable[web.StreamResponse]]


Behaviour = Reply | Reset | Custom


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


class Receiver:
    def __init__(self, ssl_context: ssl.SSLContext | None = None) -> None:
        self._ssl = ssl_context
        self.requests: list[Received] = []
        self.open: collections.Counter[str] = collections.Counter()  # path -> requests being served
        self.peak: collections.Counter[str] = collections.Counter()  # path -> most at once
        self._scripts: dict[str, list[Behaviour]] = {}
        self._arrived = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.port = 0

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=self._ssl)
        await site.start()
        server = site._server
        assert isinstance(server, asyncio.Server)
        self.port = server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def url(self, path: str = "/", host: str = "127.0.0.1") -> str:
        scheme = "https" if self._ssl else "http"
        return f"{scheme}://{host}:{self.port}{path}"

    def script(self, path: str, *behaviours: Behaviour) -> None:
        self._scripts[path] = list(behaviours)

    def at(self, path: str) -> list[Received]:
        return [r for r in self.requests if r.path == path]

    async def wait_for(
        self, count: int, path: str | None = None, timeout: float = 10.0
    ) -> list[Received]:
        """Wait until `count` requests arrived (at `path`, if given)."""

        def matching() -> list[Received]:
            return self.requests if path is None else self.at(path)

        async with self._arrived:
            await asyncio.wait_for(
                self._arrived.wait_for(lambda: len(matching()) >= count), timeout
            )
        return matching()

    def _next(self, path: str) -> Behaviour:
        script = self._scripts.get(path)
        if not script:
            return Reply()
        return script.pop(0) if len(script) > 1 else script[0]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.open[request.path] += 1
        self.peak[request.path] = max(self.peak[request.path], self.open[request.path])
        try:
            return await self._answer(request)
        finally:
            self.open[request.path] -= 1

    async def _answer(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        async with self._arrived:
            self.requests.append(Received(request.path, dict(request.headers), body, time.time()))
            self._arrived.notify_all()
        behaviour = self._next(request.path)
        if isinstance(behaviour, Custom):
            return await behaviour.handler(request)
        if isinstance(behaviour, Reset):
            assert request.transport is not None
            request.transport.abort()
            raise asyncio.CancelledError
        if behaviour.delay:
            await asyncio.sleep(behaviour.delay)
        return web.Response(status=behaviour.status, text=behaviour.body, headers=behaviour.headers)
