"""Moving an installation between databases (SQLite to PostgreSQL, say) as JSON Lines.

The first line is a header: `{"hookline_export": 1, "schema": <revision>, ...}`; every other
line is `{"table": ..., "row": {...}}`, tables in foreign-key order. Webhook secrets stay
encrypted: the target needs the same secret key (HOOKLINE_SECRET_KEY or the key file), and an
import checks that it opens every one before it writes anything.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any, TextIO

import orjson
from alembic.script import ScriptDirectory
from sqlalchemy import Table

from hookline import __version__
from hookline.errors import ConfigurationError, InvalidInput
from hookline.store import Database, dump
from hookline.store.migrate import alembic_config, upgrade
from hookline.vault import Vault

FORMAT = 1
SEALED = {"webhooks": ("secret", "previous_secret", "url_sealed")}  # encrypted with the secret key
# Rows up to the last table holding sealed values are few (tenants, keys, event types,
# webhooks): they are read and checked before anything is written.
_LAST_SEALED = max(i for i, table in enumerate(dump.TABLES) if table.name in SEALED)
_AFTER_SEALED = {table.name for table in dump.TABLES[_LAST_SEALED + 1 :]}


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


def _check_sealed(
    records: Iterator[tuple[int, dict[str, Any]]], vault: Vault | None
) -> list[tuple[int, dict[str, Any]]]:
    """Read records up to the first of a table after the sealed ones, and check that `vault`
    opens every sealed value in them: a wrong secret key is refused before anything is written,
    not found by `serve` afterwards. Returns the records read."""
    read: list[tuple[int, dict[str, Any]]] = []
    for number, record in records:
        read.append((number, record))
        table, row = record.get("table"), record.get("row")
        if table in _AFTER_SEALED:
            break
        if not isinstance(row, dict):
            continue
        for column in SEALED.get(str(table), ()):
            if row.get(column):
                _open(vault, row[column], number)
    return read


def _open(vault: Vault | None, sealed: Any, number: int) -> None:
    wrong_key = InvalidInput(
        f"line {number}: the export's webhook secrets cannot be decrypted with "
        + ("this HOOKLINE_SECRET_KEY" if vault else "no HOOKLINE_SECRET_KEY set")
        + ": set it to the secret key of the installation that made the export, then import again"
    )
    if vault is None or not isinstance(sealed, str):
        raise wrong_key
    try:
        vault.open(sealed)
    except ConfigurationError:
        raise wrong_key from None


async def import_(
    db: Database, lines: Iterable[str], *, vault: Vault | None, chunk: int = 1000
) -> dict[str, int]:
    """Load an export into an empty database, in one transaction: all of it or nothing. A file
    that is not an export, or whose webhook secrets `vault` cannot open (None: no key is
    configured), is refused before the database is touched."""
    records = _records(lines)
    _, header = next(records, (0, {}))
    if header.get("hookline_export") != FORMAT:
        raise InvalidInput("this is not a hookline export (its first line has no export header)")
    if header.get("schema") != head_revision():
        raise InvalidInput(
            f"the export has schema {header.get('schema')!r} and this hookline "
            f"{head_revision()!r}: import with the hookline version that made the export"
        )
    records = itertools.chain(_check_sealed(records, vault), records)
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
