"""Paging: by cursor (after the last key of the page before, by time-sortable id newest first,
or by name ascending), or by page number with the total count.

A cursor is opaque: the base64url of a checksum, a version, the list it belongs to and the key
it continues after. One this store did not hand out (garbage, cut short, edited, another list's
or another version's) is refused rather than silently read as "the first page". A cursor is a
position, not a secret: only its spelling is checked, not who made it."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from hookline.errors import BadRequest
from hookline.models import MAX_PAGE_SIZE, CursorPaging, NumberedPage, Page, Paging
from hookline.store.schema import AnyRow

T = TypeVar("T")

MAX_LIMIT = MAX_PAGE_SIZE
CURSOR_VERSION = "1"
CHECK_BYTES = 6  # a checksum, so a cursor cut short or edited by hand is refused
MAX_CURSOR_LENGTH = 512
KEY = re.compile(r"[A-Za-z0-9_.\-]{1,256}")  # what lists are keyed by: ids, event type names


def _check(raw: bytes) -> bytes:
    return hashlib.blake2b(raw, digest_size=CHECK_BYTES).digest()


def encode_cursor(scope: str, key: str) -> str:
    raw = f"{CURSOR_VERSION}:{scope}:{key}".encode()
    return base64.urlsafe_b64encode(_check(raw) + raw).decode("ascii").rstrip("=")


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
        packed = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (binascii.Error, ValueError):
        raise refused from None
    check, raw = packed[:CHECK_BYTES], packed[CHECK_BYTES:]
    if not hmac.compare_digest(check, _check(raw)):
        raise refused
    version, _, rest = raw.decode("utf-8", "replace").partition(":")
    found_scope, _, key = rest.partition(":")
    if (
        version != CURSOR_VERSION
        or found_scope != scope
        or not KEY.fullmatch(key)
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
