"""Small helpers every service module shares."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from hookline.errors import Conflict, NotFound
from hookline.store import tenants as tenant_rows
from hookline.store.pages import MAX_LIMIT

T = TypeVar("T")

DEFAULT_LIMIT = 50


def found(value: T | None, what: str, key: str) -> T:
    if value is None:
        raise NotFound(f"{what} {key!r} does not exist")
    return value


def clamp_limit(limit: int | None) -> int:
    if limit is None:
        return DEFAULT_LIMIT
    return max(1, min(limit, MAX_LIMIT))


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
