"""Worker heartbeats: each worker process writes when it was last alive."""

from __future__ import annotations

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hookline.records import WorkerBeat
from hookline.store.schema import epoch, workers


async def beat(conn: AsyncConnection, worker: WorkerBeat) -> None:
    """Record that `worker` is alive at `worker.last_seen_at` (its row made on the first beat)."""
    changed = await conn.execute(
        update(workers).where(workers.c.id == worker.id).values(last_seen_at=worker.last_seen_at)
    )
    if changed.rowcount == 0:
        await conn.execute(
            workers.insert().values(
                id=worker.id,
                host=worker.host,
                pid=worker.pid,
                started_at=worker.started_at,
                last_seen_at=worker.last_seen_at,
            )
        )


async def seen_since(conn: AsyncConnection, since: float) -> list[WorkerBeat]:
    """The workers whose last heartbeat is at or after `since`, most recent first."""
    stmt = (
        select(workers)
        .where(workers.c.last_seen_at >= since)
        .order_by(workers.c.last_seen_at.desc())
    )
    return [
        WorkerBeat(
            id=row.id,
            host=row.host,
            pid=row.pid,
            started_at=epoch(row.started_at) or 0.0,
            last_seen_at=epoch(row.last_seen_at) or 0.0,
        )
        for row in await conn.execute(stmt)
    ]


async def forget(conn: AsyncConnection, worker_id: str) -> None:
    """A worker that stopped cleanly."""
    await conn.execute(delete(workers).where(workers.c.id == worker_id))


async def prune(conn: AsyncConnection, before: float) -> int:
    """Forget workers not seen since `before` (crashed long ago)."""
    return (await conn.execute(delete(workers).where(workers.c.last_seen_at < before))).rowcount
