"""Request dependencies: the node, the caller, paging parameters."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request

from hookline.api.limits import KeyRateLimiter
from hookline.auth import Principal
from hookline.errors import BadRequest, Forbidden, NotFound, Unauthorized
from hookline.models import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE,
    MAX_PAGE_SIZE,
    CursorPaging,
    NumberedPaging,
    Paging,
)
from hookline.node import Hookline


async def get_node(request: Request) -> Hookline:
    node: Hookline = request.app.state.node
    return node


Node = Annotated[Hookline, Depends(get_node)]


async def get_principal(request: Request, node: Node) -> Principal:
    presented = bearer_token(request.headers.get("authorization"))
    caller = await node.authenticator.authenticate(presented)
    limiter: KeyRateLimiter = request.app.state.rate_limiter
    limiter.check(caller)
    return caller


Caller = Annotated[Principal, Depends(get_principal)]


def bearer_token(header: str | None) -> str | None:
    """The key in `Authorization: Bearer <key>` (None without the header); any other scheme
    (Basic, Token, a bare key) is refused with what to send instead."""
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() == "bearer":
        return token.strip() or None
    named = f" (it uses {scheme!r})" if scheme.isalpha() and len(scheme) <= 20 else ""
    raise Unauthorized(
        f"the Authorization header must use the Bearer scheme{named}: send the key as "
        "'Authorization: Bearer <key>'"
    )


async def require_admin(caller: Caller) -> Principal:
    if not caller.is_admin:
        raise Forbidden("this operation needs an admin key; a tenant key cannot do it")
    return caller


Admin = Annotated[Principal, Depends(require_admin)]


async def get_paging(
    limit: Annotated[
        int | None,
        Query(
            ge=1,
            le=MAX_PAGE_SIZE,
            description=f"Items per page with `cursor` (default {DEFAULT_PAGE_SIZE}, "
            f"at most {MAX_PAGE_SIZE}).",
        ),
    ] = None,
    cursor: Annotated[
        str | None,
        Query(description="The `next_cursor` of the previous page, unchanged."),
    ] = None,
    page: Annotated[
        int | None,
        Query(
            ge=1,
            le=MAX_PAGE,
            description="Page by number instead (from 1): the answer has `total`, `page`, "
            "`page_size`. Not with `cursor` or `limit`.",
        ),
    ] = None,
    page_size: Annotated[
        int | None,
        Query(
            ge=1,
            le=MAX_PAGE_SIZE,
            description=f"Items per page with `page` (default {DEFAULT_PAGE_SIZE}, "
            f"at most {MAX_PAGE_SIZE}).",
        ),
    ] = None,
) -> Paging:
    """Which page a list request asks for: by cursor (`cursor`, `limit`) or by number
    (`page`, `page_size`), never both."""
    if page is None and page_size is None:
        return CursorPaging(cursor=cursor, limit=limit or DEFAULT_PAGE_SIZE)
    mixed = [name for name, value in (("cursor", cursor), ("limit", limit)) if value is not None]
    if mixed:
        raise BadRequest(
            f"{' and '.join(mixed)} cannot be combined with page or page_size: page through a "
            "list either by cursor (cursor, limit) or by number (page, page_size)",
            loc=("query", mixed[0]),
        )
    return NumberedPaging(page=page or 1, page_size=page_size or DEFAULT_PAGE_SIZE)


PageQuery = Annotated[Paging, Depends(get_paging)]


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
