"""Whatever a receiver puts in `Retry-After`, the attempt that got it is recorded with its status
code and the delivery goes on with its schedule: an unusable value is ignored, never fatal.

Two receivers: the aiohttp one (it sends header values as UTF-8 text, so `²` and Arabic-Indic
digits arrive as their UTF-8 bytes), and a raw socket server for bytes aiohttp will not write
(Latin-1 `²`, bytes that are not UTF-8 at all)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from tests.support import api
from tests.support.harness import Running
from tests.support.receiver import Receiver, Reply

UNUSABLE_TEXT = [
    "\u00b2",  # superscript two: str.isdigit() is true, float() refuses it
    "\u0661",  # Arabic-Indic one
    "\u0663\u0660",  # Arabic-Indic thirty
    "\uff13\uff10",  # fullwidth thirty
    "-5",
    "1.5",
    "Wed, 21 Oct 99999 07:28:00 GMT",
    "soon",
]
UNUSABLE_BYTES = [
    b"\xb2",  # superscript two in Latin-1: not UTF-8
    b"\xff\xfe",
    b"\xd9\xa1",  # Arabic-Indic one in UTF-8, written raw
    b"\xef\xbc\x93\xef\xbc\x90",  # fullwidth thirty in UTF-8, written raw
]


class RawReceiver:
    """An HTTP/1.1 server written on a bare socket: the first request to each path is answered
    503 with the path's raw `Retry-After` bytes, every later one 200."""

    def __init__(self, retry_after: dict[str, bytes]) -> None:
        self._retry_after = retry_after
        self.paths = tuple(retry_after)
        self.seen: list[str] = []
        self.port = 0

    @contextlib.asynccontextmanager
    async def serving(self) -> AsyncIterator[RawReceiver]:
        server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        async with server:
            yield self

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        request_line, *header_lines = head.decode("latin-1").split("\r\n")
        length = 0
        for line in header_lines:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        await reader.readexactly(length)
        path = request_line.split(" ")[1]
        first = path not in self.seen
        self.seen.append(path)
        if first:
            writer.write(
                b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: "
                + self._retry_after[path]
                + b"\r\nContent-Length: 4\r\nConnection: close\r\n\r\nbusy"
            )
        else:
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        await writer.drain()
        writer.close()


async def test_an_unusable_retry_after_is_ignored_and_the_attempt_recorded(
    hookline: Running, receiver: Receiver
) -> None:
    raw = RawReceiver({f"/raw/{n}": value for n, value in enumerate(UNUSABLE_BYTES)})
    async with raw.serving():
        tenant = await api.tenant(hookline.client)
        await api.event_type(hookline.client, "order.filled")
        urls = []
        for n, value in enumerate(UNUSABLE_TEXT):
            receiver.script(f"/text/{n}", Reply(503, "busy", {"Retry-After": value}), Reply(200))
            urls.append(receiver.url(f"/text/{n}"))
        urls += [raw.url(f"/raw/{n}") for n in range(len(UNUSABLE_BYTES))]
        for url in urls:
            await api.webhook(hookline.client, tenant["id"], url)

        sent = await api.send(hookline.client, "order.filled", {"n": 1}, tenant["id"])
        deliveries = await api.settled(hookline.client, sent["id"], count=len(urls), timeout=10)

    assert {d["status"] for d in deliveries} == {"succeeded"}, deliveries
    for delivery in deliveries:
        attempts = await api.attempts(hookline.client, delivery["id"])
        assert [(a["status_code"], a["error"]) for a in attempts] == [
            (503, "HTTP 503"),
            (200, None),
        ], delivery
    # Each retry kept to the schedule (0.2 s ± 20%): the header neither sped it up nor, as the
    # settling within 10 s shows, held it back.
    for n in range(len(UNUSABLE_TEXT)):
        first, second = receiver.at(f"/text/{n}")
        assert second.at - first.at >= 0.2 * 0.8 - 0.02
    assert sorted(raw.seen) == sorted(2 * list(raw.paths))
