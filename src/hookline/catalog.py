"""The event type catalog, cached in memory: `send` checks every event against it without a
query. A miss reloads before refusing, so a type created by another process is found at once.

Each schema is compiled once per version of it, on its own: a stored schema hookline cannot use
(saved by an older version, or refused by a newer jsonschema) refuses the sends of its own type
with a message saying to fix it, is logged once, and leaves every other type working."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from jsonschema.protocols import Validator

from hookline import schemas
from hookline.clock import Clock, system_clock
from hookline.errors import InvalidInput
from hookline.models import EventType
from hookline.store import Database
from hookline.store import event_types as event_type_rows

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Unusable:
    """A stored schema that does not compile, and why."""

    reason: str


@dataclass(frozen=True)
class _Compiled:
    source: str  # the schema it was compiled from, to recompile only when it changes
    outcome: Validator | Unusable


def _source(schema: dict[str, Any]) -> str:
    # repr tells 1, 1.0 and true apart (== does not) and never fails, whatever was stored.
    return repr(schema)


def _compile(event_type: EventType, schema: dict[str, Any]) -> Validator | Unusable:
    try:
        return schemas.compile_schema(schema)
    except InvalidInput as exc:
        reason = exc.detail
    except Exception as exc:  # one stored row must not stop every other type's sends
        log.exception("compiling the schema of event type %r failed", event_type.name)
        reason = f"hookline could not compile it ({type(exc).__name__})"
    log.warning(
        "event type %r has a schema hookline cannot use, so its events are refused until the "
        "schema is fixed with PATCH /api/v1/event-types/%s: %s",
        event_type.name,
        event_type.name,
        reason,
    )
    return Unusable(reason)


class EventCatalog:
    def __init__(self, db: Database, *, max_age: float = 5.0, clock: Clock = system_clock) -> None:
        self._db = db
        self._max_age = max_age
        self._types: dict[str, EventType] = {}
        self._compiled: dict[str, _Compiled] = {}
        self._loaded_at = float("-inf")
        self._clock = clock
        self._lock = asyncio.Lock()

    async def _reload(self) -> None:
        async with self._lock:
            async with self._db.read() as conn:
                types = await event_type_rows.all_types(conn)
            compiled: dict[str, _Compiled] = {}
            for event_type in types:
                if event_type.json_schema is None:
                    continue
                source = _source(event_type.json_schema)
                known = self._compiled.get(event_type.name)
                if known is None or known.source != source:
                    known = _Compiled(source, _compile(event_type, event_type.json_schema))
                compiled[event_type.name] = known
            self._types = {t.name: t for t in types}
            self._compiled = compiled
            self._loaded_at = self._clock()

    def invalidate(self) -> None:
        self._loaded_at = float("-inf")

    async def get(self, name: str) -> EventType | None:
        if self._clock() - self._loaded_at > self._max_age or name not in self._types:
            await self._reload()
        return self._types.get(name)

    async def check(self, name: str, data: object) -> EventType:
        """The live event type `name`, after checking `data` against its schema."""
        event_type = await self.require(name)
        compiled = self._compiled.get(name)
        if compiled is None:
            return event_type
        if isinstance(compiled.outcome, Unusable):
            raise InvalidInput(
                f"event type {name!r} has a schema hookline cannot use, so its events are "
                f"refused until the schema is fixed with PATCH /api/v1/event-types/{name}: "
                f"{compiled.outcome.reason}"
            )
        schemas.check(compiled.outcome, data, name)
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
