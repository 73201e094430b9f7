"""Scale-out: several API and worker processes on one database (issue 5).

Claims are exclusive (FOR UPDATE SKIP LOCKED on PostgreSQL, the write lock on SQLite), so
workers never share a delivery; a killed worker's leases run out and others take over; a
database restart is ridden out; LISTEN/NOTIFY wakes idle PostgreSQL workers at once.
"""

from __future__ import annotations

import asyncio
import collections
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

from tests.support.databases import delivery_statuses, query
from tests.support.harness import (
    ADMIN_HEADERS,
    ADMIN_KEY,
    SECRET_KEY,
    ServeProcess,
    prepare_over_http,
)
from tests.support.receiver import Receiver, Reply

pytestmark = pytest.mark.slow


def environment(database_url: str, **extra: str) -> dict[str, str]:
    return {
        "HOOKLINE_DATABASE_URL": database_url,
        "HOOKLINE_ADMIN_KEY": ADMIN_KEY,
        "HOOKLINE_SECRET_KEY": SECRET_KEY,
        "HOOKLINE_RETRY_SCHEDULE": "0.2,0.2,0.2,0.2",
        "HOOKLINE_POLL_INTERVAL": "0.2",
        # Not about circuits: on a busy machine a few slow answers must not open one for a minute.
        "HOOKLINE_CIRCUIT_BREAKER_FAILURE_THRESHOLD": "1000",
        **extra,
    }


@contextmanager
def processes(
    tmp_path: Path, env: dict[str, str], *, workers: int
) -> Iterator[tuple[ServeProcess, list[ServeProcess]]]:
    api = ServeProcess(env, log=tmp_path / "api.log", role="api")
    crew = [
        ServeProcess(env, log=tmp_path / f"worker{n}.log", role="worker") for n in range(workers)
    ]
    try:
        api.start()
        for worker in crew:
            worker.start()
        yield api, crew
    finally:
        for process in (api, *crew):
            process.stop()


async def send_all(
    client: httpx.AsyncClient, tenant_id: str, count: int, *, parallel: int = 16
) -> list[str]:
    """Send `count` events, each retried (same Idempotency-Key) until accepted."""
    accepted: list[str] = []
    numbers = iter(range(count))

    async def sender() -> None:
        for n in numbers:
            body = {"type": "order.filled", "data": {"n": n}, "tenant_id": tenant_id}
            while True:
                try:
                    response = await client.post(
                        "/api/v1/events", json=body, headers={"Idempotency-Key": f"order-{n}"}
                    )
                except httpx.TransportError:
                    await asyncio.sleep(0.2)
                    continue
                if response.status_code == 202:
                    accepted.append(response.json()["id"])
                    break
                assert response.status_code == 503, response.text  # only "try again" is expected
                await asyncio.sleep(0.2)

    await asyncio.gather(*(sender() for _ in range(parallel)))
    return accepted


