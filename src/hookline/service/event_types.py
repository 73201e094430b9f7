from __future__ import annotations

from hookline.catalog import EventCatalog
from hookline.models import EventType, EventTypeCreate, Page
from hookline.service.common import clamp_limit, conflict_on_duplicate, found, now
from hookline.store import Database
from hookline.store import event_types as event_type_rows


class EventTypes:
    def __init__(self, db: Database, catalog: EventCatalog) -> None:
        self._db = db
        self._catalog = catalog

    async def create(self, spec: EventTypeCreate) -> EventType:
        at = now()
        taken = f"event type {spec.name!r} already exists"
        async with conflict_on_duplicate(taken), self._db.write() as conn:
            created = await event_type_rows.insert_one(
                conn,
                {
                    "name": spec.name,
                    "description": spec.description,
                    "schema": spec.json_schema,
                    "archived": False,
                    "created_at": at,
                    "updated_at": at,
                },
            )
        self._catalog.invalidate()
        return created

    async def get(self, name: str) -> EventType:
        async with self._db.read() as conn:
            return found(await event_type_rows.get(conn, name), "event type", name)

    async def list(
        self,
        *,
        limit: int | None = None,
        cursor: str | None = None,
        include_archived: bool = False,
    ) -> Page[EventType]:
        async with self._db.read() as conn:
            return await event_type_rows.page(
                conn, limit=clamp_limit(limit), cursor=cursor, include_archived=include_archived
            )
