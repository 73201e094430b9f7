"""The event type catalog, cached in memory: `send` checks every event against it without a
query. A miss reloads before refusing, so a type created by another process is found at once."""

from __future__ import annotations

import asyncio
import time

from jsonschema.protocols import Validator

from hookline import schemas
from hookline.errors import InvalidInput
from hookline.models import EventType
from hookline.store import Database
from hookline.store import event_types as event_type_rows


class EventCatalog:
    def __init__(self, db: Database, *, max_age: float = 5.0) -> None:
        self._db = db
        self._max_age = max_age
        self._types: dict[str, EventType] = {}
        self._validators: dict[str, Validator] = {}
        self._loaded_at = float("-inf")
        self._lock = asyncio.Lock()

    async def _reload(self) -> None:
        async with self._lock:
            async with self._db.read() as conn:
                types = await event_type_rows.all_types(conn)
            self._types = {t.name: t for t in types}
            self._validators = {
                t.name: schemas.compile_schema(t.json_schema)
                for t in types
                if t.json_schema is not None
            }
            self._loaded_at = time.monotonic()

    def invalidate(self) -> None:
        self._loaded_at = float("-inf")

    async def get(self, name: str) -> EventType | None:
        if time.monotonic() - self._loaded_at > self._max_age or name not in self._types:
            await self._reload()
        return self._types.get(name)

    async def check(self, name: str, data: object) -> EventType:
        """The live event type `name`, after checking `data` against its schema."""
        event_type = await self.require(name)
        validator = self._validators.get(name)
        if validator is not None:
            schemas.check(validator, data, name)
        return event_type

    async def require(self, name: str) -> EventType:
        """The live event type called `name`, or an error that lists the ones that exist."""
        found = await self.get(name)
        if found is not None and not found.archived:
            return found
        known = sorted(n for n, t in self._types.items() if not t.archived)
        listing = (
            ", ".join(known) if known else "none yet: create one with POST /api/v1/event-types"
        )
        state = "is archived" if found is not None else "is not a known event type"
        raise InvalidInput(f"{name!r} {state}; known event types: {listing}", known=known)
