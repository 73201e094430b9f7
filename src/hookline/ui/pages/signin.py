"""Signing in with an API key, out, and into the portal from a link; the portal's brand colour."""

from __future__ import annotations

import secrets

from fastapi import Request
from starlette.responses import PlainTextResponse, Response

from hookline.errors import Unauthorized
from hookline.service.portal import PATH as PORTAL_PATH
from hookline.ui.access import check_form, current, end_session, node_of, set_session
from hookline.ui.pages.routing import (
    form_value,
    new_router,
)
from hookline.ui.render import page, redirect
from hookline.ui.session import LOGIN_COOKIE, Session, new_csrf

router = new_router()


@router.get("/login")
async def login_form(request: Request) -> Response:
    node = node_of(request)
    token = secrets.token_urlsafe(24)
    response = page("login.html", node.settings, None, csrf=token, error=None)
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        path="/ui",
        httponly=True,
        secure=not node.settings.dev,
        samesite="strict",
    )
    return response


@router.post("/login")
async def login(request: Request) -> Response:
    node = node_of(request)
    form = await request.form()
    expected = request.cookies.get(LOGIN_COOKIE) or ""
    token = form_value(form, "csrf")
    if not token or not secrets.compare_digest(token, expected):
        return page(
            "message.html",
            node.settings,
            None,
            code=403,
            title="Sign-in refused",
            message="The sign-in form was missing its security token: open the sign-in page "
            "again and send it from there.",
        )
    try:
        principal = await node.authenticator.authenticate(form_value(form, "key") or None)
    except Unauthorized:
        return page(
            "login.html",
            node.settings,
            None,
            code=401,
            csrf=token,
            error="That API key is unknown, revoked or expired. Paste an admin key or a "
            "tenant key (hl_...).",
        )
    session = Session(
        tenant_id=principal.tenant_id,
        key_id=principal.key_id,
        admin_fingerprint=node.authenticator.admin_fingerprint()
        if principal.is_admin and principal.key_id is None
        else None,
        portal=False,
        read_only=False,
        csrf=new_csrf(),
        last_seen=node.clock(),
    )
    response = redirect("/ui/", node.settings, session)
    set_session(response, node, session)
    response.delete_cookie(LOGIN_COOKIE, path="/ui")
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    node = node_of(request)
    session = await current(request)
    check_form(session, form_value(await request.form(), "csrf"), changes=False)
    response = redirect("/ui/login", node.settings, None)
    end_session(response, session)
    return response


@router.get(PORTAL_PATH.removeprefix("/ui") + "{token}")
async def portal_entry(token: str, request: Request) -> Response:
    """A portal link: sign its holder in for its tenant, and drop the token from the URL."""
    node = node_of(request)
    try:
        grant = await node.service.portal.open(token)
    except Unauthorized as exc:
        return page(
            "message.html", node.settings, None, code=401, title="Link refused", message=str(exc)
        )
    session = Session(
        tenant_id=grant.tenant_id,
        key_id=None,
        admin_fingerprint=None,
        portal=True,
        read_only=grant.read_only,
        csrf=new_csrf(),
        last_seen=node.clock(),
        ends_at=grant.expires_at,
    )
    response = redirect("/ui/", node.settings, session)
    set_session(response, node, session)
    return response


@router.get("/brand.css")
async def brand_css(request: Request) -> Response:
    """The brand colour as a stylesheet (the policy allows no inline style)."""
    color = node_of(request).settings.portal_brand_color
    return PlainTextResponse(
        f":root {{ --brand: {color}; }}\n",
        media_type="text/css",
        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
    )
