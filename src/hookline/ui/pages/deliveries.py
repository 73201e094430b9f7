"""A delivery and its attempts, and retrying it."""

from __future__ import annotations

from fastapi import Request
from starlette.responses import Response

from hookline.models import (
    NumberedPaging,
)
from hookline.ui.access import check_form, current, node_of
from hookline.ui.pages.routing import (
    form_value,
    new_router,
)
from hookline.ui.render import page, redirect

router = new_router()


@router.get("/deliveries/{delivery_id}")
async def delivery_detail(delivery_id: str, request: Request) -> Response:
    node = node_of(request)
    session = await current(request)
    delivery = await node.service.deliveries.get(delivery_id, tenant=session.tenant_id)
    attempts = await node.service.deliveries.attempts(
        delivery_id, tenant=session.tenant_id, paging=NumberedPaging(page_size=100)
    )
    return page("delivery.html", node.settings, session, delivery=delivery, attempts=attempts.data)


@router.post("/deliveries/{delivery_id}/retry")
async def retry_delivery(delivery_id: str, request: Request) -> Response:
    node = node_of(request)
    session = await current(request)
    check_form(session, form_value(await request.form(), "csrf"))
    delivery = await node.service.deliveries.retry(delivery_id, tenant=session.tenant_id)
    return redirect(f"/ui/deliveries/{delivery.id}", node.settings, session)
