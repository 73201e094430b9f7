"""End-to-end throughput: events sent one per HTTP request to a real `hookline serve`, delivered
to a real receiver, counted when the delivery is recorded as succeeded in the database.

    python -m benchmarks.throughput --events 20000 --senders 64
    python -m benchmarks.throughput --database postgresql://postgres@127.0.0.1/postgres

Everything runs on this machine: hookline in its own process, the load generator and the
receiver in this one (each on its own event loop thread, so they share the other core).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

ADMIN_KEY = "benchmark-admin-key-0123456789"


class Receiver:
    """Answers 200 at once and counts what it got, on a thread of its own."""

    def __init__(self) -> None:
        self.count = 0
        self.port = 0
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> None:
        threading.Thread(target=self._run, daemon=True).start()
        self._ready.wait(10)

    def _run(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._loop.run_until_complete(self._serve())
        self._loop.run_forever()

    async def _serve(self) -> None:
        async def handle(request: web.Request) -> web.Response:
            await request.read()
            self.count += 1
            return web.Response(text="ok")

        app = web.Application()
        app.router.add_post("/{tail:.*}", handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
        await site.start()
        server = site._server
        assert isinstance(server, asyncio.Server)
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def api(
    session: aiohttp.ClientSession, method: str, url: str, body: object
) -> dict[str, Any]:
    async with session.request(method, url, json=body) as response:
        assert response.status < 300, await response.text()
        created: dict[str, Any] = await response.json()
        return created


async def count_succeeded(database_url: str) -> int:
    from sqlalchemy import text

    from hookline.store import Database

    db = Database(database_url)
    try:
        async with db.read() as conn:
            result = await conn.execute(
                text("SELECT count(*) FROM deliveries WHERE status = 'succeeded'")
            )
            return int(result.scalar_one())
    finally:
        await db.close()


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


async def run(args: argparse.Namespace) -> dict[str, object]:
    receiver = Receiver()
    receiver.start()
    workdir = Path(tempfile.mkdtemp(prefix="hookline-bench-"))
    database_url = args.database or f"sqlite:///{workdir / 'bench.db'}"
    port = free_port()
    env = {
        **os.environ,
        "HOOKLINE_DATABASE_URL": database_url,
        "HOOKLINE_ADMIN_KEY": ADMIN_KEY,
        "HOOKLINE_WORKER_CONCURRENCY": str(args.worker_concurrency),
    }
    log = (workdir / "hookline.log").open("wb")
    hookline = [sys.executable, "-m", "hookline"]
    quiet = ["--dev", "--log-level", "warning"]
    role = "serve" if args.workers == 0 else "api"
    serve = subprocess.Popen(
        [*hookline, role, "--port", str(port), *quiet], env=env, stdout=log, stderr=log
    )
    workers = [
        subprocess.Popen([*hookline, "worker", *quiet], env=env, stdout=log, stderr=log)
        for _ in range(args.workers)
    ]
    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    try:
        connector = aiohttp.TCPConnector(limit=args.senders)
        async with aiohttp.ClientSession(base, headers=headers, connector=connector) as session:
            for _ in range(200):
                try:
                    async with session.get("/health") as response:
                        if response.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.05)
            tenant = await api(session, "POST", "/api/v1/tenants", {"name": "bench"})
            await api(session, "POST", "/api/v1/event-types", {"name": "price.above"})
            for n in range(args.webhooks):
                await api(
                    session,
                    "POST",
                    "/api/v1/webhooks",
                    {"tenant_id": tenant["id"], "url": f"http://127.0.0.1:{receiver.port}/{n}"},
                )
            expected = args.events * args.webhooks
            queue: asyncio.Queue[int] = asyncio.Queue()
            for n in range(args.events):
                queue.put_nowait(n)
            latencies: list[float] = []

            async def sender() -> None:
                while not queue.empty():
                    n = queue.get_nowait()
                    body = {
                        "type": "price.above",
                        "tenant_id": tenant["id"],
                        "data": {"symbol": "BTC/USDT", "price": 50_000 + n, "seq": n},
                    }
                    started = time.perf_counter()
                    async with session.post("/api/v1/events", json=body) as response:
                        assert response.status == 202, await response.text()
                        await response.read()
                    latencies.append(time.perf_counter() - started)

            started = time.perf_counter()
            await asyncio.gather(*(sender() for _ in range(args.senders)))
            sent_in = time.perf_counter() - started
            while receiver.count < expected:
                if time.perf_counter() - started > args.timeout:
                    raise TimeoutError(f"only {receiver.count} of {expected} delivered")
                await asyncio.sleep(0.01)
            received_in = time.perf_counter() - started
            while await count_succeeded(database_url) < expected:
                if time.perf_counter() - started > args.timeout:
                    raise TimeoutError("deliveries were received but not recorded")
                await asyncio.sleep(0.02)
            recorded_in = time.perf_counter() - started
    finally:
        peak_rss = rss_mb(serve.pid) + sum(rss_mb(w.pid) for w in workers)
        for process in (serve, *workers):
            process.terminate()
        for process in (serve, *workers):
            process.wait(60)
    latencies.sort()
    return {
        "database": database_url.split(":", 1)[0],
        "processes": "serve" if args.workers == 0 else f"api + {args.workers} worker(s)",
        "events": args.events,
        "webhooks_per_event": args.webhooks,
        "senders": args.senders,
        "sends_per_second": round(args.events / sent_in),
        "send_latency_ms_p50": round(latencies[len(latencies) // 2] * 1000, 1),
        "send_latency_ms_p99": round(latencies[int(len(latencies) * 0.99)] * 1000, 1),
        "deliveries_received_per_second": round(expected / received_in),
        "deliveries_recorded_per_second": round(expected / recorded_in),
        "hookline_peak_rss_mb": round(peak_rss, 1),
        "benchmark_peak_rss_mb": round(
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--webhooks", type=int, default=1, help="webhooks each event fans out to")
    parser.add_argument("--senders", type=int, default=64, help="concurrent HTTP senders")
    parser.add_argument("--worker-concurrency", type=int, default=256)
    parser.add_argument("--database", help="a PostgreSQL URL (default: a fresh SQLite file)")
    parser.add_argument(
        "--workers", type=int, default=0, help="run `hookline api` and this many `hookline worker`s"
    )
    parser.add_argument("--timeout", type=float, default=600)
    result = asyncio.run(run(parser.parse_args()))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
