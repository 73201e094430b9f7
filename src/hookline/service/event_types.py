from __future__ import annotations

from typing import Any

from hookline import schemas
from hookline.catalog import EventCatalog
from hookline.clock import Clock, system_clock
from hookline.errors import InvalidInput
from hookline.models import (
    FIRST_PAGE,
    EventType,
    EventTypeCreate,
    EventTypeUpdate,
    ManagedBy,
    NumberedPage,
    Page,
    Paging,
)
from hookline.service.common import conflict_on_duplicate, found, refuse_managed
from hookline.store import Database
from hookline.store import event_types as event_type_rows


class EventTypes:
    def __init__(self, db: Database, catalog: EventCatalog, clock: Clock = system_clock) -> None:
        self._db = db
        self._clock = clock
        self._catalog = catalog

    async def create(self, spec: EventTypeCreate, *, managed: ManagedBy | None = None) -> EventType:
        """`managed`: declared in hookline's configuration (hookline.reconcile only)."""
        check_examples(spec.name, spec.json_schema, spec.examples)
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
                    "managed_by": managed,
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

    async def all(self) -> list[EventType]:
        """Every event type, archived ones too, by name."""
        async with self._db.read() as conn:
            return await event_type_rows.all_types(conn)

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

    async def update(
        self, name: str, spec: EventTypeUpdate, *, managed: ManagedBy | None = None
    ) -> EventType:
        """`managed`: hookline.reconcile changing a declared type, which it marks as declared
        in `managed` (the API may not change a declared type)."""
        current = await self.get(name)
        if managed is None:
            refuse_managed("event type", name, current.managed_by)
        values = spec.model_dump(exclude_unset=True)
        for field in ("description", "archived"):
            if field in values and values[field] is None:
                raise InvalidInput(f"{field} cannot be null; omit it to keep it", loc=(field,))
        if "examples" in values and values["examples"] is None:
            values["examples"] = []
        if "json_schema" in values:
            values["schema"] = values.pop("json_schema")
        if managed is not None:
            values["managed_by"] = managed
        if values.keys() & {"schema", "examples"}:
            check_examples(
                name,
                values.get("schema", current.json_schema),
                values.get("examples", current.examples),
            )
        return await self._change(name, values)

    async def archive(self, name: str, *, release: bool = False) -> EventType:
        """Archived types accept no new events and leave the catalog list; webhooks subscribed
        to them keep their subscription (unarchive with `archived: false`). `release`: a type
        no longer declared in the configuration file is archived and left to the API."""
        if release:
            return await self._change(name, {"archived": True, "managed_by": None})
        refuse_managed("event type", name, (await self.get(name)).managed_by)
        return await self._change(name, {"archived": True})

    async def _change(self, name: str, values: dict[str, object]) -> EventType:
        values["updated_at"] = self._clock()
        async with self._db.write() as conn:
            updated = await event_type_rows.update_one(conn, name, values)
        self._catalog.invalidate()
        return found(updated, "event type", name)


def check_examples(
    name: str, schema: dict[str, Any] | None, examples: list[dict[str, Any]]
) -> None:
    """A schema that compiles, and examples that it accepts: a test send or preview of the type
    uses its first example, so a schema-checked type cannot keep one it would refuse."""
    if schema is None:
        return
    validator = schemas.compile_schema(schema)
    for index, example in enumerate(examples):
        try:
            schemas.check(validator, example, name)
        except InvalidInput as exc:
            raise InvalidInput(
                f"examples[{index}]: {exc.detail}; change the example or the schema",
                loc=("examples", index),
            ) from None
