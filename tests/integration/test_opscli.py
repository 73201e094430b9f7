"""The operator's commands (`hookline keys`, `webhooks`, `deliveries retry`, `purge`), run as
the operator runs them: a `hookline` process on the database a running hookline uses, their
effect checked through the API or in the database, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from hookline.auth import CACHE_SECONDS
from tests.support import api
from tests.support.databases import query
from tests.support.harness import SECRET_KEY, Running, make_settings, running
from tests.support.receiver import Receiver, Reply

UNREACHABLE = "postgresql://postgres@127.0.0.1:9/hookline"  # nothing listens on port 9


@dataclass
class Ran:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        assert self.code == 0, self.err
        return json.loads(self.out)


async def cli(database_url: str, *args: str, stdin: str = "", cwd: Path | None = None) -> Ran:
    """`hookline ARGS` in its own process, on `database_url`; the test's server keeps running."""
    env = {
        "HOOKLINE_DATABASE_URL": database_url,
        "HOOKLINE_SECRET_KEY": SECRET_KEY,
        "PATH": "/usr/bin:/bin",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hookline",
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
        cwd=cwd,
    )
    out, err = await asyncio.wait_for(process.communicate(stdin.encode()), 60)
    assert process.returncode is not None
    return Ran(process.returncode, out.decode(), err.decode())


async def failing_webhook(hl: Running, receiver: Receiver, path: str) -> tuple[str, str]:
    """A webhook whose first delivery has finally failed (4 answers 500): (webhook, delivery)."""
    tenant = await api.tenant(hl.client)
    if (await hl.client.get("/api/v1/event-types/order.filled")).status_code == 404:
        await api.event_type(hl.client, "order.filled")
    hook = await api.webhook(hl.client, tenant["id"], receiver.url(path))
    receiver.script(path, *[Reply(500)] * 4)
    event = await api.send(hl.client, "order.filled", {"n": 1}, tenant["id"])
    [delivery] = await api.settled(hl.client, event["id"])
    assert delivery["status"] == "failed", delivery
    return hook["id"], delivery["id"]


async def test_keys_are_created_shown_once_listed_and_revoked(
    hookline: Running, database_url: str
) -> None:
    tenant = await api.tenant(hookline.client, "Keyed")
    created = (await cli(database_url, "keys", "create", "--tenant", tenant["id"], "--json")).json()
    assert created["key"].startswith(created["prefix"])
    assert created["tenant"] == tenant["id"]
    async with httpx.AsyncClient(
        base_url=hookline.base_url, headers={"Authorization": f"Bearer {created['key']}"}
    ) as client:
        api.ok(await client.get("/api/v1/webhooks"))  # the key works

    admin = await cli(database_url, "keys", "create", "--admin", "--name", "ops")
    assert admin.code == 0, admin.err
    assert "shown ONCE" in admin.out
    assert "admin" in admin.out

    listed = (await cli(database_url, "keys", "list", "--json")).json()
    assert {(k["id"], k["scope"]) for k in listed} >= {(created["id"], "tenant")}
    assert {k["scope"] for k in listed} == {"admin", "tenant"}
    assert all("key" not in k for k in listed)
    assert created["key"] not in json.dumps(listed)
    only_tenant = (
        await cli(database_url, "keys", "list", "--tenant", tenant["id"], "--json")
    ).json()
    assert [k["id"] for k in only_tenant] == [created["id"]]
    table = await cli(database_url, "keys", "list")
    assert table.code == 0
    assert created["id"] in table.out
    assert created["key"] not in table.out
    assert table.out.splitlines()[0].split()[:3] == ["id", "name", "prefix"]

    revoked = await cli(database_url, "keys", "revoke", created["id"])
    assert revoked.code == 0, revoked.err
    [(revoked_at,)] = await query(
        database_url, f"SELECT revoked_at FROM api_keys WHERE id = '{created['id']}'"
    )
    assert revoked_at is not None
    hookline.advance(CACHE_SECONDS + 1)  # past what the running hookline may have cached
    async with httpx.AsyncClient(
        base_url=hookline.base_url, headers={"Authorization": f"Bearer {created['key']}"}
    ) as client:
        assert (await client.get("/api/v1/webhooks")).status_code == 401
    again = await cli(database_url, "keys", "revoke", created["id"])
    assert again.code == 1
    assert "does not exist" in again.err

    neither = await cli(database_url, "keys", "create")
    assert neither.code == 2
    assert "--admin or --tenant" in neither.err


