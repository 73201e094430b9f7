"""Webhook secrets at rest: encrypted, rotatable, and never in logs."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import standardwebhooks

from hookline.errors import ConfigurationError
from hookline.node import Hookline
from hookline.vault import generate_key
from tests.support.databases import query
from tests.support.flow import settled, webhook_for
from tests.support.harness import ADMIN_KEY, ServeProcess, make_settings, running
from tests.support.receiver import Receiver


async def test_secrets_are_stored_encrypted(database_url: str, receiver: Receiver) -> None:
    async with running(make_settings(database_url)) as app:
        tenant, hook = await webhook_for(app.api, receiver, "/hooks")
        rotated = await app.api.webhooks.rotate_secret(hook.id)
        sent = await app.api.events.send("order.filled", {}, tenant_id=tenant.id)
        await settled(app.api, sent.id)
    [(secret, previous)] = await query(database_url, "SELECT secret, previous_secret FROM webhooks")
    for plain in (hook.secret, rotated.secret):
        for stored in (str(secret), str(previous)):
            assert plain not in stored
            assert plain.removeprefix("whsec_") not in stored
    [request] = receiver.at("/hooks")
    standardwebhooks.Webhook(rotated.secret).verify(request.body, request.headers)


async def test_the_key_rotation_procedure(database_url: str, receiver: Receiver) -> None:
    old, new = generate_key(), generate_key()
    async with running(make_settings(database_url, secret_key=old)) as app:
        tenant, hook = await webhook_for(app.api, receiver, "/hooks")

    rotate = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "hookline", "secrets", "rotate"],
        env={"HOOKLINE_DATABASE_URL": database_url, "HOOKLINE_SECRET_KEY": f"{new},{old}"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert rotate.returncode == 0, rotate.stderr
    assert "re-encrypted the secrets of 1 webhooks" in rotate.stdout

    async with running(make_settings(database_url, secret_key=new)) as app:
        sent = await app.api.events.send("order.filled", {}, tenant_id=tenant.id)
        await settled(app.api, sent.id)
    [request] = receiver.at("/hooks")
    standardwebhooks.Webhook(hook.secret).verify(request.body, request.headers)


async def test_a_missing_key_stops_hookline_at_start_with_a_reason(
    database_url: str, receiver: Receiver
) -> None:
    async with running(make_settings(database_url)) as app:
        await webhook_for(app.api, receiver, "/hooks")
    node = Hookline(make_settings(database_url, secret_key=generate_key()))
    with pytest.raises(ConfigurationError, match="cannot be decrypted"):
        await node.start()
    await node.db.close()


async def test_secrets_and_keys_never_reach_the_logs(
    tmp_path: Path, database_url: str, receiver: Receiver
) -> None:
    log = tmp_path / "serve.log"
    process = ServeProcess(
        {
            "HOOKLINE_DATABASE_URL": database_url,
            "HOOKLINE_ADMIN_KEY": ADMIN_KEY,
            "HOOKLINE_RETRY_SCHEDULE": "0.1",
        },
        log=log,
    )
    process.start()
    try:
        headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
        async with httpx.AsyncClient(base_url=process.base_url, headers=headers) as client:
            tenant = (await client.post("/api/v1/tenants", json={"name": "A"})).json()
            await client.post("/api/v1/event-types", json={"name": "order.filled"})
            hook = (
                await client.post(
                    "/api/v1/webhooks",
                    json={"tenant_id": tenant["id"], "url": receiver.url("/h"), "secret": None},
                )
            ).json()
            rotated = (await client.post(f"/api/v1/webhooks/{hook['id']}/rotate-secret")).json()
            key = (await client.post(f"/api/v1/tenants/{tenant['id']}/keys")).json()
            await client.post(
                "/api/v1/webhooks",
                json={"tenant_id": tenant["id"], "url": "http://x", "secret": "whsec_bad"},
            )
            await client.post(
                "/api/v1/events",
                json={"type": "order.filled", "data": {}, "tenant_id": tenant["id"]},
            )
            await client.get("/api/v1/webhooks", headers={"Authorization": f"Bearer {key['key']}"})
            await receiver.wait_for(1, "/h")
    finally:
        process.terminate()
    text = log.read_text()
    assert "POST /api/v1/webhooks" in text  # the log is there, and has requests in it
    for secret in (hook["secret"], rotated["secret"], key["key"], ADMIN_KEY):
        assert secret not in text
