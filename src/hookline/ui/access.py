"""Who is looking at a page: the session a request's cookie holds, checked against the key it
signed in with, and renewed; and the cookies that carry it."""

from __future__ import annotations

import hmac

from starlette.requests import Request
from starlette.responses import Response

from hookline.auth import Principal
from hookline.errors import Forbidden
from hookline.node import Hookline
from hookline.ui.session import OPERATOR_COOKIE, PORTAL_COOKIE, Session, seal, unseal


class SignedOut(Exception):
    """No valid session: the page sends the visitor to sign in (or says the link expired)."""

    def __init__(self, portal: bool = False) -> None:
        super().__init__("signed out")
        self.portal = portal


def node_of(request: Request) -> Hookline:
    node: Hookline = request.app.state.node
    return node


async def current(request: Request) -> Session:
    """The valid session of this request, renewed (the cookie is set again on the response by
    `keep`); SignedOut when there is none."""
    node = node_of(request)
    now, idle = node.clock(), node.settings.ui_session_idle
    for name in (OPERATOR_COOKIE, PORTAL_COOKIE):
        token = request.cookies.get(name)
        if not token:
            continue
        session = unseal(node.vault, token, now=now, idle=idle)
        if session is None or not await _still_valid(node, session):
            raise SignedOut(portal=name == PORTAL_COOKIE)
        session = session.seen(now)
        request.state.renewed = session
        return session
    raise SignedOut()


async def _still_valid(node: Hookline, session: Session) -> bool:
    authenticator = node.authenticator
    if session.portal:
        return await node.service.tenants.find(session.tenant_id or "") is not None
    if session.key_id is None:  # the configured admin key: still the same one?
        fingerprint = authenticator.admin_fingerprint()
        return fingerprint is not None and hmac.compare_digest(
            fingerprint, session.admin_fingerprint or ""
        )
    return await authenticator.still_valid(Principal(session.tenant_id, session.key_id))


def set_session(response: Response, node: Hookline, session: Session) -> None:
    """Carry `session` in its cookie (see hookline.ui.session for the attributes)."""
    if session.portal:
        response.set_cookie(
            PORTAL_COOKIE,
            seal(node.vault, session),
            path="/ui",
            httponly=True,
            secure=True,
            samesite="none",
        )
        _partitioned(response)
    else:
        response.set_cookie(
            OPERATOR_COOKIE,
            seal(node.vault, session),
            path="/ui",
            httponly=True,
            secure=not node.settings.dev,
            samesite="strict",
        )


def end_session(response: Response, session: Session | None) -> None:
    portal = session is not None and session.portal
    response.delete_cookie(
        PORTAL_COOKIE if portal else OPERATOR_COOKIE,
        path="/ui",
        httponly=True,
        secure=portal,
        samesite="none" if portal else "strict",
    )
    if portal:
        _partitioned(response)


def _partitioned(response: Response) -> None:
    """Mark the cookie just set `Partitioned` (CHIPS): Starlette spells it only on Python
    3.14 and later, through the standard library's cookies."""
    name, value = response.raw_headers[-1]
    assert name == b"set-cookie"
    response.raw_headers[-1] = (name, value + b"; Partitioned")


def check_form(session: Session, token: str | None, *, changes: bool = True) -> None:
    """A form post must carry the session's CSRF token, and a read-only session changes
    nothing: Forbidden otherwise, before anything is done."""
    if not token or not hmac.compare_digest(token, session.csrf):
        raise Forbidden(
            "this form is missing its security token or it is stale: reload the page and "
            "send the form again"
        )
    if changes and session.read_only:
        raise Forbidden("this portal link is read-only: it shows everything and changes nothing")
