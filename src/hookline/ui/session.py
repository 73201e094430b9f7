"""Dashboard sessions: who is signed in, carried in a cookie sealed with the installation's
secret key (Fernet: encrypted and authenticated, so it can be neither read nor changed).

The cookie holds no API key: only which key signed in (its id, or a fingerprint of the
configured admin key), so every request can check that the key still works. A session ends
after `idle` seconds without a request (each request renews it), at sign-out, when its key is
revoked, and, for a portal session, when its link would have expired.

Two cookies, because a portal is embedded in other sites' pages:
- `hookline_session` (operators and tenant keys): `SameSite=Strict`, `HttpOnly`, and `Secure`
  outside `--dev`. A strict cookie never rides on a request another site started.
- `hookline_portal` (portal links): `SameSite=None; Secure; Partitioned` (CHIPS), so that it
  reaches an iframe on the platform's own site, partitioned to that site. Forms carry a CSRF
  token either way; the portal's frame-ancestors name only HOOKLINE_PORTAL_ORIGINS.
"""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass, replace

import orjson

from hookline.errors import ConfigurationError
from hookline.vault import Vault

OPERATOR_COOKIE = "hookline_session"
PORTAL_COOKIE = "hookline_portal"
LOGIN_COOKIE = "hookline_login"  # the sign-in form's CSRF token, before there is a session
PURPOSE = "hookline.ui"


@dataclass(frozen=True, slots=True)
class Session:
    tenant_id: str | None  # None: an admin, who sees every tenant
    key_id: str | None  # the API key it signed in with; None: the configured one, or a link
    admin_fingerprint: str | None  # signed in with the configured admin key: which one
    portal: bool  # signed in through a portal link
    read_only: bool
    csrf: str
    last_seen: float
    ends_at: float | None = None  # a portal session: when its link expires

    @property
    def is_admin(self) -> bool:
        return self.tenant_id is None

    def seen(self, now: float) -> Session:
        return replace(self, last_seen=now)


def new_csrf() -> str:
    return secrets.token_urlsafe(24)


def seal(vault: Vault, session: Session) -> str:
    return vault.seal(orjson.dumps({"p": PURPOSE, **asdict(session)}).decode())


def unseal(vault: Vault, token: str, *, now: float, idle: float) -> Session | None:
    """The session a cookie holds, if it is one of ours and neither idle too long nor past
    its end; None otherwise."""
    try:
        fields = orjson.loads(vault.open(token))
        if not isinstance(fields, dict) or fields.pop("p", None) != PURPOSE:
            return None
        session = Session(**fields)
    except (ConfigurationError, ValueError, TypeError):  # not ours, or not a session
        return None
    if session.last_seen + idle <= now or now < session.last_seen - 60:
        return None
    if session.ends_at is not None and session.ends_at <= now:
        return None
    return session
