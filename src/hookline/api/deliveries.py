from __future__ import annotations

from fastapi import status

from hookline.api.deps import Caller, Node, PageQuery
from hookline.api.problems import problems
from hookline.api.routing import router as make_router
from hookline.models import Attempt, Delivery, DeliveryCancel, NumberedPage, Page

router = make_router("/deliveries", tags=["deliveries"])


@router.get("/{delivery_id}", summary="Get a delivery")
async def get_delivery(delivery_id: str, node: Node, caller: Caller) -> Delivery:
    return await node.service.deliveries.get(delivery_id, tenant=caller.tenant_id)


@router.get("/{delivery_id}/attempts", summary="A delivery's attempts, newest first")
async def list_attempts(
    delivery_id: str, node: Node, caller: Caller, paging: PageQuery
) -> Page[Attempt] | NumberedPage[Attempt]:
    return await node.service.deliveries.attempts(
        delivery_id, tenant=caller.tenant_id, paging=paging
    )


@router.post(
    "/{delivery_id}/retry",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Attempt now: a finished delivery gets one more attempt, a pending one stops waiting",
    responses=problems(409),
)
async def retry_delivery(delivery_id: str, node: Node, caller: Caller) -> Delivery:
    return await node.service.deliveries.retry(delivery_id, tenant=caller.tenant_id)


@router.post(
    "/{delivery_id}/cancel",
    summary="Cancel a pending delivery, or the failed head holding a FIFO webhook's queue",
    responses=problems(409),
)
async def cancel_delivery(
    delivery_id: str, node: Node, caller: Caller, spec: DeliveryCancel | None = None
) -> Delivery:
    return await node.service.deliveries.cancel(
        delivery_id, spec or DeliveryCancel(), tenant=caller.tenant_id
    )
