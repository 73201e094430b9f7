"""API keys: generated with 256 bits of randomness, stored as a lookup prefix and a SHA-256
digest, compared in constant time, cached briefly so the hot path does not query per request.

A revoked key, or a key of a deleted tenant, stops working at once in the process that revoked it
(the service layer calls `Authenticator.forget`) and within CACHE_SECONDS in every other process
(no cache entry lives longer, and none outlives its key's `expires_at`)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from hookline.clock import Clock, system_clock
from hookline.errors import Unauthorized
from hookline.store import Database
from hookline.store import keys as key_rows

KEY_PREFIX = "hl_"
LOOKUP_LENGTH = 12  # characters after KEY_PREFIX that index the key
CACHE_SECONDS = 1.0  # the longest another process may go on accepting a key revoked elsewhere


@dataclass(frozen=True, slots=True)
class NewKey:
    key: str
    lookup: str
    digest: str


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: an admin (tenant_id None) or one tenant."""

    tenant_id: str | None
    key_id: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.tenant_id is None


ADMIN = Principal(tenant_id=None)


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def generate_key() -> NewKey:
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    return NewKey(key=key, lookup=lookup_of(key), digest=digest(key))


def lookup_of(key: str) -> str:
    return key[: len(KEY_PREFIX) + LOOKUP_LENGTH]


class Authenticator:
    def __init__(
        self,
        db: Database,
        admin_key: str | None,
        *,
        clock: Clock = system_clock,
        cache_seconds: float = CACHE_SECONDS,
    ) -> None:
        self._db = db
        self._admin_digest = digest(admin_key) if admin_key else None
        self._clock = clock
        self._cache_seconds = cache_seconds
        self._cache: dict[str, tuple[Principal, float]] = {}  # digest -> (caller, valid until)
        self._generation = 0  # moves on every forget(), so a lookup begun before is not cached

    def forget(self) -> None:
        """Drop cached keys: a key was revoked or a tenant deleted in this process."""
        self._cache.clear()
        self._generation += 1

    async def authenticate(self, presented: str | None) -> Principal:
        if not presented:
            raise Unauthorized(
                "missing API key: send the header 'Authorization: Bearer <key>'",
            )
        presented_digest = digest(presented)
        if self._admin_digest is not None and hmac.compare_digest(
            presented_digest, self._admin_digest
        ):
            return ADMIN
        now = self._clock()
        cached = self._cache.get(presented_digest)
        if cached is not None and cached[1] > now:
            return cached[0]
        generation = self._generation
        principal, expires_at = await self._lookup(presented, presented_digest, now)
        if generation == self._generation:
            if len(self._cache) > 10_000:
                self._cache.clear()
            until = now + self._cache_seconds
            self._cache[presented_digest] = (principal, min(until, expires_at or until))
        return principal

    def admin_fingerprint(self) -> str | None:
        """Names the configured admin key without revealing it (None: none is configured): a
        dashboard session signed in with it ends when it changes."""
        if self._admin_digest is None:
            return None
        return hashlib.sha256(f"hookline.ui:{self._admin_digest}".encode()).hexdigest()[:32]

    async def still_valid(self, principal: Principal) -> bool:
        """Whether the key `principal` signed in with still works: not revoked, not expired,
        its tenant not deleted. (The configured admin key is checked by `admin_fingerprint`.)"""
        if principal.key_id is None:
            return True
        async with self._db.read() as conn:
            row = await key_rows.by_id(conn, principal.key_id)
        if row is None or row.revoked_at is not None or row.tenant_id != principal.tenant_id:
            return False
        return row.expires_at is None or row.expires_at.timestamp() > self._clock()

    async def _lookup(
        self, presented: str, presented_digest: str, now: float
    ) -> tuple[Principal, float | None]:
        """The caller the key names, and when the key expires (None: never)."""
        invalid = Unauthorized("invalid API key: it is unknown, revoked or expired")
        if not presented.startswith(KEY_PREFIX):
            raise invalid
        async with self._db.read() as conn:
            row = await key_rows.by_lookup(conn, lookup_of(presented))
        if row is None or not hmac.compare_digest(row.digest, presented_digest):
            raise invalid
        if row.revoked_at is not None:
            raise invalid
        expires_at = None if row.expires_at is None else row.expires_at.timestamp()
        if expires_at is not None and expires_at <= now:
            raise invalid
        return Principal(tenant_id=row.tenant_id, key_id=row.id), expires_at
