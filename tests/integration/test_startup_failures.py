"""Whatever stops `hookline serve`, `api` or `worker` from starting is said in one line on
stderr (`hookline: <what is wrong and what to do>`), with exit status 2 and no traceback. And
`hookline import` refuses an export whose webhook secrets its secret key cannot open, before it
writes anything."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from hookline import portable
from hookline.errors import InvalidInput
from hookline.store import Database
from hookline.vault import Vault, generate_key
from tests.support.databases import POSTGRES_ENV, postgres_server_url, query
from tests.support.harness import SECRET_KEY, free_port, make_settings, running
from tests.support.receiver import Receiver

# `api` starts as `serve` does (the same code, without the worker).
ROLES = ["serve", "worker"]


async def hookline(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "hookline", *args],
        env={"PATH": os.environ["PATH"], "HOOKLINE_DATA_DIR": str(cwd / "data"), **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def start(role: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    args = [role] if role == "worker" else [role, "--port", str(free_port())]
    return await hookline(*args, env=env, cwd=cwd)


async def start_each(
    roles: list[str], env: dict[str, str], cwd: Path
) -> dict[str, subprocess.CompletedProcess[str]]:
    """Each role started at once (side by side, to keep the suite quick)."""
    results = await asyncio.gather(*(start(role, env, cwd) for role in roles))
    return dict(zip(roles, results, strict=True))


def says_in_one_line(result: subprocess.CompletedProcess[str], *fragments: str) -> str:
    """The failure line, after checking it is the one line hookline wrote about it."""
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    said = [line for line in result.stderr.splitlines() if line.startswith("hookline: ")]
    assert len(said) == 1, result.stderr
    assert result.stderr.rstrip().endswith(said[0]), result.stderr  # nothing after it
    assert len(result.stderr.splitlines()) <= 5, result.stderr  # at most a few log lines before
    for fragment in fragments:
        assert fragment in said[0], said[0]
    return said[0]


@pytest.fixture
def listening_port() -> Iterator[int]:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield taken.getsockname()[1]


async def a_database_with_a_webhook(database_url: str, receiver: Receiver) -> None:
    """An installation whose webhook secret is sealed with SECRET_KEY."""
    async with running(make_settings(database_url)) as app:
        tenant = await app.api.tenants.create("Acme")
        await app.api.event_types.create("order.filled")
        await app.api.webhooks.create(url=receiver.url("/hook"), tenant_id=tenant.id)


async def test_a_wrong_secret_key_is_one_line(
    sqlite_url: str, receiver: Receiver, tmp_path: Path
) -> None:
    await a_database_with_a_webhook(sqlite_url, receiver)
    env = {"HOOKLINE_DATABASE_URL": sqlite_url, "HOOKLINE_SECRET_KEY": generate_key()}
    for result in (await start_each(ROLES, env, tmp_path)).values():
        says_in_one_line(result, "cannot be decrypted", "HOOKLINE_SECRET_KEY")


async def test_an_unreachable_database_is_one_line(tmp_path: Path) -> None:
    url = f"postgresql://hookline:s3cret-pass@127.0.0.1:{free_port()}/hookline"
    for result in (await start_each(ROLES, {"HOOKLINE_DATABASE_URL": url}, tmp_path)).values():
        says_in_one_line(result, "cannot reach the database", "127.0.0.1", "HOOKLINE_DATABASE_URL")
        assert "s3cret-pass" not in result.stderr


UNUSABLE_URLS = {  # tests/integration/test_cli.py has "mysql://"
    "not a url": "is not a database URL",
    "sqlite:////proc/no-such-dir/hookline.db": "/proc/no-such-dir",
}


async def test_an_unusable_database_url_is_one_line(tmp_path: Path) -> None:
    results = await asyncio.gather(
        *(start("serve", {"HOOKLINE_DATABASE_URL": url}, tmp_path) for url in UNUSABLE_URLS)
    )
    for result, fragment in zip(results, UNUSABLE_URLS.values(), strict=True):
        says_in_one_line(result, fragment)


async def test_a_port_in_use_is_one_line(listening_port: int, tmp_path: Path) -> None:
    env = {"HOOKLINE_DATABASE_URL": f"sqlite:///{tmp_path / 'hookline.db'}"}
    result = await hookline("api", "--port", str(listening_port), env=env, cwd=tmp_path)
    says_in_one_line(result, f"cannot listen on 127.0.0.1:{listening_port}", "--port")


async def test_a_database_that_refuses_hookline_is_one_line(tmp_path: Path) -> None:
    server = postgres_server_url()
    if server is None:
        pytest.skip(f"PostgreSQL: set {POSTGRES_ENV} to run")
    missing = server.rsplit("/", 1)[0] + "/no_such_database"
    result = await start("serve", {"HOOKLINE_DATABASE_URL": missing}, tmp_path)
    says_in_one_line(result, "refused hookline", 'database "no_such_database" does not exist')


async def test_an_import_with_the_wrong_secret_key_writes_nothing(
    database_url: str, receiver: Receiver, tmp_path: Path
) -> None:
    source = f"sqlite:///{tmp_path / 'source.db'}"
    await a_database_with_a_webhook(source, receiver)
    dump = tmp_path / "hookline.jsonl"
    db = Database(source)
    try:
        with dump.open("w") as out:
            await portable.export(db, out)
    finally:
        await db.close()

    env = {"HOOKLINE_DATABASE_URL": database_url, "HOOKLINE_SECRET_KEY": generate_key()}
    imported = await hookline("import", str(dump), env=env, cwd=tmp_path)

    assert imported.returncode == 2, imported.stderr
    assert "Traceback" not in imported.stderr
    [line] = imported.stderr.splitlines()
    assert line.startswith("hookline import: line ")
    assert "webhook secrets cannot be decrypted with this HOOKLINE_SECRET_KEY" in line
    assert "secret key of the installation that made the export" in line
    assert await table_count(database_url) == 0  # refused before touching the database

    target = Database(database_url)
    try:
        with dump.open() as lines, pytest.raises(InvalidInput, match="no HOOKLINE_SECRET_KEY set"):
            await portable.import_(target, lines, vault=None)
        assert await table_count(database_url) == 0
        with dump.open() as lines:
            counts = await portable.import_(target, lines, vault=Vault([SECRET_KEY]))
    finally:
        await target.close()
    assert counts["webhooks"] == 1


async def table_count(database_url: str) -> int:
    tables = (
        "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
        if database_url.startswith("sqlite")
        else "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
    )
    [(count,)] = await query(database_url, tables)
    return int(count)