async def test_webhooks_are_listed_masked_disabled_and_enabled(
    database_url: str, receiver: Receiver
) -> None:
    settings = make_settings(database_url, destinations=("http", "https", "redis"))
    async with running(settings) as hl:
        await webhooks_listed_masked_disabled_and_enabled(hl, receiver, database_url)


async def webhooks_listed_masked_disabled_and_enabled(
    hookline: Running, receiver: Receiver, database_url: str
) -> None:
    tenant = await api.tenant(hookline.client)
    url = "redis://ops:hunter2-secret@127.0.0.1:6379/0?channel=opscli-never-sent"
    hook = await api.webhook(hookline.client, tenant["id"], url, name="orders")
    failing, _ = await failing_webhook(hookline, receiver, "/down")

    table = await cli(database_url, "webhooks", "list")
    assert table.code == 0, table.err
    assert hook["id"] in table.out
    assert failing in table.out
    assert "hunter2-secret" not in table.out
    assert "ops:****@" in table.out
    listed = {w["id"]: w for w in (await cli(database_url, "webhooks", "list", "--json")).json()}
    assert listed[hook["id"]]["status"] == "active"
    assert listed[failing]["status"] == "failing"
    assert "hunter2-secret" not in json.dumps(listed)
    only_failing = (
        await cli(database_url, "webhooks", "list", "--status", "failing", "--json")
    ).json()
    assert [w["id"] for w in only_failing] == [failing]

    disabled = await cli(
        database_url, "webhooks", "disable", hook["id"], "--reason", "receiver moving"
    )
    assert disabled.code == 0, disabled.err
    seen = api.ok_object(await hookline.client.get(f"/api/v1/webhooks/{hook['id']}"))
    assert (seen["is_active"], seen["disabled_reason"]) == (False, "receiver moving")
    only_disabled = (
        await cli(database_url, "webhooks", "list", "--status", "disabled", "--json")
    ).json()
    assert [w["id"] for w in only_disabled] == [hook["id"]]

    enabled = await cli(database_url, "webhooks", "enable", hook["id"])
    assert enabled.code == 0, enabled.err
    seen = api.ok_object(await hookline.client.get(f"/api/v1/webhooks/{hook['id']}"))
    assert (seen["is_active"], seen["disabled_reason"]) == (True, None)

    unknown = await cli(database_url, "webhooks", "disable", "wh_nothere")
    assert unknown.code == 1
    assert "wh_nothere" in unknown.err
    bad = await cli(database_url, "webhooks", "list", "--status", "sleepy")
    assert bad.code == 2
    assert "active, disabled, failing" in bad.err


async def test_a_managed_webhook_is_refused_as_the_api_refuses_it(
    database_url: str, receiver: Receiver
) -> None:
    settings = make_settings(database_url, max_request_timeout=60.0)  # seed 002's 30 s
    async with running(settings, environ={"WEBHOOK_URL": receiver.url("/declared")}) as hl:
        [declared] = api.ok_object(await hl.client.get("/api/v1/webhooks"))["data"]
        answer = await hl.client.patch(
            f"/api/v1/webhooks/{declared['id']}", json={"is_active": False}
        )
        assert answer.status_code == 409
        refused = await cli(database_url, "webhooks", "disable", declared["id"])
        assert refused.code == 1
        assert answer.json()["detail"] in refused.err
        seen = api.ok_object(await hl.client.get(f"/api/v1/webhooks/{declared['id']}"))
        assert seen["is_active"] is True


