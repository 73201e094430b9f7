"""What the database holds stays private: the SQLite files are the owner's alone, and a failing
statement never shows its parameters (header credentials, sealed secrets) in an error or a log."""

from __future__ import annotations

import logging
import os
import stat
import time
import traceback
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import DBAPIError

from hookline.store import Database
from hookline.store.migrate import upgrade
from hookline.store.schema import tenants

SECRET = "Bearer sk_live_51HsEcReTvAlUe0123456789"


@pytest.fixture
def usual_umask() -> Iterator[None]:
    """The umask most systems run with (0022): files anyone may read unless created otherwise."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("usual_umask")
async def test_a_new_sqlite_database_and_its_wal_and_shm_files_are_the_owners_alone(
    tmp_path: Path,
) -> None:
    path = tmp_path / "data" / "hookline.db"
    db = Database(f"sqlite:///{path}")
    try:
        await upgrade(db)  # writes: the -wal and -shm files exist while connections are open
        files = [path, Path(f"{path}-wal"), Path(f"{path}-shm")]
        assert {file.name: mode(file) for file in files} == {file.name: 0o600 for file in files}
    finally:
        await db.close()


@pytest.mark.usefixtures("usual_umask")
@pytest.mark.parametrize("chosen", [0o600, 0o640, 0o644])
async def test_an_existing_database_file_keeps_its_mode(
    tmp_path: Path, chosen: int, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "hookline.db"
    db = Database(f"sqlite:///{path}")
    await upgrade(db)
    await db.close()
    path.chmod(chosen)

    db = Database(f"sqlite:///{path}")
    await upgrade(db)
    await db.close()

    assert mode(path) == chosen
    warned = [r.getMessage() for r in caplog.records if "every user" in r.getMessage()]
    assert bool(warned) == bool(chosen & 0o007), warned


async def test_a_failing_statement_never_shows_its_parameters(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, SQLAlchemy's statement log included
    db = Database(database_url)
    try:
        await upgrade(db)
        row = {"id": "ten_1", "name": "Acme", "created_at": time.time(), "updated_at": time.time()}
        async with db.write() as conn:
            await conn.execute(insert(tenants).values(row))
        with pytest.raises(DBAPIError) as failed:  # the same id again: a real integrity error
            async with db.write() as conn:
                await conn.execute(insert(tenants).values({**row, "name": SECRET}))
        # What a server does with an unexpected error: log it with its traceback.
        logging.getLogger("hookline.test").error("request failed", exc_info=failed.value)
    finally:
        await db.close()

    shown = "".join(traceback.format_exception(failed.value))
    assert "INSERT INTO tenants" in shown  # the statement is there to debug with...
    assert SECRET not in shown  # ...its parameters are not
    assert "sk_live" not in caplog.text
    assert "INSERT INTO tenants" in caplog.text
