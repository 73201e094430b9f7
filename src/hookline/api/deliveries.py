from __future__ import annotations

from fastapi import APIRouter, status

from hookline.api.deps import Caller, Cursor, Limit, Node
from hookline.models import Attempt, Delivery, Page

router = APIRouter(prefix="/deliveries", tags=["deliveries"])


@router.get("/{delivery_id}", summary="Get a delivery")
async def get_delivery(delivery_id: str, node: Node, caller: Caller) -> Delivery:
    return await node.service.deliveries.get(delivery_id, tenant=caller.tenant_id)


@router.get("/{delivery_id}/attempts", summary="A delivery's attempts, newest first")
async def list_attempts(
    delivery_id: str, node: Node, caller: Caller, limit: Limit = None, cursor: Cursor = None
) -> Page[Attempt]:
    return await node.service.deliveries.attempts(
        delivery_id, tenant=caller.tenant_id, limit=limit, cursor=cursor
    )


@router.post(
    "/{delivery_id}/retry",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Attempt now: a finished delivery gets one more attempt, a pending one stops waiting",
)
async def retry_delivery(delivery_id: str, node: Node, caller: Caller) -> Delivery:
    return await node.service.deliveries.retry(delivery_id, tenant=caller.tenant_id)
