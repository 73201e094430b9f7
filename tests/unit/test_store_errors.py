from pathlib import Path

import pytest
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.pool import QueuePool

from hookline.store.database import transient


class DriverError(Exception):
    def __init__(self, sqlstate: str | None = None, message: str = "") -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


@pytest.mark.parametrize(
    ("exc", "transient_"),
    [
        (DBAPIError("SELECT 1", {}, DriverError("57P03")), True),  # cannot connect now
        (DBAPIError("SELECT 1", {}, DriverError("57P01")), True),  # admin shutdown
        (DBAPIError("SELECT 1", {}, DriverError("08006")), True),  # connection failure
        (DBAPIError("SELECT 1", {}, DriverError("53300")), True),  # too many connections
        (DBAPIError("SELECT 1", {}, DriverError("40P01")), True),  # deadlock
        (DBAPIError("SELECT 1", {}, DriverError("40001")), True),  # serialization failure
        (InterfaceError("SELECT 1", {}, DriverError()), True),
        (OperationalError("SELECT 1", {}, DriverError(None, "database is locked")), True),
        (ConnectionRefusedError(111, "refused"), True),
        (TimeoutError(), True),
        (IntegrityError("INSERT", {}, DriverError("23505")), False),  # a real conflict
        (OperationalError("SELECT 1", {}, DriverError(None, "no such table: x")), False),
        (DBAPIError("SELECT 1", {}, DriverError("42P01")), False),  # undefined table
        (ValueError("bug"), False),
    ],
)
def test_which_database_failures_are_passing(exc: BaseException, transient_: bool) -> None:
    assert (transient(exc) is not None) is transient_


async def test_the_postgresql_pool_takes_its_size_from_the_settings(tmp_path: Path) -> None:
    from hookline.config import Settings
    from hookline.node import Hookline

    settings = Settings(
        _env_file=None,
        database_url="postgresql://nobody@127.0.0.1:1/none",
        database_pool_size=3,
        data_dir=tmp_path,
    )
    node = Hookline(settings)  # nothing connects until it starts
    try:
        pool = node.db._writer.pool
        assert isinstance(pool, QueuePool)
        assert (pool.size(), pool._max_overflow) == (3, 3)
    finally:
        await node.db.close()
