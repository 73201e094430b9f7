"""`/health` says the process runs; `/ready` says whether it should take traffic: the database
answers, the schema is the newest, and a worker beats when the installation runs workers. Each
failing check says why, with a 503."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from hookline.heartbeat import Heartbeat
from hookline.node import Hookline
from hookline.records import WorkerBeat
from hookline.store import workers as worker_rows
from hookline.store.migrate import alembic_config
from tests.integration.test_scale_out import _cluster_for
from tests.support.harness import Running, make_settings, running


async def ready(app: Running) -> tuple[int, dict[str, Any]]:
    async with httpx.AsyncClient(base_url=app.base_url) as anonymous:  # no key
        response = await anonymous.get("/ready")
    return response.status_code, response.json()


async def test_ready_when_the_database_schema_and_a_worker_are_there(hookline: Running) -> None:
    status, body = await ready(hookline)
    assert status == 200, body
    assert body["status"] == "ready"
    assert set(body["checks"]) == {"database", "schema", "worker"}
    assert all(check["ok"] for check in body["checks"].values())
    async with httpx.AsyncClient(base_url=hookline.base_url) as anonymous:
        health = await anonymous.get("/health")
        schema = (await anonymous.get("/openapi.json")).json()
    assert health.status_code == 200
    assert health.json()["status"] == "ok"
    assert "/ready" not in schema["paths"]
    assert "/health" not in schema["paths"]


async def test_not_ready_when_no_worker_beat_for_three_intervals(database_url: str) -> None:
    async with running(make_settings(database_url, heartbeat_interval=10)) as app:
        app.clock.advance(25)
        assert (await ready(app))[0] == 200
        app.clock.advance(20)
        status, body = await ready(app)
        assert status == 503
        assert body["status"] == "unavailable"
        worker = body["checks"]["worker"]
        assert worker["ok"] is False
        assert worker["detail"].startswith("no worker heartbeat for ")
        assert int(worker["detail"].split()[4]) >= 45  # the clock also moves by itself
        assert body["checks"]["database"]["ok"]
        assert body["checks"]["schema"]["ok"]
        assert app.node.heartbeat is not None
        await app.node.heartbeat.beat()
        assert (await ready(app))[0] == 200


async def test_not_ready_when_the_schema_is_behind(hookline: Running) -> None:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None

    def downgrade(connection: Connection) -> None:
        command.downgrade(alembic_config(connection), "-1")

    async with hookline.node.db.write() as conn:
        await conn.run_sync(downgrade)
    previous = f"{int(head) - 1:04d}"
    status, body = await ready(hookline)
    assert status == 503
    assert body["checks"]["schema"] == {
        "ok": False,
        "detail": f"schema at {previous}, hookline needs {head}: run hookline migrate",
    }


async def test_an_api_only_node_needs_a_worker_only_when_the_installation_has_some(
    database_url: str,
) -> None:
    async with running(make_settings(database_url)) as workers:
        pass  # made the schema; its worker stopped cleanly: no heartbeat row left
    settings = make_settings(database_url, heartbeat_interval=10)
    node = Hookline(settings, run_worker=False, environ={})
    async with node:
        from hookline.api import create_app

        transport = httpx.ASGITransport(app=create_app(node, manage_node=False))
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            answer = await client.get("/ready")
            assert answer.status_code == 200, answer.text
            assert answer.json()["checks"]["worker"]["detail"].startswith("no workers registered")

            crashed = node.clock() - 60  # a worker that crashed a minute ago left its row
            async with node.db.write() as conn:
                await worker_rows.beat(conn, WorkerBeat("wrk_gone", "h", 1, crashed, crashed))
            answer = await client.get("/ready")
            assert answer.status_code == 503
            detail = answer.json()["checks"]["worker"]["detail"]
            assert detail.startswith("no worker heartbeat for ")
            assert int(detail.split()[4]) >= 60

            alive = Heartbeat(node.db, interval=10)
            await alive.beat()
            assert (await client.get("/ready")).status_code == 200
    assert workers.node.heartbeat is not None


def overwrite(path: Path) -> None:
    size = path.stat().st_size
    for extra in ("-wal", "-shm"):
        Path(f"{path}{extra}").unlink(missing_ok=True)
    path.write_bytes(b"not a database " * (size // 15 + 1))


async def test_sqlite_not_ready_when_the_database_file_becomes_unreadable(
    tmp_path: Path,
) -> None:
    path = tmp_path / "hookline.db"
    async with running(make_settings(f"sqlite:///{path}")) as app:
        assert (await ready(app))[0] == 200
        # Overwritten (a bad restore, a full disk's debris): the connections opened from now
        # on find no database in it. The pooled ones are closed first (as after an idle
        # timeout), twice: a connection closing checkpoints its WAL into the file. The
        # background work stops first: a connection it held while the pools were closed
        # would go back to a pool nothing closes any more, and be left to the garbage
        # collector (a ResourceWarning in whichever test runs next).
        for background in (app.node.worker, app.node.heartbeat, app.node.retention):
            assert background is not None
            await background.stop()
        for _ in range(2):
            await app.node.db.close()
            overwrite(path)
        status, body = await ready(app)
        assert status == 503
        assert body["checks"]["database"]["ok"] is False
        assert (
            body["checks"]["database"]["detail"] == "database unreachable: file is not a database"
        )


async def pg_ctl(*command: str) -> None:
    process = await asyncio.create_subprocess_exec(*command)
    assert await asyncio.wait_for(process.wait(), 120) == 0


@pytest.mark.slow
async def test_postgres_stopped_is_503_and_back_is_200(database_url: str) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("stopping a database server is PostgreSQL's case")
    if os.environ.get("PYTEST_XDIST_WORKER"):
        pytest.skip("it stops the server every other test shares: run it without -n (CI does)")
    cluster = _cluster_for(database_url)
    if cluster is None:
        pytest.skip("no local pg_ctlcluster manages this PostgreSQL: cannot stop it here")
    ctl = ["pg_ctlcluster", "--skip-systemctl-redirect", *cluster]
    async with running(make_settings(database_url)) as app:
        assert (await ready(app))[0] == 200
        try:
            await pg_ctl(*ctl, "stop", "-m", "fast")
            status, body = await ready(app)
            assert status == 503, body
            detail = body["checks"]["database"]["detail"]
            assert detail.startswith("database unreachable: "), detail
            assert "postgres@" not in detail
        finally:
            await pg_ctl(*ctl, "start")
        deadline = time.monotonic() + 60
        while (status := (await ready(app))[0]) != 200 and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        assert status == 200