async def all_succeeded(database_url: str, count: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while (found := await delivery_statuses(database_url)) != {"succeeded": count}:
        if time.monotonic() > deadline:
            stuck = await query(
                database_url,
                "SELECT id, attempt_count, next_attempt_at, lease_token, throttled, last_error "
                "FROM deliveries WHERE status = 'pending'",
            )
            circuits = await query(
                database_url, "SELECT id, circuit_state, circuit_retry_at FROM webhooks"
            )
            pytest.fail(f"not all delivered: {found}\npending: {stuck}\ncircuits: {circuits}")
        await asyncio.sleep(0.2)


async def test_three_workers_deliver_every_event_exactly_once(
    tmp_path: Path, database_url: str, receiver: Receiver
) -> None:
    env = environment(database_url, HOOKLINE_WORKER_CONCURRENCY="16")
    with processes(tmp_path, env, workers=3) as (api, _):
        async with httpx.AsyncClient(
            base_url=api.base_url, headers=ADMIN_HEADERS, timeout=30
        ) as client:
            tenant_id = await prepare_over_http(client, receiver)
            sent = await send_all(client, tenant_id, 300)
            await all_succeeded(database_url, 300)
    received = collections.Counter(r.headers["webhook-id"] for r in receiver.at("/hook"))
    assert set(received) == set(sent)
    assert max(received.values()) == 1, [k for k, v in received.items() if v > 1]
    [(attempts,)] = await query(database_url, "SELECT count(*) FROM attempts")
    assert attempts == 300


async def test_the_in_flight_cap_holds_across_workers(
    tmp_path: Path, database_url: str, receiver: Receiver
) -> None:
    receiver.script("/hook", Reply(200, delay=0.3))
    with processes(tmp_path, environment(database_url), workers=2) as (api, _):
        async with httpx.AsyncClient(
            base_url=api.base_url, headers=ADMIN_HEADERS, timeout=30
        ) as client:
            tenant_id = await prepare_over_http(client, receiver, max_in_flight=4)
            await send_all(client, tenant_id, 40)
            await all_succeeded(database_url, 40)
    assert receiver.peak["/hook"] == 4  # shared by both workers: reached, never passed


async def test_the_rate_limit_holds_across_workers(
    tmp_path: Path, database_url: str, receiver: Receiver
) -> None:
    with processes(tmp_path, environment(database_url), workers=2) as (api, _):
        async with httpx.AsyncClient(
            base_url=api.base_url, headers=ADMIN_HEADERS, timeout=30
        ) as client:
            tenant_id = await prepare_over_http(client, receiver, rate_limit_per_minute=240)
            await send_all(client, tenant_id, 12)
            await all_succeeded(database_url, 12)
    times = sorted(r.at for r in receiver.at("/hook"))
    # 240 a minute, shared: a burst of four, then one every 0.25 s. Two workers pacing on their
    # own would each burst four (eight at once) and finish in half the time.
    assert len(times) == 12
    # (2 s at the limit's pace; two limiters of their own would take about 1 s)
    assert times[-1] - times[0] >= 1.7, times
    # In any second: the burst and a second's worth, give or take one for claim timing.
    busiest = max(sum(1 for t in times if start <= t < start + 1.0) for start in times)
    assert busiest <= 9, [round(t - times[0], 3) for t in times]
    [(attempts,)] = await query(database_url, "SELECT count(*) FROM attempts")
    assert attempts == 12  # waiting for the rate used no attempts


async def test_kill_9_of_one_worker_loses_nothing(
    tmp_path: Path, database_url: str, receiver: Receiver
) -> None:
    receiver.script("/hook", Reply(200, delay=0.5))
    env = environment(
        database_url,
        HOOKLINE_REQUEST_TIMEOUT="3",
        HOOKLINE_MAX_REQUEST_TIMEOUT="3",
        HOOKLINE_LEASE_SECONDS="4",
        HOOKLINE_WORKER_CONCURRENCY="8",
        # The one webhook may use every worker's slots (the default ceiling, a quarter of one
        # worker's, would leave most of them idle): many requests in flight when one dies.
        HOOKLINE_MAX_IN_FLIGHT_CEILING="24",
    )
    with processes(tmp_path, env, workers=3) as (api, crew):
        async with httpx.AsyncClient(
            base_url=api.base_url, headers=ADMIN_HEADERS, timeout=30
        ) as client:
            tenant_id = await prepare_over_http(client, receiver)
            sent = await send_all(client, tenant_id, 120)
            await receiver.wait_for(20, "/hook")
            crew[0].kill()  # mid-flight: it holds deliveries it will never record
            await all_succeeded(database_url, 120)
    assert {r.headers["webhook-id"] for r in receiver.at("/hook")} == set(sent)


async def test_an_api_process_does_not_deliver_and_a_worker_picks_up(
    tmp_path: Path, database_url: str, receiver: Receiver
) -> None:
    env = environment(database_url)
    api = ServeProcess(env, log=tmp_path / "api.log", role="api")
    worker = ServeProcess(env, log=tmp_path / "worker.log", role="worker")
    try:
        api.start()
        async with httpx.AsyncClient(base_url=api.base_url, headers=ADMIN_HEADERS) as client:
            tenant_id = await prepare_over_http(client, receiver)
            await send_all(client, tenant_id, 3)
            await asyncio.sleep(1.0)
            assert receiver.requests == []
            assert await delivery_statuses(database_url) == {"pending": 3}
            await asyncio.to_thread(worker.start)
            await all_succeeded(database_url, 3, timeout=20)
    finally:
        api.stop()
        worker.stop()


async def test_notify_wakes_an_idle_postgres_worker_at_once(
    tmp_path: Path, database_url: str, receiver: Receiver
) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's; SQLite workers poll")
    env = environment(database_url, HOOKLINE_POLL_INTERVAL="60")  # polling alone would be late
    with processes(tmp_path, env, workers=1) as (api, _):
        async with httpx.AsyncClient(base_url=api.base_url, headers=ADMIN_HEADERS) as client:
            tenant_id = await prepare_over_http(client, receiver)
            await asyncio.sleep(0.5)  # the worker is idle, listening
            for n in range(3):
                started = time.monotonic()
                response = await client.post(
                    "/api/v1/events",
                    json={"type": "order.filled", "data": {"n": n}, "tenant_id": tenant_id},
                )
                assert response.status_code == 202
                await receiver.wait_for(n + 1, "/hook", timeout=5)
                assert time.monotonic() - started < 1.0


def _cluster_for(database_url: str) -> tuple[str, str] | None:
    """The local pg_ctlcluster (version, name) serving this URL's port, if any."""
    if shutil.which("pg_lsclusters") is None or shutil.which("pg_ctlcluster") is None:
        return None
    port = str(make_url(database_url).port or 5432)
    listing = subprocess.run(["pg_lsclusters", "--no-header"], capture_output=True, text=True)
    for line in listing.stdout.splitlines():
        fields = line.split()
        if len(fields) >= 3 and fields[2] == port:
            return fields[0], fields[1]
    return None


async def test_a_postgres_restart_mid_load_loses_no_accepted_event(
    tmp_path: Path, database_url: str, receiver: Receiver
) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("restarting a database server is PostgreSQL's case")
    if os.environ.get("PYTEST_XDIST_WORKER"):
        pytest.skip("it restarts the server every other test shares: run it without -n (CI does)")
    cluster = _cluster_for(database_url)
    if cluster is None:
        pytest.skip("no local pg_ctlcluster manages this PostgreSQL: cannot restart it here")
    receiver.script("/hook", Reply(200, delay=0.05))
    env = environment(database_url, HOOKLINE_WORKER_CONCURRENCY="16")
    with processes(tmp_path, env, workers=2) as (api, crew):
        async with httpx.AsyncClient(
            base_url=api.base_url, headers=ADMIN_HEADERS, timeout=30
        ) as client:
            tenant_id = await prepare_over_http(client, receiver)
            sending = asyncio.create_task(send_all(client, tenant_id, 300, parallel=8))
            await receiver.wait_for(40, "/hook", timeout=30)
            restart = await asyncio.create_subprocess_exec(
                "pg_ctlcluster", "--skip-systemctl-redirect", *cluster, "restart"
            )
            assert await restart.wait() == 0
            sent = await sending
            await all_succeeded(database_url, 300, timeout=90)
            assert (await client.get("/health")).status_code == 200  # the API reconnected
        assert all(process.process and process.process.poll() is None for process in (api, *crew))
    assert {r.headers["webhook-id"] for r in receiver.at("/hook")} == set(sent)
    assert len(set(sent)) == 300


async def test_a_fifo_webhook_keeps_its_order_across_three_postgres_workers(
    tmp_path: Path, database_url: str, receiver: Receiver
) -> None:
    """Three workers race for one FIFO webhook whose receiver fails now and then: it sees the
    events first in the order they were accepted, each at least once, never two at once."""
    if database_url.startswith("sqlite"):
        pytest.skip("several workers claiming at once: PostgreSQL's SKIP LOCKED and row locks")
    flaky = [Reply(500) if n % 7 in (2, 5, 6) else Reply(200, delay=0.01) for n in range(35)]
    receiver.script("/hook", *flaky, Reply(200))  # never three 500s in a row: none gives up
    with processes(tmp_path, environment(database_url), workers=3) as (api, _):
        async with httpx.AsyncClient(
            base_url=api.base_url, headers=ADMIN_HEADERS, timeout=30
        ) as client:
            tenant_id = await prepare_over_http(client, receiver, ordering="fifo")
            accepted = []
            for n in range(24):  # one after another: acceptance order is this order
                body = {"type": "order.filled", "data": {"n": n}, "tenant_id": tenant_id}
                response = await client.post("/api/v1/events", json=body)
                assert response.status_code == 202, response.text
                accepted.append(response.json()["id"])
            await all_succeeded(database_url, 24)
    arrivals = [r.headers["webhook-id"] for r in receiver.at("/hook")]
    assert list(dict.fromkeys(arrivals)) == accepted  # first arrivals, in acceptance order
    assert len(arrivals) > len(accepted)  # the receiver's 500s were retried
    assert receiver.peak["/hook"] == 1
