"""API keys: generated with 256 bits of randomness, stored as a lookup prefix and a SHA-256
digest, compared in constant time, cached briefly so the hot path does not query per request."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from hookline.errors import Unauthorized
from hookline.store import Database
from hookline.store import keys as key_rows

KEY_PREFIX = "hl_"
LOOKUP_LENGTH = 12  # characters after KEY_PREFIX that index the key


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
    def __init__(self, db: Database, admin_key: str | None, *, cache_seconds: float = 10.0) -> None:
        self._db = db
        self._admin_digest = digest(admin_key) if admin_key else None
        self._cache_seconds = cache_seconds
        self._cache: dict[str, tuple[Principal, float]] = {}

    def forget(self) -> None:
        """Drop cached keys (after a revocation in this process)."""
        self._cache.clear()

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
        cached = self._cache.get(presented_digest)
        now = time.monotonic()
        if cached is not None and cached[1] > now:
            return cached[0]
        principal = await self._lookup(presented, presented_digest)
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[presented_digest] = (principal, now + self._cache_seconds)
        return principal

    async def _lookup(self, presented: str, presented_digest: str) -> Principal:
        invalid = Unauthorized("invalid API key: it is unknown, revoked or expired")
        if not presented.startswith(KEY_PREFIX):
            raise invalid
        async with self._db.read() as conn:
            row = await key_rows.by_lookup(conn, lookup_of(presented))
        if row is None or not hmac.compare_digest(row.digest, presented_digest):
            raise invalid
        if row.revoked_at is not None:
            raise invalid
        if row.expires_at is not None and row.expires_at.timestamp() <= time.time():
            raise invalid
        return Principal(tenant_id=row.tenant_id, key_id=row.id)
