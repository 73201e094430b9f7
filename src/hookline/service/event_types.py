from __future__ import annotations

from hookline import schemas
from hookline.catalog import EventCatalog
from hookline.clock import Clock, system_clock
from hookline.errors import InvalidInput
from hookline.models import (
    FIRST_PAGE,
    EventType,
    EventTypeCreate,
    EventTypeUpdate,
    NumberedPage,
    Page,
    Paging,
)
from hookline.service.common import conflict_on_duplicate, found
from hookline.store import Database
from hookline.store import event_types as event_type_rows


class EventTypes:
    def __init__(self, db: Database, catalog: EventCatalog, clock: Clock = system_clock) -> None:
        self._db = db
        self._clock = clock
        self._catalog = catalog

    async def create(self, spec: EventTypeCreate) -> EventType:
        if spec.json_schema is not None:
            schemas.compile_schema(spec.json_schema)
        at = self._clock()
        taken = f"event type {spec.name!r} already exists"
        async with conflict_on_duplicate(taken), self._db.write() as conn:
            created = await event_type_rows.insert_one(
                conn,
                {
                    "name": spec.name,
                    "description": spec.description,
                    "schema": spec.json_schema,
                    "group": spec.group,
                    "examples": spec.examples,
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
        paging: Paging = FIRST_PAGE,
        include_archived: bool = False,
    ) -> Page[EventType] | NumberedPage[EventType]:
        async with self._db.read() as conn:
            return await event_type_rows.page(
                conn, paging=paging, include_archived=include_archived
            )

    async def update(self, name: str, spec: EventTypeUpdate) -> EventType:
        values = spec.model_dump(exclude_unset=True)
        for field in ("description", "archived"):
            if field in values and values[field] is None:
                raise InvalidInput(f"{field} cannot be null; omit it to keep it", loc=(field,))
        if "json_schema" in values:
            schema = values.pop("json_schema")
            if schema is not None:
                schemas.compile_schema(schema)
            values["schema"] = schema
        return await self._change(name, values)

    async def archive(self, name: str) -> EventType:
        """Archived types accept no new events and leave the catalog list; webhooks subscribed
        to them keep their subscription (unarchive with `archived: false`)."""
        return await self._change(name, {"archived": True})

    async def _change(self, name: str, values: dict[str, object]) -> EventType:
        values["updated_at"] = self._clock()
        async with self._db.write() as conn:
            updated = await event_type_rows.update_one(conn, name, values)
        self._catalog.invalidate()
        return found(updated, "event type", name)
