"""Portal links: a grant that signs a tenant's user into the dashboard's pages, limited to that
tenant (and with `read_only`, to looking), until it expires.

A link carries its grant sealed with the installation's secret key (Fernet: encrypted and
authenticated, so it can be neither read nor changed): tampering, a link of another
installation, or one sealed under a key no longer configured are all refused, and an expired
one is refused on the injected clock. No state is kept: a link cannot be revoked before it
expires, except by deleting the tenant (or rotating HOOKLINE_SECRET_KEY away from its key).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import orjson

from hookline.clock import Clock, system_clock
from hookline.errors import ConfigurationError, NotFound, Unauthorized
from hookline.models import PortalLink, PortalLinkCreate
from hookline.service.tenants import Tenants
from hookline.vault import Vault

PURPOSE = "hookline.portal"
PATH = "/ui/portal/"  # + the token: where a link signs its holder in


@dataclass(frozen=True, slots=True)
class PortalGrant:
    tenant_id: str
    read_only: bool
    expires_at: float


class Portal:
    def __init__(
        self,
        tenants: Tenants,
        vault: Vault,
        clock: Clock = system_clock,
        *,
        public_url: str | None = None,
    ) -> None:
        """`public_url`: where users reach hookline (HOOKLINE_PUBLIC_URL), if configured."""
        self._tenants = tenants
        self._vault = vault
        self._clock = clock
        self._public_url = public_url

    def link(self, tenant_id: str, spec: PortalLinkCreate, *, origin: str) -> PortalLink:
        """A link for `tenant_id` (already resolved and scoped), on the public URL or else on
        `origin`, where the request that asks for it came to."""
        base_url = self._public_url or origin
        expires_at = self._clock() + spec.expires_in
        grant = {"p": PURPOSE, "t": tenant_id, "r": spec.read_only, "e": round(expires_at, 3)}
        token = self._vault.seal(orjson.dumps(grant).decode())
        return PortalLink(
            url=f"{base_url.rstrip('/')}{PATH}{token}",
            expires_at=datetime.fromtimestamp(expires_at, UTC),
        )

    async def open(self, token: str) -> PortalGrant:
        """The grant a link's token holds; Unauthorized, saying why, for one that is not a
        portal link of this installation, has expired, or whose tenant is gone."""
        try:
            grant = orjson.loads(self._vault.open(token))
            if not isinstance(grant, dict) or grant.get("p") != PURPOSE:
                raise ValueError
            found = PortalGrant(str(grant["t"]), bool(grant["r"]), float(grant["e"]))
        except (ConfigurationError, ValueError, KeyError, TypeError):  # the vault refused it
            raise Unauthorized(
                "this is not a portal link of this hookline (it was changed, cut short, or "
                "made with another secret key); ask for a new one"
            ) from None
        if found.expires_at <= self._clock():
            raise Unauthorized("this portal link has expired; ask for a new one")
        try:
            await self._tenants.get(found.tenant_id)
        except NotFound:
            raise Unauthorized("this portal link's tenant no longer exists") from None
        return found
