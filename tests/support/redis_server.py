"""Redis for tests: the shared server at 127.0.0.1:6379 (never reconfigured), and private
`redis-server` processes a test starts on a free port when it needs a password, a small stream
node size, TLS, or a server that is not there yet."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from redis.asyncio import Redis

SHARED_URL = "redis://127.0.0.1:6379/0"


def unique(prefix: str) -> str:
    """A channel or stream name no other test (or CI run on the same server) uses."""
    return f"hookline-test.{prefix}.{uuid.uuid4().hex[:12]}"


@asynccontextmanager
async def private_redis(
    directory: Path,
    port: int,
    *,
    password: str | None = None,
    extra: Sequence[str] = (),
    client: Redis | None = None,
) -> AsyncIterator[Redis]:
    """A redis-server of this test's own on `port` (TLS when `extra` says so, then `client`
    must be given); yields a client of it, and stops the server (the process it started)."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly"]
    args += ["no", "--dir", str(directory)]
    if password is not None:
        args += ["--requirepass", password]
    log = directory / f"redis-{port}.log"
    with log.open("ab") as out:
        process = subprocess.Popen([*args, *extra], stdout=out, stderr=out)
    admin = client or Redis(host="127.0.0.1", port=port, password=password)
    try:
        for _ in range(200):
            if process.poll() is not None:
                raise RuntimeError(f"redis-server exited: {log.read_text()[-2000:]}")
            try:
                await admin.ping()
                break
            except Exception:
                await asyncio.sleep(0.02)
        else:
            raise TimeoutError(f"redis-server did not start: {log.read_text()[-2000:]}")
        yield admin
    finally:
        await admin.aclose()
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


class Subscription:
    """SUBSCRIBE to a channel before hookline publishes to it; `message()` waits for one."""

    def __init__(self, client: Redis, channel: str) -> None:
        self._pubsub = client.pubsub()
        self.channel = channel

    async def __aenter__(self) -> Subscription:
        await self._pubsub.subscribe(self.channel)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._pubsub.unsubscribe(self.channel)
        await self._pubsub.aclose()  # type: ignore[no-untyped-call]

    async def message(self, timeout: float = 15.0) -> bytes:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            found = await self._pubsub.get_message(ignore_subscribe_messages=True, timeout=0.5)
            if found is not None and found["type"] == "message":
                data = found["data"]
                assert isinstance(data, bytes)
                return data
        raise AssertionError(f"nothing was published to {self.channel} within {timeout} s")
