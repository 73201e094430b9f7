"""Running hookline for tests: in-process (uvicorn on a loopback port) or as a real
`hookline serve` subprocess."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from hookline.api import create_app
from hookline.client import AsyncClient
from hookline.config import Settings
from hookline.node import Hookline
from tests.support.clock import ShiftedClock
from tests.support.receiver import Receiver

ADMIN_KEY = "test-admin-key-0123456789abcdef"
ADMIN_HEADERS = {"Authorization": f"Bearer {ADMIN_KEY}"}
SECRET_KEY = "9UvPyHo1bTZg0TsVGhUR9ZKz3XYDzD3mi8J-oKrHnks="  # a Fernet key, for tests only


def make_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "admin_key": ADMIN_KEY,
        "secret_key": SECRET_KEY,
        "dev": True,
        "retry_schedule": (0.2, 0.2, 0.2),
        "request_timeout": 2.0,
        "max_request_timeout": 10.0,
        "poll_interval": 0.05,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


@dataclass
class Running:
    node: Hookline
    base_url: str
    client: httpx.AsyncClient  # raw HTTP, authenticated with the admin key
    api: AsyncClient  # the typed client, authenticated with the admin key
    clock: ShiftedClock  # the node's clock

    def client_for(self, key: str) -> AsyncClient:
        return AsyncClient(self.base_url, key)

    def advance(self, seconds: float) -> None:
        """Move hookline's clock forward, and let the worker see what became due."""
        self.clock.advance(seconds)
        if self.node.worker is not None:
            self.node.worker.wake()


@asynccontextmanager
async def running(
    settings: Settings, *, environ: Mapping[str, str] | None = None
) -> AsyncIterator[Running]:
    """hookline's API and worker in this process, on a real loopback port, on a clock the test
    can move (`Running.advance`). `environ`: the seeds' variables it reads (WEBHOOKS_*,
    WEBHOOK_URL...); none by default, whatever the test process's environment holds."""
    clock = ShiftedClock()
    node = Hookline(settings, clock=clock, environ=environ or {})
    config = uvicorn.Config(
        create_app(node), host="127.0.0.1", port=0, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        base_url = f"http://127.0.0.1:{port}"
        headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
        async with (
            httpx.AsyncClient(base_url=base_url, headers=headers, timeout=10) as client,
            AsyncClient(base_url, ADMIN_KEY, timeout=10) as typed,
        ):
            yield Running(node, base_url, client, typed, clock)
    finally:
        server.should_exit = True
        await task


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServeProcess:
    """`hookline serve` (or `api`, or `worker`) as a subprocess, configured through the
    environment like a user would."""

    def __init__(
        self,
        env: Mapping[str, str],
        *,
        log: Path,
        dev: bool = True,
        role: str = "serve",
        args: tuple[str, ...] = (),
    ) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._env = {**os.environ, "HOOKLINE_DATA_DIR": str(log.parent / "data"), **env}
        self._log = log
        self._dev = dev
        self.role = role
        self.args = args  # more command-line options (--log-level debug...)
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> None:
        args = [sys.executable, "-m", "hookline", self.role]
        if self.role != "worker":
            args += ["--port", str(self.port)]
        if self._dev:
            args.append("--dev")
        args += self.args
        offset = self._log.stat().st_size if self._log.exists() else 0
        with self._log.open("ab") as log:
            self.process = subprocess.Popen(args, env=self._env, stdout=log, stderr=log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"hookline {self.role} exited: {self._log.read_text()[-2000:]}")
            if self._ready(offset):
                return
            time.sleep(0.1)
        raise TimeoutError(f"hookline {self.role} did not start: {self._log.read_text()[-2000:]}")

    def _ready(self, offset: int) -> bool:
        if self.role == "worker":
            return b"worker started" in self._log.read_bytes()[offset:]
        try:
            return httpx.get(f"{self.base_url}/health", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def kill(self) -> None:
        """kill -9: no chance to finish anything."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(10)

    def terminate(self, timeout: float = 30.0) -> int:
        """SIGTERM, then wait for a graceful exit."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


async def prepare_over_http(client: httpx.AsyncClient, receiver: Receiver, **webhook: Any) -> str:
    """Through a running process's API: a tenant, the event type `order.filled`, and a webhook
    to `receiver` at /hook with any further `webhook` fields; returns the tenant id."""
    tenant = (await client.post("/api/v1/tenants", json={"name": "Acme"})).json()
    await client.post("/api/v1/event-types", json={"name": "order.filled"})
    created = await client.post(
        "/api/v1/webhooks",
        json={"tenant_id": tenant["id"], "url": receiver.url("/hook"), **webhook},
    )
    assert created.status_code == 201, created.text
    return str(tenant["id"])
