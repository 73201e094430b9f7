"""`hookline listen`, the quickstart's receiver, fed by a real delivery."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

import httpx

from hookline import signing
from tests.support import api
from tests.support.harness import Running, free_port


async def test_listen_verifies_and_prints_a_real_delivery(
    hookline: Running, tmp_path: Path
) -> None:
    secret = signing.generate_secret()
    port = free_port()
    out = tmp_path / "listen.out"
    with out.open("wb") as sink:
        listener = subprocess.Popen(
            [sys.executable, "-m", "hookline", "listen", "--port", str(port), "--secret", secret],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env={"PYTHONUNBUFFERED": "1", "PATH": "/usr/bin:/bin"},
        )
    try:
        deadline = time.monotonic() + 15
        while "verifying webhooks" not in out.read_text() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        tenant = await api.tenant(hookline.client)
        await api.event_type(hookline.client, "price.above")
        await api.webhook(hookline.client, tenant["id"], f"http://127.0.0.1:{port}/", secret=secret)
        sent = await api.send(
            hookline.client, "price.above", {"symbol": "BTC", "price": 50100}, tenant["id"]
        )
        [delivery] = await api.settled(hookline.client, sent["id"])
        assert delivery["status"] == "succeeded"

        forged = httpx.post(
            f"http://127.0.0.1:{port}/",
            content=b"{}",
            headers={
                "webhook-id": "evt_x",
                "webhook-timestamp": str(int(time.time())),
                "webhook-signature": "v1,AAAA",
            },
        )
        assert forged.status_code == 401
    finally:
        listener.terminate()
        listener.wait(10)
    printed = out.read_text()
    assert f"✓ price.above {sent['id']} (signature verified)" in printed
    assert '"price": 50100' in printed
    assert "✗ POST /: rejected, no signature matches this secret" in printed


def test_listen_refuses_a_malformed_secret() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "hookline", "listen", "--secret", "whsec_???"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "not valid base64" in result.stderr
