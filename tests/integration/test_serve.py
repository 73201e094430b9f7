"""`hookline serve` as a real process: crash recovery, graceful shutdown, first start."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from tests.support.databases import delivery_statuses, query
from tests.support.harness import ADMIN_HEADERS, ADMIN_KEY, ServeProcess, prepare_over_http
from tests.support.receiver import Receiver, Reply, Reset

pytestmark = pytest.mark.slow


def serve_env(database_url: str, **extra: str) -> dict[str, str]:
    return {
        "HOOKLINE_DATABASE_URL": database_url,
        "HOOKLINE_ADMIN_KEY": ADMIN_KEY,
        "HOOKLINE_RETRY_SCHEDULE": "0.2,0.2,0.2",
        "HOOKLINE_POLL_INTERVAL": "0.1",
        **extra,
    }


async def test_serve_delivers_through_every_receiver_behaviour(
    tmp_path: Path, database_url: str, receiver: Receiver
) -> None:
    receiver.script("/ok", Reply(200))
    receiver.script("/flaky", Reply(500), Reply(200))
    receiver.script("/slow", Reply(200, delay=2.5), Reply(200))
    receiver.script("/gone", Reply(410))
    receiver.script("/reset", Reset(), Reply(200))
    process = ServeProcess(
        serve_env(database_url, HOOKLINE_REQUEST_TIMEOUT="1"), log=tmp_path / "serve.log"
    )
    process.start()
    try:
        async with httpx.AsyncClient(base_url=process.base_url, headers=ADMIN_HEADERS) as client:
            tenant = (await client.post("/api/v1/tenants", json={"name": "Acme"})).json()
            await client.post("/api/v1/event-types", json={"name": "order.filled"})
            hooks = {}
            for path in ("/ok", "/flaky", "/slow", "/gone", "/reset"):
                created = await client.post(
                    "/api/v1/webhooks", json={"tenant_id": tenant["id"], "url": receiver.url(path)}
                )
                hooks[path] = created.json()["id"]
            sent = await client.post(
                "/api/v1/events",
                json={"type": "order.filled", "data": {"n": 1}, "tenant_id": tenant["id"]},
            )
            assert sent.json()["deliveries"] == 5
            for _ in range(200):
                page = (await client.get(f"/api/v1/events/{sent.json()['id']}/deliveries")).json()
                if all(d["status"] != "pending" for d in page["data"]):
                    break
                await asyncio.sleep(0.05)
            by_hook = {d["webhook_id"]: d for d in page["data"]}
            outcome = {path: by_hook[hooks[path]]["status"] for path in hooks}
            attempts = {path: by_hook[hooks[path]]["attempt_count"] for path in hooks}
            gone = (await client.get(f"/api/v1/webhooks/{hooks['/gone']}")).json()
    finally:
        process.stop()
    assert outcome == {
        "/ok": "succeeded",
        "/flaky": "succeeded",
        "/slow": "succeeded",
        "/gone": "failed",
        "/reset": "succeeded",
    }
    assert attempts == {"/ok": 1, "/flaky": 2, "/slow": 2, "/gone": 1, "/reset": 2}
    assert gone["is_active"] is False


async def test_kill_9_mid_flight_loses_nothing(
    tmp_path: Path, database_url: str, receiver: Receiver
) -> None:
    receiver.script("/hook", Reply(200, delay=30))  # every request hangs while we kill
    env = serve_env(
        database_url,
        HOOKLINE_REQUEST_TIMEOUT="1",
        HOOKLINE_MAX_REQUEST_TIMEOUT="1",
        HOOKLINE_LEASE_SECONDS="3",
        # Timeouts recorded before the kill must not open the circuit for a minute.
        HOOKLINE_CIRCUIT_BREAKER_FAILURE_THRESHOLD="1000",
    )
    first = ServeProcess(env, log=tmp_path / "serve.log")
    first.start()
    try:
        async with httpx.AsyncClient(base_url=first.base_url, headers=ADMIN_HEADERS) as client:
            tenant_id = await prepare_over_http(client, receiver)
            sent = []
            for n in range(40):
                response = await client.post(
                    "/api/v1/events",
                    json={"type": "order.filled", "data": {"n": n}, "tenant_id": tenant_id},
                )
                assert response.status_code == 202
                sent.append(response.json()["id"])
            await receiver.wait_for(10, "/hook")  # attempts are in flight right now
        first.kill()
    finally:
        first.stop()

    receiver.script("/hook", Reply(200))
    second = ServeProcess(env, log=tmp_path / "serve.log")
    second.start()
    try:
        async with httpx.AsyncClient(base_url=second.base_url, headers=ADMIN_HEADERS) as client:
            for _ in range(300):
                if await delivery_statuses(database_url) == {"succeeded": 40}:
                    break
                await asyncio.sleep(0.1)
    finally:
        second.stop()
    assert await delivery_statuses(database_url) == {"succeeded": 40}
    delivered = {r.headers["webhook-id"] for r in receiver.at("/hook")}
    assert delivered == set(sent)  # at least once each, none lost


async def test_sigterm_finishes_in_flight_requests_and_claims_nothing_new(
    tmp_path: Path, database_url: str, receiver: Receiver
) -> None:
    receiver.script("/hook", Reply(200, delay=1.5))
    env = serve_env(database_url, HOOKLINE_REQUEST_TIMEOUT="5", HOOKLINE_WORKER_CONCURRENCY="1")
    process = ServeProcess(env, log=tmp_path / "serve.log")
    process.start()
    try:
        async with httpx.AsyncClient(base_url=process.base_url, headers=ADMIN_HEADERS) as client:
            tenant_id = await prepare_over_http(client, receiver)
            for n in range(3):
                await client.post(
                    "/api/v1/events",
                    json={"type": "order.filled", "data": {"n": n}, "tenant_id": tenant_id},
                )
            await receiver.wait_for(1, "/hook")
        exit_code = await asyncio.to_thread(process.terminate)
    finally:
        process.stop()
    assert exit_code == 0
    assert len(receiver.at("/hook")) == 1
    assert await delivery_statuses(database_url) == {"succeeded": 1, "pending": 2}
    [(attempts,)] = await query(database_url, "SELECT count(*) FROM attempts")
    [(leased,)] = await query(
        database_url, "SELECT count(*) FROM deliveries WHERE lease_token IS NOT NULL"
    )
    assert (attempts, leased) == (1, 0)


async def test_first_start_prints_an_admin_key_once(tmp_path: Path, database_url: str) -> None:
    env = {"HOOKLINE_DATABASE_URL": database_url, "HOOKLINE_ADMIN_KEY": ""}
    log = tmp_path / "first.log"
    process = ServeProcess(env, log=log)
    process.start()
    try:
        key = next(
            line.strip() for line in log.read_text().splitlines() if line.strip().startswith("hl_")
        )
        ok = httpx.get(
            f"{process.base_url}/api/v1/tenants", headers={"Authorization": f"Bearer {key}"}
        )
        assert ok.status_code == 200
    finally:
        assert process.terminate() == 0

    again_log = tmp_path / "second.log"
    again = ServeProcess(env, log=again_log)
    again.start()
    again.terminate()
    assert "hl_" not in again_log.read_text()
    assert "shown ONCE" in log.read_text()
