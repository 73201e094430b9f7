"""A running worker keeps a heartbeat row: written at start, moved on every beat, removed when it
stops cleanly; rows of workers unseen for a day are forgotten."""

from __future__ import annotations

import os

from hookline.heartbeat import FORGET_AFTER
from hookline.node import Hookline
from hookline.records import WorkerBeat
from hookline.store import workers as worker_rows
from tests.support.databases import query
from tests.support.harness import make_settings, running


async def test_a_worker_beats_while_it_runs_and_is_forgotten_when_it_stops(
    database_url: str,
) -> None:
    async with running(make_settings(database_url)) as app:
        heartbeat = app.node.heartbeat
        assert heartbeat is not None
        started = app.clock()
        [(worker_id, pid, seen)] = await query(
            database_url, "SELECT id, pid, last_seen_at FROM workers"
        )
        assert (worker_id, pid) == (heartbeat.me.id, os.getpid())
        assert abs(seen / 1000 - started) < 5

        app.clock.advance(30)
        await heartbeat.beat()
        async with app.node.db.read() as conn:
            [me] = await worker_rows.seen_since(conn, started + 29)
            assert await worker_rows.seen_since(conn, started + 60) == []
        assert me.id == worker_id
        assert me.last_seen_at - me.started_at >= 30

        # A worker that crashed a day ago is forgotten at the next beat.
        async with app.node.db.write() as conn:
            await worker_rows.beat(conn, WorkerBeat("wrk_gone", "h", 1, started, started))
        app.clock.advance(FORGET_AFTER)
        await heartbeat.beat()
        assert await query(database_url, "SELECT id FROM workers") == [(worker_id,)]
    assert await query(database_url, "SELECT id FROM workers") == []


async def test_an_api_only_node_has_no_heartbeat(database_url: str) -> None:
    async with Hookline(make_settings(database_url), run_worker=False, environ={}) as node:
        assert node.heartbeat is None
        assert await query(database_url, "SELECT id FROM workers") == []
