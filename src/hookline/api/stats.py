"""Delivery statistics (seed 000): attempts per webhook over a recent window."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from hookline.api.deps import Caller, Node, tenant_scope
from hookline.api.problems import problems
from hookline.api.routing import router as make_router
from hookline.models import DeliveryStatistics

router = make_router("/stats", tags=["stats"])


@router.get(
    "",
    summary="Attempts per webhook since an instant: counts, success rate, latency percentiles",
    responses=problems(404, 422),
)
async def delivery_stats(
    node: Node,
    caller: Caller,
    since: Annotated[
        str,
        Query(
            description="A duration back from now (`90m`, `24h`, `7d`) or an ISO 8601 instant.",
        ),
    ] = "24h",
    tenant_id: Annotated[str | None, Query(description="Only this tenant's (admin).")] = None,
) -> DeliveryStatistics:
    tenant = await tenant_scope(node, caller, tenant_id)
    return await node.service.stats.since(since, tenant=tenant)
