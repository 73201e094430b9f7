"""Request dependencies: the node, the caller, paging parameters."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request

from hookline.api.limits import KeyRateLimiter
from hookline.auth import Principal
from hookline.errors import Forbidden, NotFound
from hookline.node import Hookline


async def get_node(request: Request) -> Hookline:
    node: Hookline = request.app.state.node
    return node


Node = Annotated[Hookline, Depends(get_node)]


async def get_principal(request: Request, node: Node) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    presented = token.strip() if scheme.lower() == "bearer" else None
    caller = await node.authenticator.authenticate(presented)
    limiter: KeyRateLimiter = request.app.state.rate_limiter
    limiter.check(caller)
    return caller


Caller = Annotated[Principal, Depends(get_principal)]


async def require_admin(caller: Caller) -> Principal:
    if not caller.is_admin:
        raise Forbidden("this operation needs an admin key; a tenant key cannot do it")
    return caller


Admin = Annotated[Principal, Depends(require_admin)]

Limit = Annotated[
    int | None, Query(ge=1, le=250, description="Page size (default 50, at most 250).")
]
Cursor = Annotated[
    str | None, Query(description="`next_cursor` from the previous page.", max_length=256)
]


async def tenant_scope(node: Hookline, caller: Principal, ref: str | None) -> str | None:
    """The tenant a request is about: the one `ref` names (id or uid) or, without `ref`, the
    caller's own (None for an admin: every tenant). A tenant key never sees another tenant:
    for it, any other tenant does not exist."""
    if ref is None:
        return caller.tenant_id
    tenant_id = await node.service.tenants.resolve(ref)
    if caller.tenant_id not in (None, tenant_id):
        raise NotFound(f"tenant {ref!r} does not exist")
    return tenant_id
