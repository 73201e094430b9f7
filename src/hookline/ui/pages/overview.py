"""The overview: deliveries charted over the last hour and day, latency, the queue, and the
webhooks in trouble."""

from __future__ import annotations

from fastapi import Request
from starlette.responses import Response

from hookline.service.stats import DAY
from hookline.ui.access import current, node_of
from hookline.ui.pages.routing import (
    chart,
    new_router,
)
from hookline.ui.render import page

router = new_router()


TROUBLE_SHOWN = 50  # failing and disabled webhooks the overview lists, the worst first


@router.get("/")
async def overview(request: Request) -> Response:
    node = node_of(request)
    session = await current(request)
    stats = node.service.stats
    tenant = session.tenant_id
    hour = await stats.timeline(window=3600, buckets=60, tenant=tenant)
    day = await stats.timeline(window=DAY, buckets=96, tenant=tenant)
    totals = await stats.totals("24h", tenant=tenant)
    troubled = await node.service.status.troubled(tenant=tenant, limit=TROUBLE_SHOWN)
    return page(
        "overview.html",
        node.settings,
        session,
        hour_chart=chart(hour, "Last hour", "minute"),
        day_chart=chart(day, "Last 24 hours", "15 minutes"),
        hour=hour,
        day=day,
        totals=totals,
        queue=await node.service.status.queue() if tenant is None else None,
        failing=troubled.failing,
        disabled=troubled.disabled,
        open_circuits=[w for w in troubled.failing if w.circuit_state != "closed"],
        shown=TROUBLE_SHOWN,
    )