async def test_failed_deliveries_are_retried_in_bulk(
    hookline: Running, receiver: Receiver, database_url: str
) -> None:
    webhook, delivery = await failing_webhook(hookline, receiver, "/flaky")
    other, other_delivery = await failing_webhook(hookline, receiver, "/other")
    receiver.script("/flaky", Reply(200))  # the receiver is back

    none = (
        await cli(database_url, "deliveries", "retry", "--since", "1h", "--until", "30m", "--json")
    ).json()
    assert none == {"requeued": 0, "skipped": []}  # created before 30 minutes ago: none

    one = (
        await cli(
            database_url, "deliveries", "retry", "--status", "failed", "--since", "2h",
            "--webhook", webhook, "--json",
        )
    ).json()  # fmt: skip
    assert one == {"requeued": 1, "skipped": []}
    hookline.advance(1)
    done = await api.delivery_when(hookline.client, delivery, "succeeded")
    assert done["attempt_count"] == 5
    assert (await api.attempts(hookline.client, delivery))[-1]["trigger"] == "manual"
    [(other_status,)] = await query(
        database_url, f"SELECT status FROM deliveries WHERE id = '{other_delivery}'"
    )
    assert other_status == "failed"  # another webhook's: left alone

    api.ok(await hookline.client.patch(f"/api/v1/webhooks/{other}", json={"is_active": False}))
    skipped = await cli(database_url, "deliveries", "retry", "--since", "2h")
    assert skipped.code == 0, skipped.err
    assert "queued 0 failed deliveries again" in skipped.out
    assert other_delivery in skipped.out
    assert "disabled" in skipped.out

    bad = await cli(database_url, "deliveries", "retry", "--since", "yesterday")
    assert bad.code == 2
    assert "neither a duration" in bad.err


async def test_purge_deletes_old_events_after_asking(
    hookline: Running, receiver: Receiver, database_url: str
) -> None:
    tenant = await api.tenant(hookline.client)
    await api.event_type(hookline.client, "order.filled")
    await api.webhook(hookline.client, tenant["id"], receiver.url("/kept"))
    hookline.advance(-40 * 86_400)  # these two are sent 40 days ago
    old = [await api.send(hookline.client, "order.filled", {"n": n}, tenant["id"]) for n in (1, 2)]
    for event in old:
        await api.settled(hookline.client, event["id"])
    hookline.advance(40 * 86_400)
    new = await api.send(hookline.client, "order.filled", {"n": 3}, tenant["id"])
    await api.settled(hookline.client, new["id"])

    declined = await cli(database_url, "purge", "--older-than", "30d", stdin="n\n")
    assert declined.code == 1
    assert len(await query(database_url, "SELECT id FROM events")) == 3

    purged = (await cli(database_url, "purge", "--older-than", "30d", "--yes", "--json")).json()
    assert purged["purged"] == 2
    assert [row[0] for row in await query(database_url, "SELECT id FROM events")] == [new["id"]]
    assert len(await query(database_url, "SELECT id FROM deliveries")) == 1

    said = await cli(database_url, "purge", "--older-than", "30d", "--yes")
    assert said.code == 0
    assert "purged 0 events" in said.out


async def test_an_unreachable_database_is_said_plainly(tmp_path: Path) -> None:
    commands = [
        ("keys", "list"),
        ("keys", "revoke", "key_x"),
        ("webhooks", "disable", "wh_x"),
        ("deliveries", "retry", "--since", "2h"),
        ("purge", "--older-than", "30d", "--yes"),
    ]
    runs = await asyncio.gather(*(cli(UNREACHABLE, *args, cwd=tmp_path) for args in commands))
    for args, ran in zip(commands, runs, strict=True):
        assert ran.code == 1, (args, ran.err)
        assert "cannot reach the database at postgresql://postgres@127.0.0.1:9" in ran.err, args
        assert "Traceback" not in ran.err
