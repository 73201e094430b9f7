"""hookline.destinations.pool.Pool: one connection per key, reused, closed when idle (on the
pool's clock), dropped by `discard`, all closed by `close`."""

from __future__ import annotations

import asyncio

import pytest

from hookline.destinations.pool import Pool


class Connections:
    """Connections that say when they are opened and closed."""

    def __init__(self) -> None:
        self.opened: list[str] = []
        self.closed: list[str] = []
        self.now = 0.0
        self.fail_close = False

    async def open(self, key: str) -> str:
        await asyncio.sleep(0)  # a real open yields: concurrent gets must still make one
        name = f"{key}#{len(self.opened)}"
        self.opened.append(name)
        return name

    async def shut(self, connection: str) -> None:
        self.closed.append(connection)
        if self.fail_close:
            raise ConnectionResetError("already gone")

    def clock(self) -> float:
        return self.now

    def pool(self, idle: float = 10.0) -> Pool[str]:
        return Pool(self.open, self.shut, idle=idle, clock=self.clock)


async def test_one_connection_per_key_is_reused() -> None:
    made = Connections()
    pool = made.pool()
    assert await pool.get("a") == "a#0"
    assert await pool.get("a") == "a#0"
    assert await pool.get("b") == "b#1"
    assert len(pool) == 2
    assert made.closed == []


async def test_concurrent_first_uses_open_one_connection() -> None:
    made = Connections()
    pool = made.pool()
    got = await asyncio.gather(*(pool.get("a") for _ in range(5)))
    assert set(got) == {"a#0"}
    assert made.opened == ["a#0"]


async def test_idle_connections_are_closed_at_the_next_get() -> None:
    made = Connections()
    pool = made.pool(idle=10)
    await pool.get("a")
    made.now = 5
    await pool.get("b")
    made.now = 12  # a: unused for 12 s; b: 7 s
    assert await pool.get("b") == "b#1"
    assert made.closed == ["a#0"]
    assert len(pool) == 1
    made.now = 30
    assert await pool.get("a") == "a#2"  # opened afresh
    assert made.closed == ["a#0", "b#1"]


async def test_each_use_keeps_a_connection_alive() -> None:
    made = Connections()
    pool = made.pool(idle=10)
    for step in range(5):
        made.now = step * 9.0
        assert await pool.get("a") == "a#0"
    assert made.closed == []


async def test_discard_drops_a_failed_connection_and_the_next_get_reconnects() -> None:
    made = Connections()
    pool = made.pool()
    await pool.get("a")
    made.fail_close = True  # closing a broken connection may fail: it is gone all the same
    await pool.discard("a")
    await pool.discard("a")  # twice, or unknown: nothing to do
    assert made.closed == ["a#0"]
    assert await pool.get("a") == "a#1"


async def test_close_closes_every_connection() -> None:
    made = Connections()
    pool = made.pool()
    await pool.get("a")
    await pool.get("b")
    await pool.close()
    assert sorted(made.closed) == ["a#0", "b#1"]
    assert len(pool) == 0


async def test_a_failed_open_keeps_nothing() -> None:
    async def refuse(key: str) -> str:
        raise ConnectionRefusedError(key)

    made = Connections()
    pool: Pool[str] = Pool(refuse, made.shut, idle=10, clock=made.clock)
    with pytest.raises(ConnectionRefusedError):
        await pool.get("a")
    assert len(pool) == 0
