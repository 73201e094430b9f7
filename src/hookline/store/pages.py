"""Paging: by cursor (after the last key of the page before, by time-sortable id newest first,
or by name ascending), or by page number with the total count.

A cursor is opaque: the versioned base64url of the list it belongs to and the key it continues
after. One this store did not hand out (garbage, another list's, a hand-made key) is refused
rather than silently read as "the first page"."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from hookline import jsonvalue
from hookline.errors import BadRequest
from hookline.models import MAX_PAGE_SIZE, CursorPaging, NumberedPage, Page, Paging
from hookline.store.schema import AnyRow

T = TypeVar("T")

MAX_LIMIT = MAX_PAGE_SIZE
CURSOR_VERSION = "1"
MAX_CURSOR_LENGTH = 512


def encode_cursor(scope: str, key: str) -> str:
    raw = f"{CURSOR_VERSION}:{scope}:{key}".encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str, scope: str) -> str:
    """The key `cursor` continues after, if it is one of `scope`'s; else BadRequest."""
    refused = BadRequest(
        "cursor is not one this list handed out; pass the `next_cursor` of the previous page "
        "unchanged, or leave cursor out for the first page",
        loc=("query", "cursor"),
    )
    if len(cursor) > MAX_CURSOR_LENGTH or not cursor.isascii():
        raise refused
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise refused from None
    version, _, rest = raw.partition(":")
    found_scope, _, key = rest.partition(":")
    if (
        version != CURSOR_VERSION
        or found_scope != scope
        or not key
        or jsonvalue.text_problem(key)
        or encode_cursor(scope, key) != cursor  # one spelling only
    ):
        raise refused
    return key


async def fetch_page(
    conn: AsyncConnection,
    query: Select[Any],
    id_column: ColumnElement[str],
    *,
    paging: Paging,
    convert: Callable[[AnyRow], T],
    newest_first: bool = True,
) -> Page[T] | NumberedPage[T]:
    order = id_column.desc() if newest_first else id_column.asc()
    if not isinstance(paging, CursorPaging):
        total = (
            await conn.execute(select(func.count()).select_from(query.order_by(None).subquery()))
        ).scalar_one()
        numbered = query.order_by(order).offset(paging.offset).limit(paging.page_size)
        rows: Sequence[AnyRow] = (await conn.execute(numbered)).all()
        return NumberedPage[T](
            data=[convert(row) for row in rows],
            total=total,
            page=paging.page,
            page_size=paging.page_size,
        )
    scope = str(getattr(id_column, "table", "")) + "." + str(getattr(id_column, "key", ""))
    if paging.cursor is not None:
        after = decode_cursor(paging.cursor, scope)
        query = query.where(id_column < after if newest_first else id_column > after)
    rows = (await conn.execute(query.order_by(order).limit(paging.limit + 1))).all()
    more = len(rows) > paging.limit
    rows = rows[: paging.limit]
    items = [convert(row) for row in rows]
    next_cursor = encode_cursor(scope, str(rows[-1]._mapping[id_column])) if more else None
    return Page[T](data=items, next_cursor=next_cursor)
