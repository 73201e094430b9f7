"""How fast the dashboard's reads are on a big installation: 100 webhooks and 1 million
deliveries (with an attempt each) spread over 30 days, in a SQLite file or a PostgreSQL
database.

    python -m benchmarks.dashboard                       # seeds a fresh SQLite file, then measures
    python -m benchmarks.dashboard --database sqlite:////tmp/big.db --reuse
    python -m benchmarks.dashboard --database postgresql://postgres@127.0.0.1/dashbench

It seeds through hookline's service layer (tenants, event types, webhooks) and bulk inserts for
the history, then times each read the dashboard's pages make, through the same service layer
the pages call: the median and the slowest of `--repeat` runs, in milliseconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, insert, select

from hookline.api import create_app
from hookline.config import Settings
from hookline.models import FIRST_PAGE, EventTypeCreate, TenantCreate, WebhookCreate
from hookline.node import Hookline
from hookline.store.schema import attempts, deliveries, events

DAY = 86_400.0
KEY = "dashboard-bench-key-0123"
CHUNK = 10_000


async def seed(node: Hookline, *, webhooks: int, total: int, days: float) -> None:
    """`webhooks` webhooks over 10 tenants, and `total` deliveries of events spread evenly
    over the last `days` days, written in time order as a running hookline writes them: 95%
    succeeded at the first attempt, 5% finally failed."""
    service = node.service
    await service.event_types.create(
        EventTypeCreate(name="price.above", examples=[{"symbol": "BTC", "price": 101_250.5}])
    )
    hooks: list[tuple[str, str]] = []
    tenants = [await service.tenants.create(TenantCreate(name=f"Tenant {n}")) for n in range(10)]
    for n in range(webhooks):
        tenant = tenants[n % len(tenants)]
        created = await service.webhooks.create(
            WebhookCreate(
                tenant_id=tenant.id, url=f"https://hooks{n}.example.com/in", name=f"hook {n}"
            ),
            tenant=None,
        )
        hooks.append((created.id, tenant.id))
    now = node.clock()
    rng = random.Random(7)
    payload = json.dumps({"id": "x", "type": "price.above", "data": {"symbol": "BTC"}})
    for first in range(0, total, CHUNK):
        event_rows, delivery_rows, attempt_rows = [], [], []
        for n in range(first, min(first + CHUNK, total)):
            at = now - days * DAY + (n + rng.random()) * days * DAY / total  # in time order
            webhook_id, tenant_id = hooks[n % len(hooks)]
            ok = rng.random() < 0.95
            latency = rng.randint(20, 400)
            event_rows.append(
                {
                    "id": f"evt_b{n:012d}",
                    "tenant_id": tenant_id,
                    "type": "price.above",
                    "payload": payload,
                    "created_at": at,
                    "test": False,
                }
            )
            delivery_rows.append(
                {
                    "id": f"dlv_b{n:012d}",
                    "event_id": f"evt_b{n:012d}",
                    "webhook_id": webhook_id,
                    "tenant_id": tenant_id,
                    "event_type": "price.above",
                    "status": "succeeded" if ok else "failed",
                    "trigger": "scheduled",
                    "attempt_count": 1,
                    "last_status_code": 200 if ok else 500,
                    "created_at": at,
                    "finished_at": at + latency / 1000,
                    "ordered": False,
                    "throttled": False,
                }
            )
            attempt_rows.append(
                {
                    "id": f"att_b{n:012d}",
                    "delivery_id": f"dlv_b{n:012d}",
                    "webhook_id": webhook_id,
                    "number": 1,
                    "status_code": 200 if ok else 500,
                    "latency_ms": latency,
                    "response_body": "ok",
                    "trigger": "scheduled",
                    "error": None if ok else "HTTP 500",
                    "created_at": at,
                }
            )
        async with node.db.write() as conn:
            await conn.execute(insert(events), event_rows)
            await conn.execute(insert(deliveries), delivery_rows)
            await conn.execute(insert(attempts), attempt_rows)
        print(f"seeded {min(first + CHUNK, total):,} of {total:,}", flush=True)


async def timed(probe: Callable[[], Awaitable[Any]], repeat: int) -> dict[str, float]:
    await probe()  # warm caches and plans, as a page served before
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        await probe()
        runs.append((time.perf_counter() - started) * 1000)
    return {"median_ms": round(statistics.median(runs), 1), "max_ms": round(max(runs), 1)}


async def measure(node: Hookline, repeat: int) -> dict[str, dict[str, float]]:
    service = node.service
    hooks = (await service.webhooks.list(tenant=None, paging=FIRST_PAGE)).data
    some = hooks[0].id
    ids = [h.id for h in hooks]
    probes: dict[str, Callable[[], Awaitable[Any]]] = {
        "overview: timeline, last hour by minute": lambda: service.stats.timeline(
            window=3600, buckets=60, tenant=None
        ),
        "overview: timeline, 24 h by 15 minutes": lambda: service.stats.timeline(
            window=DAY, buckets=96, tenant=None
        ),
        "overview: latency and totals, 24 h": lambda: service.stats.totals("24h", tenant=None),
        "statistics: every webhook, 24 h": lambda: service.stats.since("24h", tenant=None),
        "overview: queue": lambda: service.status.queue(),
        "overview: troubled webhooks": lambda: service.status.troubled(tenant=None, limit=50),
        "webhooks: a page of webhooks": lambda: service.webhooks.list(
            tenant=None, paging=FIRST_PAGE
        ),
        "webhooks: 24 h sparklines of a page": lambda: service.stats.timelines(
            ids, window=DAY, buckets=24, tenant=None
        ),
        "webhook: health": lambda: service.stats.for_webhook(some, tenant=None),
        "webhook: timeline, 24 h by hour": lambda: service.stats.timeline(
            window=DAY, buckets=24, tenant=None, webhook=some
        ),
        "webhook: a page of its deliveries": lambda: service.deliveries.for_webhook(
            some, tenant=None, paging=FIRST_PAGE
        ),
        "form: a filter on the last 20 events": lambda: service.events.try_filter(
            {"data.symbol": "BTC"}, tenant=None, event_types=["price.above"]
        ),
    }
    return {name: await timed(probe, repeat) for name, probe in probes.items()}


async def measure_pages(node: Hookline, repeat: int) -> dict[str, dict[str, float]]:
    """Each page whole, as a browser gets it: signed in with the admin key, through the app
    (in this process: the time is hookline's, not a network's)."""
    hook = (await node.service.webhooks.list(tenant=None, paging=FIRST_PAGE)).data[0]
    some = hook.id
    delivery = (
        await node.service.deliveries.for_webhook(some, tenant=None, paging=FIRST_PAGE)
    ).data[0]
    transport = httpx.ASGITransport(app=create_app(node, manage_node=False))
    async with httpx.AsyncClient(transport=transport, base_url="http://dash") as client:
        form = await client.get("/ui/login")
        token = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert token is not None
        signed = await client.post("/ui/login", data={"key": KEY, "csrf": token.group(1)})
        assert signed.status_code == 303, signed.text
        results = {}
        for name, path in (
            ("page /ui/ (overview)", "/ui/"),
            ("page /ui/webhooks", "/ui/webhooks"),
            ("page /ui/webhooks/{id}", f"/ui/webhooks/{some}"),
            ("page /ui/webhooks/{id}/edit (with its checks)", f"/ui/webhooks/{some}/edit"),
            ("page /ui/deliveries/{id}", f"/ui/deliveries/{delivery.id}"),
            ("page /ui/events", "/ui/events"),
        ):

            async def get(path: str = path) -> None:
                answer = await client.get(path)
                assert answer.status_code == 200, answer.text

            results[name] = await timed(get, repeat)
        fields = {
            "csrf": _csrf((await client.get("/ui/")).text),
            "webhook_id": some,
            "url": hook.url,
            "format": "standard",
            "filter": '{"data.symbol": "BTC"}',
            "event_types": "price.above",
        }

        async def check() -> None:
            answer = await client.post("/ui/webhooks/checks?fragment=1", data=fields)
            assert "preview-body" in answer.text, answer.text

        results["form checks as you type (POST /ui/webhooks/checks)"] = await timed(check, repeat)
    return results


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" (?:value|content)="([^"]+)"', html)
    assert found is not None
    return found.group(1)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    url = (
        args.database or f"sqlite:///{Path(tempfile.mkdtemp(prefix='hookline-dash-')) / 'dash.db'}"
    )
    settings = Settings(_env_file=None, database_url=url, dev=True, admin_key=KEY)
    node = Hookline(settings, run_worker=False, environ={})
    await node.start()
    try:
        async with node.db.read() as conn:
            have = (await conn.execute(select(func.count()).select_from(deliveries))).scalar_one()
        if not (args.reuse and have >= args.deliveries):
            started = time.perf_counter()
            await seed(node, webhooks=args.webhooks, total=args.deliveries, days=args.days)
            print(f"seeded in {time.perf_counter() - started:.0f} s", flush=True)
        return {
            "database": url.split(":", 1)[0],
            "webhooks": args.webhooks,
            "deliveries": args.deliveries,
            "days": args.days,
            "reads": await measure(node, args.repeat),
            "pages": await measure_pages(node, args.repeat),
        }
    finally:
        await node.stop()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--webhooks", type=int, default=100)
    parser.add_argument("--deliveries", type=int, default=1_000_000)
    parser.add_argument("--days", type=float, default=30.0)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--database", help="a database URL (default: a fresh SQLite file)")
    parser.add_argument(
        "--reuse", action="store_true", help="measure what the database holds if it is seeded"
    )
    print(json.dumps(asyncio.run(run(parser.parse_args())), indent=2))


if __name__ == "__main__":
    main()
