"""Moving an installation between databases (SQLite to PostgreSQL, say) as JSON Lines.

The first line is a header: `{"hookline_export": 1, "schema": <revision>, ...}`; every other
line is `{"table": ..., "row": {...}}`, tables in foreign-key order. Webhook secrets stay
encrypted: the target needs the same secret key (HOOKLINE_SECRET_KEY or the key file).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any, TextIO

import orjson
from alembic.script import ScriptDirectory
from sqlalchemy import Table

from hookline import __version__
from hookline.errors import InvalidInput
from hookline.store import Database, dump
from hookline.store.migrate import alembic_config, upgrade

FORMAT = 1


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


async def export(db: Database, out: TextIO) -> dict[str, int]:
    """Write every table to `out` from one consistent snapshot; returns rows per table."""
    counts: dict[str, int] = {}
    header = {
        "hookline_export": FORMAT,
        "schema": head_revision(),
        "version": __version__,
        "exported_at": datetime.now(UTC).isoformat(),
    }
    out.write(orjson.dumps(header).decode() + "\n")
    async with db.read() as conn:
        for table in dump.TABLES:
            counts[table.name] = 0
            async for row in dump.rows(conn, table):
                out.write(orjson.dumps({"table": table.name, "row": row}).decode() + "\n")
                counts[table.name] += 1
    return counts


def _records(lines: Iterable[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, line in enumerate(lines, start=1):
        if line.strip():
            try:
                yield number, orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise InvalidInput(f"line {number} is not JSON: {exc}") from None


async def import_(db: Database, lines: Iterable[str], *, chunk: int = 1000) -> dict[str, int]:
    """Load an export into an empty database, in one transaction: all of it or nothing. A file
    that is not an export is refused before the database is touched."""
    records = _records(lines)
    _, header = next(records, (0, {}))
    if header.get("hookline_export") != FORMAT:
        raise InvalidInput("this is not a hookline export (its first line has no export header)")
    if header.get("schema") != head_revision():
        raise InvalidInput(
            f"the export has schema {header.get('schema')!r} and this hookline "
            f"{head_revision()!r}: import with the hookline version that made the export"
        )
    await upgrade(db)
    counts = {table.name: 0 for table in dump.TABLES}
    async with db.write() as conn:
        for table in dump.TABLES:
            if await dump.count(conn, table):
                raise InvalidInput(
                    f"the target database already has {table.name}; import into a new, empty "
                    "database (run `hookline import` before starting hookline there)"
                )
        pending: list[dict[str, Any]] = []
        current: Table | None = None
        for number, record in records:
            found = dump.BY_NAME.get(record.get("table", ""))
            if found is None or not isinstance(record.get("row"), dict):
                raise InvalidInput(f"line {number} is not a row of a hookline table")
            table = found
            if table is not current or len(pending) >= chunk:
                if current is not None:
                    await dump.insert_rows(conn, current, pending)
                pending, current = [], table
            pending.append(record["row"])
            counts[table.name] += 1
        if current is not None:
            await dump.insert_rows(conn, current, pending)
    return counts
