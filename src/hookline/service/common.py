"""Small helpers every service module shares."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from hookline.errors import Conflict, NotFound
from hookline.models import CursorPaging, NumberedPage, Page
from hookline.store import tenants as tenant_rows

T = TypeVar("T")


def found(value: T | None, what: str, key: str) -> T:
    if value is None:
        raise NotFound(f"{what} {key!r} does not exist")
    return value


async def resolve_tenant(conn: AsyncConnection, ref: str) -> str:
    """The id of the tenant whose id or uid is `ref`, or NotFound."""
    resolved = await tenant_rows.resolve(conn, {ref})
    return found(resolved.get(ref), "tenant", ref)


@asynccontextmanager
async def conflict_on_duplicate(message: str) -> AsyncIterator[None]:
    """Turn a unique-constraint violation into a 409 that says what is taken."""
    try:
        yield
    except IntegrityError as exc:
        raise Conflict(message) from exc


WHERE_MANAGED = {
    "env": "in hookline's environment (WEBHOOKS_*, WEBHOOK_URL, WEBHOOK_SECRET...)",
    "file": "in the configuration file HOOKLINE_CONFIG",
}


def refuse_managed(what: str, name: str, managed_by: str | None) -> None:
    """A declared resource is changed where it is declared, never through the API (409)."""
    if managed_by is not None:
        raise Conflict(
            f"{what} {name!r} is managed {WHERE_MANAGED.get(managed_by, managed_by)}: change it "
            "there and restart hookline (see docs/configuration.md)",
            managed_by=managed_by,
        )


async def every(
    fetch: Callable[[CursorPaging], Awaitable[Page[T] | NumberedPage[T]]],
) -> AsyncIterator[T]:
    """Every item of a cursor-paginated service list (`fetch` one page of it)."""
    cursor: str | None = None
    while True:
        page = await fetch(CursorPaging(cursor=cursor, limit=100))
        for item in page.data:
            yield item
        cursor = page.next_cursor if isinstance(page, Page) else None
        if cursor is None:
            return
