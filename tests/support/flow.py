"""Typed helpers over hookline.AsyncClient for integration tests."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from hookline.client import AsyncClient
from hookline.models import Delivery, Tenant, WebhookWithSecret
from tests.support.receiver import Receiver


async def webhook_for(
    api: AsyncClient,
    receiver: Receiver,
    path: str,
    *,
    event_type: str = "order.filled",
    tenant: Tenant | None = None,
    **fields: Any,
) -> tuple[Tenant, WebhookWithSecret]:
    """A tenant (new unless given), the event type, and a webhook to `receiver` at `path`."""
    tenant = tenant or await api.tenants.create("Acme")
    if not [t for t in (await api.event_types.list()).data if t.name == event_type]:
        await api.event_types.create(event_type)
    hook = await api.webhooks.create(url=receiver.url(path), tenant_id=tenant.id, **fields)
    return tenant, hook


async def settled(
    api: AsyncClient, event_id: str, *, count: int = 1, timeout: float = 15.0
) -> list[Delivery]:
    """Wait until the event has `count` deliveries and none is pending."""
    deadline = time.monotonic() + timeout
    while True:
        found = (await api.events.deliveries(event_id)).data
        if len(found) >= count and all(d.status != "pending" for d in found):
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"deliveries of {event_id} did not settle: {found}")
        await asyncio.sleep(0.05)
