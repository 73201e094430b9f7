"""Moving an installation from SQLite to PostgreSQL with hookline export / hookline import:
the commands the deployment guide gives."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import standardwebhooks

from tests.support.databases import query
from tests.support.flow import settled, webhook_for
from tests.support.harness import SECRET_KEY, make_settings, running
from tests.support.receiver import Receiver, Reply

TABLES = ("tenants", "api_keys", "event_types", "webhooks", "events", "deliveries", "attempts")


async def hookline_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "hookline", *args],
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


async def counts(database_url: str) -> dict[str, int]:
    return {t: int((await query(database_url, f"SELECT count(*) FROM {t}"))[0][0]) for t in TABLES}


async def test_export_then_import_moves_everything(
    tmp_path: Path, database_url: str, receiver: Receiver
) -> None:
    source = f"sqlite:///{tmp_path / 'source.db'}"
    receiver.script("/flaky", Reply(500), Reply(200))
    async with running(make_settings(source, retry_schedule=(0.1,))) as app:
        tenant, hook = await webhook_for(
            app.api, receiver, "/flaky", filter={"data.n": {"$gte": 0}}
        )
        rotated = await app.api.webhooks.rotate_secret(hook.id)
        key = await app.api.tenants.create_key(tenant.id, name="dashboard")
        await app.api.event_types.create("price.above", schema={"type": "object"})
        sent = [
            await app.api.events.send(
                "order.filled", {"n": n, "note": "ünïcode ✓"}, tenant_id=tenant.id
            )
            for n in range(3)
        ]
        keyed = await app.api.events.send(
            "order.filled", {"n": 7}, tenant_id=tenant.id, idempotency_key="fill-7"
        )
        for event in [*sent, keyed]:
            await settled(app.api, event.id)
        log_before = (await app.api.webhooks.deliveries(hook.id)).data
    before = await counts(source)
    assert before["attempts"] >= 4

    dump = tmp_path / "hookline.jsonl"
    exported = await hookline_cli("export", str(dump), env={"HOOKLINE_DATABASE_URL": source})
    assert exported.returncode == 0, exported.stderr
    assert f"exported {before['tenants']} tenants" in exported.stderr
    header = json.loads(dump.read_text().splitlines()[0])
    assert header["hookline_export"] == 1

    target = {"HOOKLINE_DATABASE_URL": database_url, "HOOKLINE_SECRET_KEY": SECRET_KEY}
    imported = await hookline_cli("import", str(dump), env=target)
    assert imported.returncode == 0, imported.stderr
    assert await counts(database_url) == before

    again = await hookline_cli("import", str(dump), env=target)
    assert again.returncode == 2
    assert "import into a new, empty database" in again.stderr

    async with running(make_settings(database_url, secret_key=SECRET_KEY)) as moved:
        assert (await moved.api.webhooks.deliveries(hook.id)).data == log_before
        async with moved.client_for(key.key) as customer:  # keys still work (stored hashed)
            assert [w.id for w in (await customer.webhooks.list()).data] == [hook.id]
        assert (await moved.api.event_types.get("price.above")).json_schema == {"type": "object"}
        new = await moved.api.events.send("order.filled", {"n": 9}, tenant_id=tenant.id)
        [delivery] = await settled(moved.api, new.id)
        assert delivery.status == "succeeded"
        replay = await moved.api.events.send(
            "order.filled", {"n": 7}, tenant_id=tenant.id, idempotency_key="fill-7"
        )
        assert (replay.id, replay.duplicate) == (keyed.id, True)  # idempotency keys came along
    request = receiver.at("/flaky")[-1]
    standardwebhooks.Webhook(rotated.secret).verify(request.body, request.headers)
    standardwebhooks.Webhook(hook.secret).verify(request.body, request.headers)  # grace came along
    assert json.loads(request.body)["data"] == {"n": 9}


async def test_import_refuses_what_is_not_an_export(tmp_path: Path, database_url: str) -> None:
    bogus = tmp_path / "bogus.jsonl"
    bogus.write_text('{"hello": "world"}\n')
    result = await hookline_cli("import", str(bogus), env={"HOOKLINE_DATABASE_URL": database_url})
    assert result.returncode == 2
    assert "not a hookline export" in result.stderr
    tables = (
        "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
        if database_url.startswith("sqlite")
        else "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
    )
    assert await query(database_url, tables) == [(0,)]  # refused before touching the database
