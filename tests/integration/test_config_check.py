"""`hookline config check`: the shipped seed catalogs load, a bad file is explained with its line
and fix, and what a start would change is listed against the configured database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from hookline.node import Hookline
from tests.support.harness import make_settings

ROOT = Path(__file__).resolve().parents[2]
CATALOGS = sorted((ROOT / "examples" / "catalogs").glob("*.toml"))


def check(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("HOOKLINE_", "WEBHOOK"))}
    return subprocess.run(
        [sys.executable, "-m", "hookline", "config", "check", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**keep, **env},
        cwd=env.get("CWD"),
    )


def test_there_is_a_catalog_per_seed() -> None:
    assert [p.name[:3] for p in CATALOGS] == ["000", "001", "002", "003", "004"]


@pytest.mark.parametrize("catalog", CATALOGS, ids=lambda p: p.name)
def test_every_seed_catalog_loads(catalog: Path, tmp_path: Path) -> None:
    result = check(
        str(catalog),
        env={"HOOKLINE_DATABASE_URL": f"sqlite:///{tmp_path}/h.db", "CWD": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr
    assert f"{catalog}: valid (" in result.stdout
    assert "create event type" in result.stdout
    assert not (tmp_path / "h.db").exists()  # a check writes nothing


def test_a_bad_file_is_explained_with_its_line_and_fix(tmp_path: Path) -> None:
    path = tmp_path / "hookline.toml"
    path.write_text(
        '[[event_types]]\nname = "a"\n\n[[webhooks]]\nurl = "https://a.example"\nevents = ["a"]\n'
    )
    result = check(str(path), env={"HOOKLINE_DATABASE_URL": f"sqlite:///{tmp_path}/h.db"})
    assert result.returncode == 1
    assert result.stderr.startswith(
        f"hookline config check: {path}:6: webhooks[0].events: 'events' is not a field here; "
        "the fields are: url, name, description, event_types,"
    )


def test_a_mistake_only_a_start_would_find_is_found_too(tmp_path: Path) -> None:
    path = tmp_path / "hookline.toml"
    path.write_text('[[webhooks]]\nurl = "https://a.example"\nevent_types = ["nope"]\n')
    result = check(str(path), env={"HOOKLINE_DATABASE_URL": f"sqlite:///{tmp_path}/h.db"})
    assert result.returncode == 1
    assert "'nope' is not a known event type" in result.stderr


async def test_what_would_change_is_listed_against_the_configured_database(tmp_path: Path) -> None:
    path = tmp_path / "hookline.toml"
    path.write_text('[[event_types]]\nname = "order.filled"\ndescription = "v1"\n')
    url = f"sqlite:///{tmp_path}/h.db"
    env = {"HOOKLINE_DATABASE_URL": url, "HOOKLINE_DATA_DIR": str(tmp_path / "data")}
    node = Hookline(make_settings(url, config=path, data_dir=tmp_path / "data"), environ={})
    await node.start()
    await node.stop()

    assert check(str(path), env=env).stdout.splitlines()[1:] == ["nothing to change"]
    path.write_text('[[event_types]]\nname = "order.filled"\ndescription = "v2"\n')
    result = check(
        str(path),
        env={**env, "WEBHOOKS_ORDER_FILLED": "https://a.example", "WEBHOOK_FORMAT": "standard"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1:] == [
        "  update event type order.filled: description",
        "  create tenant default",
        "  create webhook WEBHOOKS_ORDER_FILLED https://a.example",
    ]


def test_without_a_file_the_environment_alone_is_checked(tmp_path: Path) -> None:
    env = {"HOOKLINE_DATABASE_URL": f"sqlite:///{tmp_path}/h.db", "WEBHOOKS_CASCADE": "https://a"}
    result = check(env=env)
    assert result.returncode == 1
    assert "WEBHOOKS_CASCADE matches no event type group or event type" in result.stderr
    url = {"WEBHOOK_URL": "https://a.example/x", "WEBHOOK_FORMAT": "standard"}
    result = check(env={**env, "WEBHOOKS_CASCADE": "", **url})
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0].startswith("no HOOKLINE_CONFIG file")
    assert "  create webhook WEBHOOK_URL https://a.example/x" in result.stdout


def test_seed_002_redis_fallback_is_reported_without_its_password(tmp_path: Path) -> None:
    env = {
        "HOOKLINE_DATABASE_URL": f"sqlite:///{tmp_path}/h.db",
        "WEBHOOK_URL": "https://a.example/ready",
        "ENABLE_REDIS_FALLBACK": "true",
        "REDIS_URL": "redis://:pw-9876@cache.example.com:6379/0",
    }
    result = check(env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == (
        "  create webhook ENABLE_REDIS_FALLBACK "
        "redis://:****@cache.example.com:6379/0?channel=hookline.events"
    )
    assert "pw-9876" not in result.stdout + result.stderr
