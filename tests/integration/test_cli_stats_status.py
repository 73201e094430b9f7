"""`hookline stats` and `hookline status`, run as the operator runs them: subprocesses reading
the configured database while hookline runs on it."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from hookline.service.status import Status
from tests.support import api
from tests.support.harness import Running, free_port, make_settings, running
from tests.support.receiver import Receiver, Reply


def hookline(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hookline", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={"HOOKLINE_DATABASE_URL": database_url, "PATH": "/usr/bin:/bin", "COLUMNS": "200"},
    )


async def run(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """The command, without stopping the hookline running in this process."""
    return await asyncio.to_thread(hookline, database_url, *args)


@dataclass
class Scene:
    hl: Running
    ok: dict[str, Any]  # answers 200
    down: dict[str, Any]  # answered 500 once; its retry is an hour away
    off: dict[str, Any]  # disabled


@pytest.fixture
async def scene(database_url: str, receiver: Receiver) -> AsyncIterator[Scene]:
    async with running(make_settings(database_url)) as hl:
        await api.event_type(hl.client, "order.filled")
        tenant = (await api.tenant(hl.client))["id"]
        receiver.script("/down", Reply(500))
        ok = await api.webhook(hl.client, tenant, receiver.url("/ok"), name="ok")
        down = await api.webhook(
            hl.client, tenant, receiver.url("/down"), name="down", retry_schedule=[3600]
        )
        off = await api.webhook(hl.client, tenant, receiver.url("/off"), name="off")
        api.ok(await hl.client.patch(f"/api/v1/webhooks/{off['id']}", json={"is_active": False}))
        for n in range(2):
            sent = await api.send(hl.client, "order.filled", {"n": n}, tenant)
            for delivery in await api.deliveries(hl.client, sent["id"]):
                await api.delivery_when(
                    hl.client,
                    delivery["id"],
                    "succeeded" if delivery["webhook_id"] == ok["id"] else "pending",
                )
        await receiver.wait_for(2, "/down")
        for _ in range(200):  # until both failures are recorded
            if (await hl.api.webhooks.stats(down["id"])).consecutive_failures == 2:
                break
            await asyncio.sleep(0.02)
        yield Scene(hl, ok, down, off)


async def test_stats_prints_what_the_api_answers(scene: Scene, database_url: str) -> None:
    answer = api.ok_object(await scene.hl.client.get("/api/v1/stats", params={"since": "24h"}))
    printed = await run(database_url, "stats", "--hours", "24", "--json")
    assert printed.returncode == 0, printed.stderr
    document = json.loads(printed.stdout)
    assert document["webhooks"] == answer["webhooks"]
    assert document["totals"] == answer["totals"]
    assert answer["totals"]["total"] == 4
    assert answer["totals"]["succeeded"] == 2

    table = await run(database_url, "stats", "--hours", "24")
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    for hook, counts in ((scene.ok, "2 2 0 1"), (scene.down, "2 0 2 0")):
        [line] = [line for line in lines if hook["id"] in line]
        assert hook["url"] in line
        assert counts in " ".join(line.split())
    [total] = [line for line in lines if line.startswith("TOTAL")]
    assert "4 2 2 0.5" in " ".join(total.split())


async def test_status_shows_the_queue_troubled_webhooks_and_workers(
    scene: Scene, database_url: str
) -> None:
    printed = await run(database_url, "status", "--json")
    assert printed.returncode == 0, printed.stderr
    status = json.loads(printed.stdout)
    assert status["queue"]["scheduled"] == 2  # the two failed deliveries wait an hour
    assert status["queue"]["due"] == 0
    assert status["queue"]["oldest_due_at"] is None
    [failing] = status["failing_webhooks"]
    assert (failing["id"], failing["consecutive_failures"]) == (scene.down["id"], 2)
    [disabled] = status["disabled_webhooks"]
    assert disabled["id"] == scene.off["id"]
    [worker] = status["workers"]
    assert (worker["host"], worker["pid"], worker["alive"]) == (
        socket.gethostname(),
        os.getpid(),
        True,
    )

    table = await run(database_url, "status")
    assert table.returncode == 0, table.stderr
    assert "Failing webhooks" in table.stdout
    assert scene.down["id"] in table.stdout
    assert scene.off["id"] in table.stdout
    assert str(os.getpid()) in table.stdout


async def test_status_tells_how_long_the_oldest_due_delivery_waited(scene: Scene) -> None:
    """Two hours on, the retries scheduled an hour away are due, and have waited about an hour
    (the service the command prints, on a clock two hours ahead; the worker's does not move)."""
    later = scene.hl.clock() + 7200
    status = await Status(scene.hl.node.db, clock=lambda: later).now(heartbeat_interval=10)
    assert (status.queue.due, status.queue.scheduled) == (2, 0)
    assert status.queue.oldest_due_at is not None
    assert status.queue.oldest_due_age_s == round(later - status.queue.oldest_due_at.timestamp(), 3)
    assert 3600 * 0.8 - 1 <= status.queue.oldest_due_age_s <= 7200  # a retry in 1 h ±20%
    assert [w.alive for w in status.workers] == [False]  # its last beat is two hours old


def test_commands_say_when_the_database_is_unreachable(tmp_path: Path) -> None:
    nowhere = f"postgresql://postgres@127.0.0.1:{free_port()}/postgres"
    for command in ("status", "stats"):
        result = hookline(nowhere, command)
        assert result.returncode == 1, result
        assert f"hookline {command}: cannot reach the database at" in result.stderr
        assert "Traceback" not in result.stderr
        assert result.stdout == ""

    missing = tmp_path / "nothing-here.db"
    result = hookline(f"sqlite:///{missing}", "status", "--json")
    assert result.returncode == 1
    assert "there is no database at" in result.stderr
    assert not missing.exists()  # looking creates nothing

    sqlite_blank = tmp_path / "blank.db"
    sqlite_blank.touch()
    result = hookline(f"sqlite:///{sqlite_blank}", "stats")
    assert result.returncode == 1
    assert "run `hookline migrate`" in result.stderr
