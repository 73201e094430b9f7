"""Helpers for the broker destination tests (amqp://, nats://): a webhook to a broker URL
through the API, and waiting for a delivery's attempts."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import standardwebhooks

from tests.support import api
from tests.support.harness import Running

EVENT_TYPE = "order.filled"


def unique(prefix: str) -> str:
    """A broker object name no other test (or CI run on the same server) uses."""
    return f"{prefix}-{secrets.token_hex(6)}"


async def broker_webhook(hl: Running, url: str, **fields: Any) -> dict[str, Any]:
    """A tenant, the event type and a webhook to `url`, created with the admin key."""
    tenant = await api.tenant(hl.client)
    if (await hl.client.get(f"/api/v1/event-types/{EVENT_TYPE}")).status_code == 404:
        await api.event_type(hl.client, EVENT_TYPE)
    return await api.webhook(hl.client, tenant["id"], url, **fields)


async def attempted(hl: Running, delivery_id: str, number: int) -> list[dict[str, Any]]:
    """The delivery's attempts once attempt `number` is recorded."""
    deadline = time.monotonic() + 15
    while True:
        found = await api.attempts(hl.client, delivery_id)
        if len(found) >= number:
            return found
        assert time.monotonic() < deadline, f"attempt {number} never happened: {found}"
        await asyncio.sleep(0.02)


def verified(secret: str, body: bytes, headers: dict[str, str]) -> Any:
    """The payload, once `standardwebhooks` verified the signature headers a broker carried."""
    return standardwebhooks.Webhook(secret).verify(body, headers)


@contextmanager
def all_logs() -> Iterator[list[str]]:
    """Every log line (any logger, any level) written inside the block, formatted."""
    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    handler = Collect(level=logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(name)s %(message)s"))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield lines
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
