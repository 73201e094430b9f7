from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI

from hookline import __version__
from hookline.api import (
    deliveries,
    event_types,
    events,
    health,
    metrics,
    problems,
    stats,
    tenants,
    webhooks,
)
from hookline.api.limits import BodyLimit, KeyRateLimiter
from hookline.node import Hookline
from hookline.ui import pages

DESCRIPTION = """
Self-hosted webhook delivery. Send events; hookline stores them durably, fans each one out to
the webhooks that subscribed, signs every request (Standard Webhooks), retries failures and
records every attempt.

Authenticate with `Authorization: Bearer <key>`: an admin key sees everything, a tenant key only
its own tenant. Errors are `application/problem+json`. Lists are cursor-paginated.
"""


def create_app(
    node: Hookline,
    *,
    manage_node: bool = True,
    on_started: Callable[[Hookline], Awaitable[None]] | None = None,
) -> FastAPI:
    """The ASGI app. With `manage_node`, the app's lifespan starts the node (then runs
    `on_started`) and stops it after the server has stopped taking requests."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if manage_node:
            await node.start()
        try:
            if on_started is not None:
                await on_started(node)
            yield
        finally:
            if manage_node:
                await node.stop()

    app = FastAPI(
        title="hookline",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.node = node
    app.state.rate_limiter = KeyRateLimiter(
        tenant_rate=node.settings.api_rate_limit,
        admin_rate=node.settings.admin_api_rate_limit,
        clock=node.clock,
    )
    app.add_middleware(BodyLimit, limit=node.settings.max_request_bytes)
    problems.install(app)
    app.include_router(health.router)
    app.include_router(metrics.router)
    for module in (tenants, event_types, webhooks, events, deliveries, stats):
        app.include_router(module.router, prefix="/api/v1")
    pages.install(app)  # the dashboard and portal, at /ui/
    return app
