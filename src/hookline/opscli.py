"""`hookline stats` and `hookline status`: what the operator sees, read from the configured
database directly (no running hookline needed). Registered on the `hookline` command in
hookline.cli."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from sqlalchemy.engine import make_url

from hookline import console

if TYPE_CHECKING:
    from hookline.config import Settings
    from hookline.store import Database

T = TypeVar("T")

AsJson = Annotated[bool, typer.Option("--json", help="One JSON document, for scripts.")]

STATS_COLUMNS = (
    "webhook_id",
    "name",
    "url",
    "total",
    "succeeded",
    "failed",
    "success_rate",
    "latency_p50_ms",
    "latency_p95_ms",
)


class Unreachable(Exception):
    """The configured database cannot be read; the message says why and what to do."""


def _sqlite_file(raw: str) -> Path | None:
    try:
        url = make_url(raw)
    except Exception:
        return None
    if url.get_backend_name() != "sqlite" or not url.database:
        return None
    return Path(url.database)


def read_database(settings: Settings, work: Callable[[Database], Awaitable[T]]) -> T:
    """Run `work` on the configured database, which must exist with a current schema;
    otherwise Unreachable, saying why. Nothing is created or migrated: this only looks."""
    from hookline.cli import _shown_url, explain
    from hookline.store import Database
    from hookline.store.migrate import is_current

    where = _shown_url(settings.database_url)
    path = _sqlite_file(settings.database_url)
    if path is not None and not path.exists():
        raise Unreachable(
            f"there is no database at {where}: check HOOKLINE_DATABASE_URL (or run "
            "`hookline migrate` to create one)"
        )

    async def run() -> T:
        db = Database(settings.database_url, pool_size=settings.database_pool_size)
        try:
            if not await is_current(db):
                raise Unreachable(
                    f"the database at {where} has no hookline schema, or an older one: run "
                    "`hookline migrate` (hookline serve does it at start)"
                )
            return await work(db)
        finally:
            await db.close()

    try:
        return asyncio.run(run())
    except Unreachable:
        raise
    except Exception as exc:
        logging.getLogger("hookline.cli").debug("reading the database failed", exc_info=True)
        raise Unreachable(explain(exc, settings)) from None


def _looking(command: str, settings: Settings, work: Callable[[Database], Awaitable[T]]) -> T:
    try:
        return read_database(settings, work)
    except Unreachable as exc:
        typer.echo(f"hookline {command}: {exc}", err=True)
        raise typer.Exit(1) from None


def stats_command(
    hours: Annotated[
        float, typer.Option(min=0.0, help="The window: attempts of the last this many hours.")
    ] = 24.0,
    as_json: AsJson = False,
) -> None:
    """Attempts per webhook over the last hours: total, succeeded, failed, success rate and
    latency percentiles (test sends not counted)."""
    from hookline.cli import load_settings
    from hookline.service.stats import Stats

    settings = load_settings()
    minutes = max(1, round(hours * 60))
    report = _looking("stats", settings, lambda db: Stats(db).since(f"{minutes}m", tenant=None))
    if as_json:
        typer.echo(report.model_dump_json())  # the same document as GET /api/v1/stats
        return
    rows: list[dict[str, Any]] = [row.model_dump() for row in report.webhooks]
    rows.append({"webhook_id": "TOTAL", **report.totals.model_dump()})
    console.show(
        rows,
        STATS_COLUMNS,
        as_json=False,
        title=f"Attempts since {report.since:%Y-%m-%d %H:%M:%S} UTC (last {hours:g} h)",
    )


TROUBLE_COLUMNS = ("id", "tenant_id", "name", "url", "circuit_state", "consecutive_failures")
DISABLED_COLUMNS = ("id", "tenant_id", "name", "url", "disabled_reason", "disabled_at")
WORKER_COLUMNS = ("host", "pid", "started_at", "last_seen_at", "age_s", "alive")


def status_command(as_json: AsJson = False) -> None:
    """The queue (due, in flight, scheduled, the oldest due delivery's wait), failing and
    disabled webhooks, and worker heartbeats. Exit status 1 when the database cannot be read."""
    from hookline.cli import load_settings
    from hookline.service.status import Status

    settings = load_settings()
    report = _looking(
        "status",
        settings,
        lambda db: Status(db).now(heartbeat_interval=settings.heartbeat_interval),
    )
    if as_json:
        typer.echo(report.model_dump_json())
        return
    queue = report.queue
    console.show(
        [queue.model_dump()],
        ("due", "in_flight", "scheduled", "oldest_due_at", "oldest_due_age_s"),
        as_json=False,
        title=f"Queue at {report.at:%Y-%m-%d %H:%M:%S} UTC",
    )
    for title, rows, columns in (
        ("Failing webhooks", report.failing_webhooks, TROUBLE_COLUMNS),
        ("Disabled webhooks", report.disabled_webhooks, DISABLED_COLUMNS),
        ("Workers (heartbeats of the last day)", report.workers, WORKER_COLUMNS),
    ):
        typer.echo("")
        if rows:
            console.show([row.model_dump() for row in rows], columns, as_json=False, title=title)
        else:
            typer.echo(f"{title}: none")
