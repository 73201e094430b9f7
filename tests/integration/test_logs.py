"""`hookline serve --log-level debug --log-format json`: one JSON object a line, each delivery
attempt logged with its ids, status or error, latency and destination kind, and no secret
anywhere in the output, whatever traffic went through."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.harness import ADMIN_HEADERS, ADMIN_KEY, SECRET_KEY, ServeProcess
from tests.support.receiver import Receiver, Reply

pytestmark = pytest.mark.slow

WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"log-test-secret-32-bytes-long!!!").decode()
HEADER_VALUE = "custom-header-value-3f9c1e7a"
REDIS_PASSWORD = "redis-password-b7d2a4"


def read_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.startswith("{")]


async def wait_for_line(path: Path, **wanted: Any) -> dict[str, Any]:
    for _ in range(200):
        for line in read_lines(path):
            if all(line.get(k) == v for k, v in wanted.items()):
                return line
        await asyncio.sleep(0.05)
    raise AssertionError(f"no log line with {wanted}: {read_lines(path)[-10:]}")


async def test_debug_json_logs_show_each_attempt_and_never_a_secret(
    tmp_path: Path, receiver: Receiver
) -> None:
    receiver.script("/hook", Reply(200))
    log = tmp_path / "serve.log"
    env = {
        "HOOKLINE_DATABASE_URL": f"sqlite:///{tmp_path / 'hookline.db'}",
        "HOOKLINE_ADMIN_KEY": ADMIN_KEY,
        "HOOKLINE_SECRET_KEY": SECRET_KEY,
        "HOOKLINE_RETRY_SCHEDULE": "0.2,0.2",
        "HOOKLINE_POLL_INTERVAL": "0.1",
        "HOOKLINE_DESTINATIONS": "http,https,redis",
        "HOOKLINE_TENANT_KEYS_CAN_SEND": "true",
    }
    process = ServeProcess(env, log=log, args=("--log-level", "debug", "--log-format", "json"))
    process.start()
    try:
        async with httpx.AsyncClient(base_url=process.base_url, headers=ADMIN_HEADERS) as admin:
            tenant = (await admin.post("/api/v1/tenants", json={"name": "Acme"})).json()
            created = await admin.post(f"/api/v1/tenants/{tenant['id']}/keys", json={})
            assert created.status_code == 201, created.text
            tenant_key = created.json()["key"]
            await admin.post("/api/v1/event-types", json={"name": "order.filled"})
            hook = await admin.post(
                "/api/v1/webhooks",
                json={
                    "tenant_id": tenant["id"],
                    "url": receiver.url("/hook"),
                    "secret": WEBHOOK_SECRET,
                    "headers": {"X-Partner-Token": HEADER_VALUE},
                },
            )
            assert hook.status_code == 201, hook.text
            broken = await admin.post(
                "/api/v1/webhooks",
                json={
                    "tenant_id": tenant["id"],
                    "url": f"redis://:{REDIS_PASSWORD}@127.0.0.1:1/0?channel=orders",
                },
            )
            assert broken.status_code == 201, broken.text
        async with httpx.AsyncClient(
            base_url=process.base_url, headers={"Authorization": f"Bearer {tenant_key}"}
        ) as client:
            sent = await client.post("/api/v1/events", json={"type": "order.filled", "data": {}})
            assert sent.status_code == 202, sent.text
            event_id = sent.json()["id"]
            refused = await client.get("/api/v1/tenants")  # a tenant key is not an admin's
            assert refused.status_code == 403
        [request] = await receiver.wait_for(1, "/hook")
        headers = {name.lower(): value for name, value in request.headers.items()}
        signature = headers["webhook-signature"]
        assert headers["x-partner-token"] == HEADER_VALUE  # it was sent: it could be logged
        ok = await wait_for_line(log, event_id=event_id, webhook_id=hook.json()["id"])
        failed = await wait_for_line(log, event_id=event_id, webhook_id=broken.json()["id"])
    finally:
        process.terminate()
    output = log.read_text()
    for secret in (
        ADMIN_KEY,
        SECRET_KEY,
        tenant_key,
        WEBHOOK_SECRET,
        WEBHOOK_SECRET.removeprefix("whsec_"),
        HEADER_VALUE,
        REDIS_PASSWORD,
        signature,
        signature.split(",", 1)[1],
    ):
        assert secret not in output
    lines = read_lines(log)
    banner = [line for line in output.splitlines() if line.startswith("WARNING: --dev mode")]
    assert len(lines) + len(banner) == len(output.splitlines())  # each log line is one object
    assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    assert ok["level"] == "debug"
    assert ok["status"] == 200
    assert ok["destination"] == "http"
    assert ok["tenant_id"] == tenant["id"]
    assert ok["delivery_id"].startswith("dlv_")
    assert isinstance(ok["latency_ms"], int)
    assert failed["destination"] == "redis"
    assert failed["error"]
    assert "status" not in failed
