"""The asyncio client. `_sync.py` is generated from this file: edit here, then run
`python scripts/generate_sync_client.py`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Literal, TypeVar

import httpx
from pydantic import BaseModel

from hookline.client._common import UNSET, HooklineAPIError, default_headers, fields, query
from hookline.models import (
    ApiKey,
    Attempt,
    CreatedApiKey,
    Delivery,
    DeliveryStatistics,
    DeliveryStatus,
    DeliveryWithAttempts,
    Event,
    EventType,
    Health,
    Page,
    Preview,
    RecoveryResult,
    SentEvent,
    Tenant,
    Webhook,
    WebhookPublicKeys,
    WebhookStats,
    WebhookTestResult,
    WebhookWithSecret,
)

M = TypeVar("M", bound=BaseModel)


class AsyncClient:
    """hookline's HTTP API. Use it as a context manager, or close it when done."""

    def __init__(
        self,
        base_url: str = "http://127.0.0.1:8000",
        key: str | None = None,
        *,
        timeout: float = 30.0,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self._http = http or httpx.AsyncClient(
            base_url=base_url, headers=default_headers(key), timeout=timeout
        )
        self.tenants = Tenants(self)
        self.event_types = EventTypes(self)
        self.webhooks = Webhooks(self)
        self.events = Events(self)
        self.deliveries = Deliveries(self)

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def health(self) -> Health:
        return await self.call("GET", "/health", Health)

    async def stats(
        self, *, since: str = "24h", tenant_id: str | None = None
    ) -> DeliveryStatistics:
        """Attempts per webhook since `since` (`90m`, `24h`, `7d` or an ISO 8601 instant)."""
        params = query(since=since, tenant_id=tenant_id)
        return await self.call("GET", "/api/v1/stats", DeliveryStatistics, params=params)

    async def call(
        self,
        method: str,
        path: str,
        model: type[M],
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> M:
        """One request, its answer parsed into `model`; errors raise HooklineAPIError."""
        response = await self.request(method, path, json=json, params=params, headers=headers)
        return model.model_validate(response.json())

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        response = await self._http.request(method, path, json=json, params=params, headers=headers)
        if response.is_error:
            raise HooklineAPIError.from_response(response)
        return response


class Tenants:
    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def create(self, name: str, *, uid: str | None = None, max_webhooks: int = 100) -> Tenant:
        body = {"name": name, "uid": uid, "max_webhooks": max_webhooks}
        return await self._client.call("POST", "/api/v1/tenants", Tenant, json=body)

    async def list(self, *, limit: int | None = None, cursor: str | None = None) -> Page[Tenant]:
        params = query(limit=limit, cursor=cursor)
        return await self._client.call("GET", "/api/v1/tenants", Page[Tenant], params=params)

    async def get(self, tenant: str) -> Tenant:
        """By id or uid."""
        return await self._client.call("GET", f"/api/v1/tenants/{tenant}", Tenant)

    async def update(
        self, tenant: str, *, name: str = UNSET, uid: str | None = UNSET, max_webhooks: int = UNSET
    ) -> Tenant:
        body = fields(name=name, uid=uid, max_webhooks=max_webhooks)
        return await self._client.call("PATCH", f"/api/v1/tenants/{tenant}", Tenant, json=body)

    async def delete(self, tenant: str) -> None:
        await self._client.request("DELETE", f"/api/v1/tenants/{tenant}")

    async def create_key(self, tenant: str, *, name: str = "") -> CreatedApiKey:
        path = f"/api/v1/tenants/{tenant}/keys"
        return await self._client.call("POST", path, CreatedApiKey, json={"name": name})

    async def list_keys(
        self, tenant: str, *, limit: int | None = None, cursor: str | None = None
    ) -> Page[ApiKey]:
        path = f"/api/v1/tenants/{tenant}/keys"
        params = query(limit=limit, cursor=cursor)
        return await self._client.call("GET", path, Page[ApiKey], params=params)

    async def revoke_key(self, tenant: str, key_id: str) -> None:
        await self._client.request("DELETE", f"/api/v1/tenants/{tenant}/keys/{key_id}")


class EventTypes:
    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def create(
        self, name: str, *, description: str = "", schema: dict[str, Any] | None = None
    ) -> EventType:
        body = {"name": name, "description": description, "schema": schema}
        return await self._client.call("POST", "/api/v1/event-types", EventType, json=body)

    async def list(
        self,
        *,
        include_archived: bool = False,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page[EventType]:
        params = query(include_archived=include_archived, limit=limit, cursor=cursor)
        path = "/api/v1/event-types"
        return await self._client.call("GET", path, Page[EventType], params=params)

    async def get(self, name: str) -> EventType:
        return await self._client.call("GET", f"/api/v1/event-types/{name}", EventType)

    async def update(
        self,
        name: str,
        *,
        description: str = UNSET,
        schema: dict[str, Any] | None = UNSET,
        archived: bool = UNSET,
    ) -> EventType:
        body = fields(description=description, schema=schema, archived=archived)
        path = f"/api/v1/event-types/{name}"
        return await self._client.call("PATCH", path, EventType, json=body)

    async def archive(self, name: str) -> None:
        await self._client.request("DELETE", f"/api/v1/event-types/{name}")


class Webhooks:
    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def create(
        self,
        *,
        url: str,
        tenant_id: str | None = None,
        name: str = "",
        description: str = "",
        event_types: Iterable[str] = (),
        filter: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        rate_limit_per_minute: int | None = None,
        max_in_flight: int | None = None,
        is_active: bool = True,
        secret: str | None = None,
        ordering: Literal["fifo"] | None = None,
        fifo_on_failure: Literal["skip", "block"] = "skip",
        batch: dict[str, int] | None = None,
    ) -> WebhookWithSecret:
        """`batch`: send events together, e.g. {"max_events": 100, "max_wait_ms": 5000}."""
        body = {
            "url": url,
            "tenant_id": tenant_id,
            "name": name,
            "description": description,
            "event_types": list(event_types),
            "filter": filter,
            "headers": headers or {},
            "rate_limit_per_minute": rate_limit_per_minute,
            "max_in_flight": max_in_flight,
            "is_active": is_active,
            "secret": secret,
            "ordering": ordering,
            "fifo_on_failure": fifo_on_failure,
            "batch": batch,
        }
        path = "/api/v1/webhooks"
        return await self._client.call("POST", path, WebhookWithSecret, json=body)

    async def list(
        self, *, tenant_id: str | None = None, limit: int | None = None, cursor: str | None = None
    ) -> Page[Webhook]:
        params = query(tenant_id=tenant_id, limit=limit, cursor=cursor)
        return await self._client.call("GET", "/api/v1/webhooks", Page[Webhook], params=params)

    async def get(self, webhook_id: str) -> Webhook:
        return await self._client.call("GET", f"/api/v1/webhooks/{webhook_id}", Webhook)

    async def update(
        self,
        webhook_id: str,
        *,
        url: str = UNSET,
        name: str = UNSET,
        description: str = UNSET,
        event_types: Sequence[str] = UNSET,
        filter: dict[str, Any] | None = UNSET,
        headers: dict[str, str] = UNSET,
        rate_limit_per_minute: int | None = UNSET,
        max_in_flight: int | None = UNSET,
        is_active: bool = UNSET,
        ordering: Literal["fifo"] | None = UNSET,
        fifo_on_failure: Literal["skip", "block"] = UNSET,
        batch: dict[str, int] | None = UNSET,
    ) -> Webhook:
        body = fields(
            url=url,
            name=name,
            description=description,
            event_types=event_types if event_types is UNSET else [*event_types],
            filter=filter,
            headers=headers,
            rate_limit_per_minute=rate_limit_per_minute,
            max_in_flight=max_in_flight,
            is_active=is_active,
            ordering=ordering,
            fifo_on_failure=fifo_on_failure,
            batch=batch,
        )
        path = f"/api/v1/webhooks/{webhook_id}"
        return await self._client.call("PATCH", path, Webhook, json=body)

    async def delete(self, webhook_id: str) -> None:
        await self._client.request("DELETE", f"/api/v1/webhooks/{webhook_id}")

    async def rotate_secret(
        self, webhook_id: str, *, grace_seconds: int = 86_400, secret: str | None = None
    ) -> WebhookWithSecret:
        body = {"grace_seconds": grace_seconds, "secret": secret}
        path = f"/api/v1/webhooks/{webhook_id}/rotate-secret"
        return await self._client.call("POST", path, WebhookWithSecret, json=body)

    async def public_keys(self, webhook_id: str) -> WebhookPublicKeys:
        """The `whpk_...` keys that verify an ed25519 (v1a) webhook's signatures."""
        path = f"/api/v1/webhooks/{webhook_id}/public-key"
        return await self._client.call("GET", path, WebhookPublicKeys)

    async def test(
        self,
        webhook_id: str,
        *,
        event_type: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> WebhookTestResult:
        body = {"event_type": event_type, "data": data}
        path = f"/api/v1/webhooks/{webhook_id}/test"
        return await self._client.call("POST", path, WebhookTestResult, json=body)

    async def preview(
        self, webhook_id: str, event_type: str, *, data: dict[str, Any] | None = None
    ) -> Preview:
        """The headers and exact body a delivery would carry (data: default, the type's first
        example), sending nothing."""
        body = {"event_type": event_type, "data": data}
        path = f"/api/v1/webhooks/{webhook_id}/preview"
        return await self._client.call("POST", path, Preview, json=body)

    async def deliveries(
        self,
        webhook_id: str,
        *,
        status: DeliveryStatus | str | None = None,
        event_type: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page[DeliveryWithAttempts]:
        params = query(
            status=status,
            event_type=event_type,
            since=since,
            until=until,
            limit=limit,
            cursor=cursor,
        )
        path = f"/api/v1/webhooks/{webhook_id}/deliveries"
        return await self._client.call("GET", path, Page[DeliveryWithAttempts], params=params)

    async def recover(
        self, webhook_id: str, *, since: datetime, until: datetime | None = None
    ) -> RecoveryResult:
        body = query(since=since, until=until)
        path = f"/api/v1/webhooks/{webhook_id}/recover"
        return await self._client.call("POST", path, RecoveryResult, json=body)

    async def stats(self, webhook_id: str) -> WebhookStats:
        path = f"/api/v1/webhooks/{webhook_id}/stats"
        return await self._client.call("GET", path, WebhookStats)


class Events:
    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def send(
        self,
        type: str,
        data: dict[str, Any],
        *,
        tenant_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> SentEvent:
        """Store an event and fan it out; returns once it is durable."""
        body = {"type": type, "data": data, "tenant_id": tenant_id}
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        path = "/api/v1/events"
        return await self._client.call("POST", path, SentEvent, json=body, headers=headers)

    async def list(
        self,
        *,
        type: str | None = None,
        tenant_id: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page[Event]:
        params = query(type=type, tenant_id=tenant_id, limit=limit, cursor=cursor)
        return await self._client.call("GET", "/api/v1/events", Page[Event], params=params)

    async def get(self, event_id: str) -> Event:
        return await self._client.call("GET", f"/api/v1/events/{event_id}", Event)

    async def deliveries(
        self, event_id: str, *, limit: int | None = None, cursor: str | None = None
    ) -> Page[Delivery]:
        params = query(limit=limit, cursor=cursor)
        path = f"/api/v1/events/{event_id}/deliveries"
        return await self._client.call("GET", path, Page[Delivery], params=params)


class Deliveries:
    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def get(self, delivery_id: str) -> Delivery:
        return await self._client.call("GET", f"/api/v1/deliveries/{delivery_id}", Delivery)

    async def attempts(
        self, delivery_id: str, *, limit: int | None = None, cursor: str | None = None
    ) -> Page[Attempt]:
        params = query(limit=limit, cursor=cursor)
        path = f"/api/v1/deliveries/{delivery_id}/attempts"
        return await self._client.call("GET", path, Page[Attempt], params=params)

    async def retry(self, delivery_id: str) -> Delivery:
        path = f"/api/v1/deliveries/{delivery_id}/retry"
        return await self._client.call("POST", path, Delivery)

    async def cancel(self, delivery_id: str, *, reason: str = "") -> Delivery:
        """Cancel a pending delivery, or the failed head holding a FIFO webhook's queue."""
        path = f"/api/v1/deliveries/{delivery_id}/cancel"
        return await self._client.call("POST", path, Delivery, json={"reason": reason})


__all__ = ["AsyncClient", "HooklineAPIError"]
