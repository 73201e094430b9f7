"""The dashboard's pages (`/ui/...`): thin handlers over the service layer, rendered on the
server, one module for each part. A tenant's session sees only its tenant (another tenant's
webhook is a 404, as in the API); a read-only portal session changes nothing."""

from __future__ import annotations

from typing import Any

from starlette.staticfiles import StaticFiles

from hookline.ui.pages import (
    deliveries,
    events,
    overview,
    signin,
    tenants,
    webhook_editor,
    webhooks,
)
from hookline.ui.render import STATIC

# In this order: a fixed path (/webhooks/new) before the pattern that would take it
# (/webhooks/{webhook_id}).
ROUTERS = (signin, overview, webhook_editor, webhooks, deliveries, events, tenants)


def install(app: Any) -> None:
    """Mount the dashboard on `app`: its pages and its static files."""
    for part in ROUTERS:
        app.include_router(part.router)
    app.mount("/ui/static", StaticFiles(directory=STATIC), name="ui-static")
