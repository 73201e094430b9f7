from __future__ import annotations

from collections.abc import Callable

from hookline import ids
from hookline.clock import Clock, system_clock
from hookline.errors import InvalidInput
from hookline.models import (
    FIRST_PAGE,
    ManagedBy,
    NumberedPage,
    Page,
    Paging,
    Tenant,
    TenantCreate,
    TenantUpdate,
)
from hookline.notices import RESERVED_UID_PREFIX
from hookline.service.common import (
    conflict_on_duplicate,
    found,
    refuse_managed,
    resolve_tenant,
)
from hookline.store import Database
from hookline.store import tenants as tenant_rows


class Tenants:
    def __init__(
        self, db: Database, clock: Clock = system_clock, *, on_delete: Callable[[], None]
    ) -> None:
        """`on_delete` runs after a tenant (with its keys) is deleted: the authenticator forgets
        cached keys."""
        self._db = db
        self._clock = clock
        self._on_delete = on_delete

    async def create(self, spec: TenantCreate, *, managed: ManagedBy | None = None) -> Tenant:
        """`managed`: declared in hookline's configuration (hookline.reconcile only)."""
        _check_uid(spec.uid)
        at = self._clock()
        taken = f"a tenant with uid {spec.uid!r} already exists"
        async with conflict_on_duplicate(taken), self._db.write() as conn:
            return await tenant_rows.insert_one(
                conn,
                {
                    "id": ids.new_id(ids.TENANT, at),
                    "uid": spec.uid,
                    "name": spec.name,
                    "max_webhooks": spec.max_webhooks,
                    "managed_by": managed,
                    "created_at": at,
                    "updated_at": at,
                },
            )

    async def resolve(self, ref: str) -> str:
        """The id of the tenant whose id or uid is `ref`."""
        async with self._db.read() as conn:
            return await resolve_tenant(conn, ref)

    async def find(self, ref: str) -> Tenant | None:
        """The tenant whose id or uid is `ref`, if there is one."""
        async with self._db.read() as conn:
            resolved = (await tenant_rows.resolve(conn, {ref})).get(ref)
            return None if resolved is None else await tenant_rows.get(conn, resolved)

    async def managed(self, source: ManagedBy) -> list[Tenant]:
        async with self._db.read() as conn:
            return await tenant_rows.managed(conn, source)

    async def get(self, ref: str) -> Tenant:
        async with self._db.read() as conn:
            tenant = await tenant_rows.get(conn, await resolve_tenant(conn, ref))
        return found(tenant, "tenant", ref)

    async def list(self, *, paging: Paging = FIRST_PAGE) -> Page[Tenant] | NumberedPage[Tenant]:
        async with self._db.read() as conn:
            return await tenant_rows.page(conn, paging=paging)

    async def update(self, ref: str, spec: TenantUpdate) -> Tenant:
        refuse_managed("tenant", ref, (await self.get(ref)).managed_by)
        return await self._update(ref, spec, {})

    async def declare(self, ref: str, spec: TenantUpdate, managed: ManagedBy | None) -> Tenant:
        """hookline.reconcile: change a tenant declared in `managed`, or (None) release one
        that no longer is, back to the API."""
        return await self._update(ref, spec, {"managed_by": managed})

    async def _update(self, ref: str, spec: TenantUpdate, extra: dict[str, object]) -> Tenant:
        _check_uid(spec.uid)
        values = spec.model_dump(exclude_unset=True) | extra
        if "name" in values and values["name"] is None:
            del values["name"]
        if "max_webhooks" in values and values["max_webhooks"] is None:
            del values["max_webhooks"]
        values["updated_at"] = self._clock()
        taken = f"a tenant with uid {spec.uid!r} already exists"
        async with conflict_on_duplicate(taken), self._db.write() as conn:
            updated = await tenant_rows.update_one(conn, await resolve_tenant(conn, ref), values)
        return found(updated, "tenant", ref)

    async def delete(self, ref: str) -> None:
        """Delete a tenant with its keys, webhooks, events and deliveries. Its keys stop
        working at once in this process."""
        refuse_managed("tenant", ref, (await self.get(ref)).managed_by)
        async with self._db.write() as conn:
            await tenant_rows.delete_one(conn, await resolve_tenant(conn, ref))
        self._on_delete()


def _check_uid(uid: str | None) -> None:
    """Ids and uids share one space (either names a tenant), so a uid may not look like an id."""
    if uid is None:
        return
    if uid.startswith(RESERVED_UID_PREFIX):
        raise InvalidInput(
            f"uid: uids starting with {RESERVED_UID_PREFIX!r} are hookline's own; choose "
            "another uid",
            loc=("uid",),
        )
    if ids.has_prefix(uid, ids.TENANT):
        raise InvalidInput(
            f"uid: {uid!r} has the shape of a tenant id ({ids.TENANT}_ and 26 characters), and "
            "a uid must never be mistaken for another tenant's id; choose another uid",
            loc=("uid",),
        )
