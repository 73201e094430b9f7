"""A revoked key, a deleted tenant's key and an expired key stop working: at once in the process
that revoked it, within a second (auth.CACHE_SECONDS) in every other process on the same
database. Two "processes" here: a hookline node and a second Authenticator with its own
connections, both reading one moved-by-hand clock."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest
from sqlalchemy import update

from hookline.auth import CACHE_SECONDS, Authenticator, Principal
from hookline.errors import Unauthorized
from hookline.models import ApiKeyCreate, TenantCreate
from hookline.node import Hookline
from hookline.store import Database
from hookline.store.schema import api_keys
from tests.support.clock import ShiftedClock
from tests.support.harness import ADMIN_KEY, make_settings


@dataclass
class Installation:
    here: Hookline  # revokes and deletes through its service layer
    elsewhere: Authenticator  # another process: its own pool, its own cache
    clock: ShiftedClock
    tenant_id: str
    key_id: str
    key: str


@asynccontextmanager
async def installation(database_url: str) -> AsyncIterator[Installation]:
    clock = ShiftedClock()
    async with Hookline(make_settings(database_url), run_worker=False, clock=clock) as node:
        tenant = await node.service.tenants.create(TenantCreate(name="Acme"))
        key = await node.service.keys.create(ApiKeyCreate(name="ci"), tenant=tenant.id)
        other_db = Database(database_url)
        try:
            elsewhere = Authenticator(other_db, ADMIN_KEY, clock=clock)
            yield Installation(node, elsewhere, clock, tenant.id, key.id, key.key)
        finally:
            await other_db.close()


async def refused(authenticator: Authenticator, key: str) -> bool:
    try:
        await authenticator.authenticate(key)
    except Unauthorized:
        return True
    return False


async def revoke_the_key(hl: Installation) -> None:
    await hl.here.service.keys.revoke(hl.key_id, tenant_id=hl.tenant_id)


async def delete_the_tenant(hl: Installation) -> None:
    await hl.here.service.tenants.delete(hl.tenant_id)


@pytest.mark.parametrize("revoke", [revoke_the_key, delete_the_tenant])
async def test_a_revoked_key_is_refused_here_at_once_and_elsewhere_within_a_second(
    database_url: str, revoke: Callable[[Installation], Awaitable[None]]
) -> None:
    async with installation(database_url) as hl:
        expected = Principal(tenant_id=hl.tenant_id, key_id=hl.key_id)
        # Both processes have just accepted (and cached) the key.
        assert await hl.here.authenticator.authenticate(hl.key) == expected
        assert await hl.elsewhere.authenticate(hl.key) == expected

        await revoke(hl)
        assert CACHE_SECONDS <= 1.0

        assert await refused(hl.here.authenticator, hl.key)  # no clock move needed here
        hl.clock.advance(CACHE_SECONDS)
        assert await refused(hl.elsewhere, hl.key)
        assert await refused(hl.here.authenticator, hl.key)


async def test_an_expired_key_is_refused_on_the_clock_everyone_reads(database_url: str) -> None:
    async with installation(database_url) as hl:
        expires_at = hl.clock() + 0.5  # sooner than a cache entry would otherwise end
        async with hl.here.db.write() as conn:
            await conn.execute(
                update(api_keys).where(api_keys.c.id == hl.key_id).values(expires_at=expires_at)
            )
        assert not await refused(hl.here.authenticator, hl.key)
        assert not await refused(hl.elsewhere, hl.key)

        hl.clock.advance(0.5)

        assert await refused(hl.here.authenticator, hl.key)
        assert await refused(hl.elsewhere, hl.key)


async def test_a_lookup_under_way_when_keys_are_forgotten_is_not_cached(sqlite_url: str) -> None:
    """A request that read the key just before it was revoked may finish, but what it read
    must not stay cached after the revocation."""
    async with installation(sqlite_url) as hl:
        authenticator = hl.here.authenticator
        original = authenticator._lookup

        async def revoked_meanwhile(
            presented: str, presented_digest: str, now: float
        ) -> tuple[Principal, float | None]:
            found = await original(presented, presented_digest, now)
            await revoke_the_key(hl)
            return found

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(authenticator, "_lookup", revoked_meanwhile)
            assert not await refused(authenticator, hl.key)
        assert await refused(authenticator, hl.key)
