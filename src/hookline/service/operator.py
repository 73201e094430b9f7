"""The operator channel: the reserved tenant whose events are hookline's operational events
(see hookline.notices), and the webhook HOOKLINE_OPERATOR_WEBHOOK_URL gives it."""

from __future__ import annotations

from urllib.parse import urlsplit

from sqlalchemy.exc import IntegrityError

from hookline import ids, notices, signing
from hookline.clock import Clock, system_clock
from hookline.errors import ConfigurationError
from hookline.store import Database
from hookline.store import tenants as tenant_rows
from hookline.store import webhooks as webhook_rows
from hookline.vault import Vault

OPERATOR_NAME = "hookline operator notices"


class Operator:
    def __init__(self, db: Database, vault: Vault, clock: Clock = system_clock) -> None:
        self._db = db
        self._clock = clock
        self._vault = vault

    async def ensure(self, url: str | None, secret: str | None) -> str | None:
        """Make sure the operator tenant exists and, given a URL, that its webhook points there
        (with `secret`, if given). Returns a secret it had to generate, to be shown once."""
        if url is not None and urlsplit(url).scheme not in ("http", "https"):
            raise ConfigurationError(
                f"HOOKLINE_OPERATOR_WEBHOOK_URL must be an http(s) URL; got {url!r}"
            )
        if secret is not None:
            try:
                signing.secret_key(secret)
            except ValueError as exc:
                raise ConfigurationError(f"HOOKLINE_OPERATOR_WEBHOOK_SECRET: {exc}") from None
        tenant_id = await self._tenant()
        if url is None:
            return None
        at = self._clock()
        async with self._db.write() as conn:
            existing = await webhook_rows.page(conn, tenant_id=tenant_id, limit=1, cursor=None)
            if existing.data:
                changes: dict[str, object] = {"url": url, "updated_at": at}
                if secret is not None:
                    changes["secret"] = self._vault.seal(secret)
                await webhook_rows.update_one(conn, existing.data[0].id, changes, tenant_id=None)
                return None
            chosen = secret or signing.generate_secret()
            await webhook_rows.insert_one(
                conn,
                {
                    "id": ids.new_id(ids.WEBHOOK, at),
                    "tenant_id": tenant_id,
                    "name": "operator",
                    "url": url,
                    "description": "Operational events: " + ", ".join(notices.KINDS),
                    "event_types": [],
                    "headers": {},
                    "secret": self._vault.seal(chosen),
                    "created_at": at,
                    "updated_at": at,
                },
            )
        return None if secret is not None else chosen

    async def _tenant(self) -> str:
        async with self._db.read() as conn:
            found = await notices.operator_tenant(conn)
        if found is not None:
            return found
        at = self._clock()
        try:
            async with self._db.write() as conn:
                await tenant_rows.insert_one(
                    conn,
                    {
                        "id": ids.new_id(ids.TENANT, at),
                        "uid": notices.OPERATOR_UID,
                        "name": OPERATOR_NAME,
                        "max_webhooks": 10,
                        "created_at": at,
                        "updated_at": at,
                    },
                )
        except IntegrityError:
            pass  # another process made it first
        async with self._db.read() as conn:
            made = await notices.operator_tenant(conn)
        assert made is not None
        return made
