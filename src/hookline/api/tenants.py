from __future__ import annotations

from fastapi import Request, Response, status

from hookline.api.deps import Admin, Caller, Node, PageQuery, tenant_scope
from hookline.api.problems import problems
from hookline.api.routing import router as make_router
from hookline.auth import Principal
from hookline.models import (
    ApiKey,
    ApiKeyCreate,
    CreatedApiKey,
    NumberedPage,
    Page,
    PortalLink,
    PortalLinkCreate,
    Tenant,
    TenantCreate,
    TenantUpdate,
)
from hookline.node import Hookline

router = make_router("/tenants", tags=["tenants"])


async def _scope(node: Hookline, caller: Principal, ref: str) -> str:
    tenant_id = await tenant_scope(node, caller, ref)
    assert tenant_id is not None
    return tenant_id


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create a tenant (admin)",
    responses=problems(409),
)
async def create_tenant(spec: TenantCreate, node: Node, _: Admin) -> Tenant:
    return await node.service.tenants.create(spec)


@router.get("", summary="List tenants, newest first (admin)")
async def list_tenants(
    node: Node, _: Admin, paging: PageQuery
) -> Page[Tenant] | NumberedPage[Tenant]:
    return await node.service.tenants.list(paging=paging)


@router.get("/{tenant_id}", summary="Get a tenant by id or uid")
async def get_tenant(tenant_id: str, node: Node, caller: Caller) -> Tenant:
    return await node.service.tenants.get(await _scope(node, caller, tenant_id))


@router.patch("/{tenant_id}", summary="Change a tenant (admin)", responses=problems(409))
async def update_tenant(tenant_id: str, spec: TenantUpdate, node: Node, _: Admin) -> Tenant:
    return await node.service.tenants.update(tenant_id, spec)


@router.delete(
    "/{tenant_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a tenant with all its keys, webhooks, events and deliveries (admin)",
)
async def delete_tenant(tenant_id: str, node: Node, _: Admin) -> Response:
    await node.service.tenants.delete(tenant_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{tenant_id}/keys",
    status_code=status.HTTP_201_CREATED,
    summary="Create an API key for a tenant (admin); the key is shown only in this response",
)
async def create_tenant_key(
    tenant_id: str, node: Node, _: Admin, spec: ApiKeyCreate | None = None
) -> CreatedApiKey:
    return await node.service.keys.create(spec or ApiKeyCreate(), tenant=tenant_id)


@router.get("/{tenant_id}/keys", summary="List a tenant's API keys (never the keys themselves)")
async def list_tenant_keys(
    tenant_id: str, node: Node, caller: Caller, paging: PageQuery
) -> Page[ApiKey] | NumberedPage[ApiKey]:
    owner = await _scope(node, caller, tenant_id)
    return await node.service.keys.list(tenant_id=owner, paging=paging)


@router.delete(
    "/{tenant_id}/keys/{key_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Revoke a tenant's API key",
)
async def revoke_tenant_key(tenant_id: str, key_id: str, node: Node, caller: Caller) -> Response:
    owner = await _scope(node, caller, tenant_id)
    await node.service.keys.revoke(key_id, tenant_id=owner)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{tenant_id}/portal",
    summary="A link that signs a tenant's user into the portal (the dashboard, this tenant only)",
    response_description="The link (on HOOKLINE_PUBLIC_URL, or this request's origin) and "
    "when it stops working. Whoever holds it is signed in: hand it over as a secret.",
    responses=problems(404),
)
async def portal_link(
    tenant_id: str, spec: PortalLinkCreate, node: Node, caller: Caller, request: Request
) -> PortalLink:
    tenant = await _scope(node, caller, tenant_id)
    return node.service.portal.link(tenant, spec, origin=str(request.base_url))
