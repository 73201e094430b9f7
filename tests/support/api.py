"""Small helpers for driving hookline's HTTP API in tests."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.status_code}: {response.text}"
    return response.json() if response.content else None


def ok_object(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    """`ok` for an answer that is a JSON object."""
    body = ok(response, status)
    assert isinstance(body, dict), f"expected a JSON object: {body!r}"
    return body


async def tenant(client: httpx.AsyncClient, name: str = "Acme", **fields: Any) -> dict[str, Any]:
    return ok_object(await client.post("/api/v1/tenants", json={"name": name, **fields}), 201)


async def event_type(client: httpx.AsyncClient, name: str = "order.filled") -> dict[str, Any]:
    return ok_object(await client.post("/api/v1/event-types", json={"name": name}), 201)


async def webhook(
    client: httpx.AsyncClient, tenant_id: str, url: str, **fields: Any
) -> dict[str, Any]:
    body = {"tenant_id": tenant_id, "url": url, **fields}
    return ok_object(await client.post("/api/v1/webhooks", json=body), 201)


async def send(
    client: httpx.AsyncClient, event_type: str, data: dict[str, Any], tenant_id: str | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"type": event_type, "data": data}
    if tenant_id is not None:
        body["tenant_id"] = tenant_id
    return ok_object(await client.post("/api/v1/events", json=body), 202)


async def deliveries(client: httpx.AsyncClient, event_id: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = ok_object(
        await client.get(f"/api/v1/events/{event_id}/deliveries")
    )["data"]
    return found


async def attempts(client: httpx.AsyncClient, delivery_id: str) -> list[dict[str, Any]]:
    page = ok(await client.get(f"/api/v1/deliveries/{delivery_id}/attempts"))
    return sorted(page["data"], key=lambda a: a["number"])


async def settled(
    client: httpx.AsyncClient, event_id: str, *, timeout: float = 15.0, count: int = 1
) -> list[dict[str, Any]]:
    """Wait until the event has `count` deliveries and none is pending; return them."""
    deadline = time.monotonic() + timeout
    while True:
        found = await deliveries(client, event_id)
        if len(found) >= count and all(d["status"] != "pending" for d in found):
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"deliveries of {event_id} did not settle: {found}")
        await asyncio.sleep(0.05)


async def delivery_when(
    client: httpx.AsyncClient, delivery_id: str, status: str, timeout: float = 15.0
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        found = ok_object(await client.get(f"/api/v1/deliveries/{delivery_id}"))
        if found["status"] == status:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"delivery {delivery_id} never became {status}: {found}")
        await asyncio.sleep(0.05)
