"""The service layer: every rule about tenants, keys, event types, webhooks, events and
deliveries. The HTTP API, the CLI and the embedded library are thin faces over it.

Methods that read or change one tenant's resources take `tenant`: None for an admin (everything
is visible), or the calling tenant's id, in which case another tenant's resources do not exist.
"""

from __future__ import annotations

from collections.abc import Callable

from hookline.catalog import EventCatalog
from hookline.clock import Clock, system_clock
from hookline.ingest import Ingestor
from hookline.service.deliveries import Deliveries
from hookline.service.event_types import EventTypes
from hookline.service.events import Events
from hookline.service.keys import Keys
from hookline.service.operator import Operator
from hookline.service.portal import Portal
from hookline.service.stats import Stats
from hookline.service.status import Status
from hookline.service.tenants import Tenants
from hookline.service.webhooks import Webhooks
from hookline.ssrf import NetworkPolicy
from hookline.store import Database
from hookline.tracing import Tracing
from hookline.transport import Sender
from hookline.vault import Vault


class Service:
    def __init__(
        self,
        db: Database,
        *,
        catalog: EventCatalog,
        ingestor: Ingestor,
        policy: NetworkPolicy,
        transport: Sender,
        vault: Vault,
        on_requeue: Callable[[], None],
        on_keys_revoked: Callable[[], None],
        on_cancelled: Callable[[int], None] = lambda _: None,
        tracing: Tracing | None = None,
        in_flight_ceiling: int,
        max_request_timeout: float = 60.0,
        destination_kinds: frozenset[str] = frozenset({"https", "http"}),
        public_url: str | None = None,
        clock: Clock = system_clock,
    ) -> None:
        """`on_keys_revoked` runs once API keys stopped being valid (a key revoked, a tenant
        deleted): the authenticator drops what it cached. `on_cancelled`: how many pending
        deliveries were cancelled (by hand, or with their webhook disabled). `tracing`: a span
        per send (none by default). `public_url`: where portal links point (HOOKLINE_PUBLIC_URL;
        None: the requesting origin)."""
        self.tenants = Tenants(db, clock, on_delete=on_keys_revoked)
        self.keys = Keys(db, clock, on_revoke=on_keys_revoked)
        self.event_types = EventTypes(db, catalog, clock)
        self.webhooks = Webhooks(
            db,
            catalog,
            policy,
            transport,
            vault,
            ingestor,
            in_flight_ceiling=in_flight_ceiling,
            max_request_timeout=max_request_timeout,
            destination_kinds=destination_kinds,
            on_cancelled=on_cancelled,
            clock=clock,
        )
        self.events = Events(db, ingestor, tracing or Tracing())
        self.deliveries = Deliveries(
            db, on_requeue=on_requeue, on_cancelled=on_cancelled, clock=clock
        )
        self.stats = Stats(db, clock)
        self.status = Status(db, clock)
        self.operator = Operator(db, vault, clock)
        self.portal = Portal(self.tenants, vault, clock, public_url=public_url)


__all__ = ["Service"]
