"""Tenants (an admin's only): keys, limits, and portal links."""

from __future__ import annotations

from fastapi import Request
from starlette.responses import Response

from hookline.errors import InvalidInput, NotFound
from hookline.models import (
    MAX_PAGE_SIZE,
    NumberedPaging,
    PortalLinkCreate,
)
from hookline.ui.access import check_form, current, node_of
from hookline.ui.pages.routing import (
    form_value,
    new_router,
)
from hookline.ui.render import page

router = new_router()


@router.get("/tenants")
async def tenants(request: Request) -> Response:
    """Every tenant with its limit and keys, and a portal link for each (admin only)."""
    node = node_of(request)
    session = await current(request)
    if not session.is_admin or session.portal:
        raise NotFound("this page does not exist for a tenant")
    found = await node.service.tenants.list(paging=NumberedPaging(page_size=MAX_PAGE_SIZE))
    keys = {
        t.id: (
            await node.service.keys.list(
                tenant_id=t.id, paging=NumberedPaging(page_size=MAX_PAGE_SIZE)
            )
        ).data
        for t in found.data
    }
    return page("tenants.html", node.settings, session, tenants=found.data, keys=keys, link=None)


@router.post("/tenants/{tenant_id}/portal")
async def tenant_portal_link(tenant_id: str, request: Request) -> Response:
    """A portal link for a tenant, made from the tenants page (admin only)."""
    node = node_of(request)
    session = await current(request)
    form = await request.form()
    check_form(session, form_value(form, "csrf"))
    if not session.is_admin or session.portal:
        raise NotFound("this page does not exist for a tenant")
    tenant = await node.service.tenants.get(tenant_id)
    spec = PortalLinkCreate(
        expires_in=_whole(form_value(form, "expires_in") or "3600", "expires_in"),
        read_only=form_value(form, "read_only") == "on",
    )
    made = node.service.portal.link(tenant.id, spec, origin=str(request.base_url))
    return page("portal_link.html", node.settings, session, tenant=tenant, link=made, spec=spec)


def _whole(text: str, field: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise InvalidInput(f"{field} must be a whole number of seconds", loc=(field,)) from None
