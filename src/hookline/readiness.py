"""Whether this hookline process should be sent traffic (`GET /ready`): the database answers
within a short timeout, its schema is at the newest migration, and a worker is alive when the
installation runs workers. Each check says why it failed; `/health` says only that the process
runs.

The worker rule: a node that runs a worker (`serve`, `worker`) needs a heartbeat (its own or
another worker's) seen within `BEATS_MISSED` heartbeat intervals. An API-only node (`api`) needs
one only when the installation runs workers, that is when any worker has a heartbeat row: a
worker that stops cleanly removes its row, one that crashed leaves it (for a day), so a row with
no recent beat means deliveries are not going out.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from sqlalchemy.exc import DBAPIError

from hookline.errors import HooklineError
from hookline.heartbeat import FORGET_AFTER
from hookline.store import Database
from hookline.store import workers as worker_rows
from hookline.store.migrate import revisions

TIMEOUT = 2.0  # seconds for each database check
BEATS_MISSED = 3  # heartbeat intervals without a beat before the worker check fails


@dataclass(frozen=True, slots=True)
class Check:
    ok: bool
    detail: str


@dataclass(frozen=True, slots=True)
class Readiness:
    checks: dict[str, Check]

    @property
    def ready(self) -> bool:
        return all(check.ok for check in self.checks.values())


def _reason(exc: BaseException) -> str:
    """Why the database did not answer, without the URL or its credentials."""
    if isinstance(exc, TimeoutError):
        return f"no answer within {TIMEOUT:g} s"
    if isinstance(exc, HooklineError):
        return exc.detail.split(";")[0]
    if isinstance(exc, DBAPIError):  # the driver's words carry no URL
        return (str(exc.orig).strip().splitlines() or [type(exc.orig).__name__])[0]
    return type(exc).__name__


def schema_check(current: str | None, head: str) -> Check:
    if current == head:
        return Check(True, f"at {head}")
    if current is None:
        return Check(False, f"no hookline schema, hookline needs {head}: run hookline migrate")
    return Check(False, f"schema at {current}, hookline needs {head}: run hookline migrate")


def worker_check(newest: float | None, *, runs_worker: bool, now: float, interval: float) -> Check:
    """`newest`: the newest heartbeat of any worker (None: no worker has a row)."""
    if newest is not None and newest >= now - BEATS_MISSED * interval:
        return Check(True, f"a worker heartbeat {max(0.0, now - newest):.0f} s ago")
    if newest is None:
        if not runs_worker:
            return Check(True, "no workers registered (this node runs none)")
        return Check(False, "no worker heartbeat yet")
    return Check(False, f"no worker heartbeat for {now - newest:.0f} s")


async def check(db: Database, *, runs_worker: bool, now: float, interval: float) -> Readiness:
    checks: dict[str, Check] = {}
    try:
        current, head = await asyncio.wait_for(revisions(db), TIMEOUT)
    except Exception as exc:
        checks["database"] = Check(False, f"database unreachable: {_reason(exc)}")
        return Readiness(checks)
    checks["database"] = Check(True, "answers")
    checks["schema"] = schema_check(current, head)
    if not checks["schema"].ok:
        return Readiness(checks)
    try:
        newest = await asyncio.wait_for(_newest_beat(db, now), TIMEOUT)
    except Exception as exc:
        checks["database"] = Check(False, f"database unreachable: {_reason(exc)}")
        return Readiness(checks)
    checks["worker"] = worker_check(newest, runs_worker=runs_worker, now=now, interval=interval)
    return Readiness(checks)


async def _newest_beat(db: Database, now: float) -> float | None:
    async with db.read() as conn:
        seen = await worker_rows.seen_since(conn, now - FORGET_AFTER)
    return seen[0].last_seen_at if seen else None
