from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.databases import POSTGRES_ENV, fresh_postgres_database, postgres_server_url
from tests.support.harness import Running, make_settings, running
from tests.support.receiver import Receiver


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """Every storage-touching test runs on a fresh SQLite file and a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'hookline.db'}"
        return
    server = postgres_server_url()
    if server is None:
        pytest.skip(f"PostgreSQL: set {POSTGRES_ENV}=postgresql://user@host:port/db to run")
    async with fresh_postgres_database(server) as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """For tests about SQLite itself."""
    return f"sqlite:///{tmp_path / 'hookline.db'}"


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    server = Receiver()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def hookline(database_url: str) -> AsyncIterator[Running]:
    """hookline (API + worker) in this process on a real port, with an admin client."""
    async with running(make_settings(database_url)) as app:
        yield app
