from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from hookline import __version__


def hookline(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hookline", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


def test_version() -> None:
    result = hookline("--version")
    assert (result.returncode, result.stdout.strip()) == (0, f"hookline {__version__}")


def test_migrate_creates_the_schema(tmp_path: Path) -> None:
    db = tmp_path / "data" / "hooks.db"
    result = hookline(
        "migrate", env={"HOOKLINE_DATABASE_URL": f"sqlite:///{db}", "PATH": "/usr/bin:/bin"}
    )
    assert result.returncode == 0, result.stderr
    assert "schema is up to date" in result.stdout
    with sqlite3.connect(db) as conn:
        tables = {
            row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }
    assert {
        "tenants",
        "api_keys",
        "event_types",
        "webhooks",
        "events",
        "deliveries",
        "attempts",
    } <= tables


def test_bad_configuration_is_explained(tmp_path: Path) -> None:
    result = hookline(
        "serve",
        env={
            "HOOKLINE_DATABASE_URL": f"sqlite:///{tmp_path}/x.db",
            "HOOKLINE_RETRY_SCHEDULE": "5,soon",
            "PATH": "/usr/bin:/bin",
        },
    )
    assert result.returncode == 2
    assert "invalid configuration" in result.stderr
    assert "comma-separated seconds" in result.stderr


def test_an_unsupported_database_is_explained(tmp_path: Path) -> None:
    result = hookline(
        "serve", env={"HOOKLINE_DATABASE_URL": "mysql://x/y", "PATH": "/usr/bin:/bin"}
    )
    assert result.returncode == 2
    assert "unsupported database 'mysql'" in result.stderr
