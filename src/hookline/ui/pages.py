"""The dashboard's pages (`/ui/...`): thin handlers over the service layer, rendered on the
server. A tenant's session sees only its tenant (another tenant's webhook is a 404, as in the
API); a read-only portal session changes nothing."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import ValidationError
from starlette.responses import PlainTextResponse, Response
from starlette.staticfiles import StaticFiles

from hookline import durations
from hookline.errors import Forbidden, HooklineError, InvalidInput, NotFound, Unauthorized
from hookline.models import (
    MAX_PAGE_SIZE,
    DeliveryStatus,
    NumberedPage,
    NumberedPaging,
    PortalLinkCreate,
    Recovery,
    SecretRotation,
    Webhook,
    WebhookPreview,
    WebhookTest,
    WebhookWithSecret,
)
from hookline.node import Hookline
from hookline.service.common import every
from hookline.service.events import FilterTrial
from hookline.service.portal import PATH as PORTAL_PATH
from hookline.service.stats import DAY, Timeline
from hookline.service.webhooks import DraftPreview
from hookline.ui import charts, snippets
from hookline.ui.access import SignedOut, check_form, current, end_session, node_of, set_session
from hookline.ui.render import STATIC, ago, page, redirect
from hookline.ui.session import LOGIN_COOKIE, OPERATOR_COOKIE, PORTAL_COOKIE, Session, new_csrf
from hookline.ui.webhook_form import FORMATS, SCHEMES, WebhookFields, parse_filter


class PageRoute(APIRoute):
    """A dashboard page: a failure is a page that says what happened (the API answers problem
    JSON instead), no session sends the visitor to sign in, and a session renewed by the
    request goes back in its cookie."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def handler(request: Request) -> Response:
            node = node_of(request)
            try:
                response = await handle(request)
            except SignedOut as exc:
                return _signed_out(request, exc)
            except HooklineError as exc:
                response = page(
                    "message.html",
                    node.settings,
                    getattr(request.state, "renewed", None),
                    code=exc.status,
                    title=exc.title,
                    message=str(exc),
                )
            except RequestValidationError as exc:
                response = page(
                    "message.html",
                    node.settings,
                    getattr(request.state, "renewed", None),
                    code=400,
                    title="Bad request",
                    message="; ".join(
                        f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
                    ),
                )
            renewed = getattr(request.state, "renewed", None)
            cookies = response.headers.getlist("set-cookie")
            if isinstance(renewed, Session) and not any(
                c.startswith((OPERATOR_COOKIE + "=", PORTAL_COOKIE + "=")) for c in cookies
            ):
                set_session(response, node, renewed)
            return response

        return handler


def _signed_out(request: Request, exc: SignedOut) -> Response:
    node = node_of(request)
    if exc.portal:
        return page(
            "message.html",
            node.settings,
            None,
            code=401,
            title="Signed out",
            message="This portal session has ended. Open the portal again from where you found "
            "it to get a new link.",
        )
    return redirect("/ui/login", node.settings, None)


router = APIRouter(prefix="/ui", include_in_schema=False, route_class=PageRoute)
static = StaticFiles(directory=STATIC)
PAGE_SIZE = 50


def chart(timeline: Timeline, title: str, unit: str) -> Any:
    return charts.timeline_chart(
        timeline.succeeded,
        timeline.failed,
        title=f"{title}, deliveries per {unit}",
        start_label=_clock_label(timeline.start),
        end_label=_clock_label(timeline.end),
    )


def _clock_label(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%b %d, %H:%M UTC")


def _form_value(form: Any, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _errors(exc: ValidationError | HooklineError) -> list[str]:
    if isinstance(exc, ValidationError):
        return [
            f"{'.'.join(str(p) for p in error['loc']) or 'form'}: {error['msg']}"
            for error in exc.errors()
        ]
    return [str(exc)]


# --- signing in and out -------------------------------------------------------------------


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
    token = _form_value(form, "csrf")
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
        principal = await node.authenticator.authenticate(_form_value(form, "key") or None)
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
    check_form(session, _form_value(await request.form(), "csrf"), changes=False)
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


# --- pages ----------------------------------------------------------------------------------


TROUBLE_SHOWN = 50  # failing and disabled webhooks the overview lists, the worst first


@router.get("/")
async def overview(request: Request) -> Response:
    node = node_of(request)
    session = await current(request)
    stats = node.service.stats
    tenant = session.tenant_id
    hour = await stats.timeline(window=3600, buckets=60, tenant=tenant)
    day = await stats.timeline(window=DAY, buckets=96, tenant=tenant)
    totals = await stats.totals("24h", tenant=tenant)
    troubled = await node.service.status.troubled(tenant=tenant, limit=TROUBLE_SHOWN)
    return page(
        "overview.html",
        node.settings,
        session,
        hour_chart=chart(hour, "Last hour", "minute"),
        day_chart=chart(day, "Last 24 hours", "15 minutes"),
        hour=hour,
        day=day,
        totals=totals,
        queue=await node.service.status.queue() if tenant is None else None,
        failing=troubled.failing,
        disabled=troubled.disabled,
        open_circuits=[w for w in troubled.failing if w.circuit_state != "closed"],
        shown=TROUBLE_SHOWN,
    )


@router.get("/webhooks")
async def webhooks(request: Request, q: str = "", status: str = "", page_no: int = 1) -> Response:
    node = node_of(request)
    session = await current(request)
    page_no = max(1, min(page_no, 10_000))
    needle = q.strip().lower()
    if needle or status:  # search every webhook in view, then show a page of the matches
        everything = await _all_webhooks(node, session.tenant_id)
        matches = [w for w in everything if _matches(w, needle, status)]
        total = len(matches)
        rows = matches[(page_no - 1) * PAGE_SIZE : page_no * PAGE_SIZE]
    else:
        found = await node.service.webhooks.list(
            tenant=session.tenant_id, paging=NumberedPaging(page=page_no, page_size=PAGE_SIZE)
        )
        assert isinstance(found, NumberedPage)
        rows, total = found.data, found.total
    lines = await node.service.stats.timelines(
        [w.id for w in rows], window=DAY, buckets=24, tenant=session.tenant_id
    )
    sparks = {
        w.id: charts.sparkline(
            lines[w.id].success_rates(), label=f"{w.name or w.id}: success rate per hour, 24 h"
        )
        for w in rows
    }
    rates = {w.id: lines[w.id].success_rate for w in rows}
    now = node.clock()
    return page(
        "webhooks.html",
        node.settings,
        session,
        webhooks=rows,
        sparks=sparks,
        rates=rates,
        last={w.id: ago(w.last_triggered_at, now) for w in rows},
        q=q,
        status=status,
        total=total,
        page_no=page_no,
        pages=max(1, -(-total // PAGE_SIZE)),
    )


SEARCHED_AT_MOST = 10_000  # webhooks a search looks through


async def _all_webhooks(node: Hookline, tenant: str | None) -> list[Webhook]:
    found: list[Webhook] = []
    async for webhook in every(
        lambda paging: node.service.webhooks.list(tenant=tenant, paging=paging)
    ):
        found.append(webhook)
        if len(found) >= SEARCHED_AT_MOST:
            break
    return found


def _matches(webhook: Webhook, needle: str, status: str) -> bool:
    """A search (in the name, URL or id) and a status filter (active, failing, disabled)."""
    text = (webhook.name.lower(), webhook.url.lower(), webhook.id)
    if needle and not any(needle in part for part in text):
        return False
    if status == "active":
        return webhook.is_active
    if status == "disabled":
        return not webhook.is_active
    if status == "failing":
        return webhook.is_active and webhook.consecutive_failures > 0
    return True


async def _form(
    request: Request,
    session: Session,
    values: WebhookFields,
    *,
    webhook: Webhook | None = None,
    errors: list[str] | None = None,
    code: int = 200,
    checks: Checks | None = None,
) -> Response:
    """The webhook form: new (`webhook` None) or editing `webhook`, with the checks of what
    was typed when the form was sent to be checked."""
    node = node_of(request)
    types = await node.service.event_types.list(paging=NumberedPaging(page_size=MAX_PAGE_SIZE))
    tenants = (
        (await node.service.tenants.list(paging=NumberedPaging(page_size=MAX_PAGE_SIZE))).data
        if session.is_admin and webhook is None
        else []
    )
    return page(
        "webhook_form.html",
        node.settings,
        session,
        code=code,
        webhook=webhook,
        event_types=types.data,
        tenants=tenants,
        formats=FORMATS,
        schemes=SCHEMES,
        values=values,
        errors=errors or [],
        checks=checks or await _checks(node, session, values, webhook),
    )


def _refused(exc: ValidationError | HooklineError) -> list[str]:
    """What to fix, for a mistake the form can show; anything else (a 404, a 403) goes up."""
    if isinstance(exc, HooklineError) and exc.status not in (400, 409, 422):
        raise exc
    return _errors(exc)


async def _posted(request: Request, session: Session) -> WebhookFields:
    form = await request.form()
    check_form(session, _form_value(form, "csrf"))
    return WebhookFields.posted(
        {name: [v for v in form.getlist(name) if isinstance(v, str)] for name in form}
    )


def _writable(session: Session) -> None:
    if session.read_only:
        raise Forbidden("this portal link is read-only: it shows everything and changes nothing")


@router.get("/webhooks/new")
async def new_webhook_form(request: Request) -> Response:
    session = await current(request)
    _writable(session)
    return await _form(request, session, WebhookFields())


@router.post("/webhooks/new")
async def create_webhook(request: Request) -> Response:
    node = node_of(request)
    session = await current(request)
    values = await _posted(request, session)
    try:
        spec = values.create(session.tenant_id)
        created = await node.service.webhooks.create(spec, tenant=session.tenant_id)
    except (ValidationError, HooklineError) as exc:
        return await _form(request, session, values, errors=_refused(exc), code=422)
    return _secret(node, session, created)


def _secret(node: Hookline, session: Session, webhook: WebhookWithSecret) -> Response:
    """The secret, shown once after create and rotate, with the code that verifies with it."""
    return page(
        "secret.html",
        node.settings,
        session,
        webhook=webhook,
        secret=webhook.secret,
        snippet=snippets.for_scheme(webhook.signature, webhook.secret, webhook_id=webhook.id),
    )


@router.get("/webhooks/{webhook_id}/edit")
async def edit_webhook_form(webhook_id: str, request: Request) -> Response:
    node = node_of(request)
    session = await current(request)
    _writable(session)
    hook = await node.service.webhooks.get(webhook_id, tenant=session.tenant_id)
    return await _form(request, session, WebhookFields.of(hook), webhook=hook)


@router.post("/webhooks/{webhook_id}/edit")
async def update_webhook(webhook_id: str, request: Request) -> Response:
    node = node_of(request)
    session = await current(request)
    values = await _posted(request, session)
    hook = await node.service.webhooks.get(webhook_id, tenant=session.tenant_id)
    try:
        await node.service.webhooks.update(webhook_id, values.update(), tenant=session.tenant_id)
    except (ValidationError, HooklineError) as exc:
        return await _form(request, session, values, webhook=hook, errors=_refused(exc), code=422)
    return redirect(f"/ui/webhooks/{webhook_id}", node.settings, session)


@dataclass(frozen=True)
class Checks:
    """The form's live checks: which recent events the filter lets through (or what is wrong
    with it), and exactly what would be sent (or what stops it)."""

    filter_error: str | None = None
    trials: list[FilterTrial] = field(default_factory=list)
    preview_types: list[str] = field(default_factory=list)
    preview_type: str = ""
    preview: DraftPreview | None = None
    preview_errors: list[str] = field(default_factory=list)


async def _checks(
    node: Hookline, session: Session, values: WebhookFields, webhook: Webhook | None
) -> Checks:
    tenant = webhook.tenant_id if webhook else session.tenant_id or values.tenant_id or None
    filter_error, trials = None, []
    try:
        trials = await node.service.events.try_filter(
            parse_filter(values.filter) or {}, tenant=tenant, event_types=values.event_types
        )
    except InvalidInput as exc:
        filter_error = str(exc)
    catalog = await node.service.event_types.list(paging=NumberedPaging(page_size=MAX_PAGE_SIZE))
    exemplary = [t.name for t in catalog.data if t.examples]
    # the type chosen to preview, else the first subscribed type that has an example
    chosen = [values.preview_type] if values.preview_type in exemplary else []
    chosen += [name for name in values.event_types if name in exemplary] + exemplary
    preview_type = chosen[0] if chosen else ""
    checks = Checks(
        filter_error=filter_error,
        trials=trials,
        preview_types=exemplary,
        preview_type=preview_type,
    )
    if not values.url or not preview_type:
        return checks
    try:
        shown = await node.service.webhooks.preview_draft(
            # the filter has its own check above, and does not change what is sent
            replace(values, filter="").create(session.tenant_id),
            WebhookPreview(event_type=preview_type),
            tenant=session.tenant_id,
            webhook_id=webhook.id if webhook else None,
        )
    except (ValidationError, HooklineError) as exc:
        return replace(checks, preview_errors=_refused(exc))
    return replace(checks, preview=shown)


@router.post("/webhooks/checks")
async def check_webhook_form(request: Request) -> Response:
    """The form's checks of what is typed: ui.js posts the form here as it changes and puts
    the answer in place (`fragment=1`); without scripts, the form's Check button posts here
    and gets the whole form back, checked."""
    node = node_of(request)
    session = await current(request)
    _writable(session)
    values = await _posted(request, session)
    form = await request.form()
    webhook_id = _form_value(form, "webhook_id")
    hook = (
        await node.service.webhooks.get(webhook_id, tenant=session.tenant_id)
        if webhook_id
        else None
    )
    checks = await _checks(node, session, values, hook)
    if request.query_params.get("fragment") == "1":
        return page("webhook_checks.html", node.settings, session, checks=checks, webhook=hook)
    return await _form(request, session, values, webhook=hook, checks=checks)


@router.get("/webhooks/{webhook_id}")
async def webhook_detail(
    webhook_id: str, request: Request, status: str = "", event_type: str = ""
) -> Response:
    node = node_of(request)
    session = await current(request)
    hook = await node.service.webhooks.get(webhook_id, tenant=session.tenant_id)
    health = await node.service.stats.for_webhook(webhook_id, tenant=session.tenant_id)
    day = await node.service.stats.timeline(
        window=DAY, buckets=24, tenant=session.tenant_id, webhook=webhook_id
    )
    chosen = DeliveryStatus(status) if status in DeliveryStatus.__members__.values() else None
    log = await node.service.deliveries.for_webhook(
        webhook_id,
        tenant=session.tenant_id,
        status=chosen,
        event_type=event_type.strip() or None,
        paging=NumberedPaging(page_size=PAGE_SIZE),
    )
    catalog = await node.service.event_types.list(paging=NumberedPaging(page_size=MAX_PAGE_SIZE))
    return page(
        "webhook.html",
        node.settings,
        session,
        webhook=hook,
        test_types=[
            t.name for t in catalog.data if not hook.event_types or t.name in hook.event_types
        ],
        health=health,
        day_chart=chart(day, "Last 24 hours", "hour"),
        deliveries=log.data,
        status=status,
        event_type=event_type,
        statuses=[s.value for s in DeliveryStatus],
        result=None,
    )


@router.post("/webhooks/{webhook_id}/test")
async def test_webhook(webhook_id: str, request: Request) -> Response:
    node = node_of(request)
    session = await current(request)
    form = await request.form()
    check_form(session, _form_value(form, "csrf"))
    chosen = _form_value(form, "event_type") or None
    result = await node.service.webhooks.send_test(
        webhook_id, WebhookTest(event_type=chosen), tenant=session.tenant_id
    )
    hook = await node.service.webhooks.get(webhook_id, tenant=session.tenant_id)
    return page("test_result.html", node.settings, session, webhook=hook, result=result)


@router.post("/webhooks/{webhook_id}/rotate")
async def rotate_secret(webhook_id: str, request: Request) -> Response:
    node = node_of(request)
    session = await current(request)
    check_form(session, _form_value(await request.form(), "csrf"))
    rotated = await node.service.webhooks.rotate_secret(
        webhook_id, SecretRotation(), tenant=session.tenant_id
    )
    return _secret(node, session, rotated)


@router.post("/webhooks/{webhook_id}/recover")
async def recover_webhook(webhook_id: str, request: Request) -> Response:
    """Failed and cancelled deliveries since a time get one more attempt, and events the
    webhook never got a delivery for get one (as POST /api/v1/webhooks/{id}/recover)."""
    node = node_of(request)
    session = await current(request)
    form = await request.form()
    check_form(session, _form_value(form, "csrf"))
    since = durations.instant(_form_value(form, "since"), node.clock())
    if since is None:
        raise InvalidInput(
            f"since: write how far back ({durations.EXAMPLES}) or an ISO 8601 instant",
            loc=("since",),
        )
    result = await node.service.deliveries.recover(
        webhook_id, Recovery(since=datetime.fromtimestamp(since, UTC)), tenant=session.tenant_id
    )
    hook = await node.service.webhooks.get(webhook_id, tenant=session.tenant_id)
    return page(
        "recovered.html",
        node.settings,
        session,
        webhook=hook,
        result=result,
        since=datetime.fromtimestamp(since, UTC),
    )


@router.get("/deliveries/{delivery_id}")
async def delivery_detail(delivery_id: str, request: Request) -> Response:
    node = node_of(request)
    session = await current(request)
    delivery = await node.service.deliveries.get(delivery_id, tenant=session.tenant_id)
    attempts = await node.service.deliveries.attempts(
        delivery_id, tenant=session.tenant_id, paging=NumberedPaging(page_size=100)
    )
    return page("delivery.html", node.settings, session, delivery=delivery, attempts=attempts.data)


@router.post("/deliveries/{delivery_id}/retry")
async def retry_delivery(delivery_id: str, request: Request) -> Response:
    node = node_of(request)
    session = await current(request)
    check_form(session, _form_value(await request.form(), "csrf"))
    delivery = await node.service.deliveries.retry(delivery_id, tenant=session.tenant_id)
    return redirect(f"/ui/deliveries/{delivery.id}", node.settings, session)


@router.get("/events")
async def events(request: Request, event_type: str = "", page_no: int = 1) -> Response:
    node = node_of(request)
    session = await current(request)
    page_no = max(1, min(page_no, 10_000))
    found = await node.service.events.list(
        tenant=session.tenant_id,
        event_type=event_type.strip() or None,
        paging=NumberedPaging(page=page_no, page_size=PAGE_SIZE),
    )
    assert isinstance(found, NumberedPage)
    return page(
        "events.html",
        node.settings,
        session,
        events=found.data,
        event_type=event_type,
        page_no=page_no,
        total=found.total,
        pages=max(1, -(-found.total // PAGE_SIZE)),
    )


@router.get("/events/{event_id}")
async def event_detail(event_id: str, request: Request) -> Response:
    node = node_of(request)
    session = await current(request)
    event = await node.service.events.get(event_id, tenant=session.tenant_id)
    sent = await node.service.events.deliveries(
        event_id, tenant=session.tenant_id, paging=NumberedPaging(page_size=MAX_PAGE_SIZE)
    )
    return page(
        "event.html",
        node.settings,
        session,
        event=event,
        payload=json.dumps(event.data, indent=2, ensure_ascii=False),
        deliveries=sent.data,
    )


@router.get("/event-types")
async def event_types(request: Request) -> Response:
    node = node_of(request)
    session = await current(request)
    found = await node.service.event_types.list(paging=NumberedPaging(page_size=MAX_PAGE_SIZE))
    return page(
        "event_types.html",
        node.settings,
        session,
        event_types=found.data,
        shown={
            t.name: {
                "schema": None
                if t.json_schema is None
                else json.dumps(t.json_schema, indent=2, ensure_ascii=False),
                "example": json.dumps(t.examples[0], indent=2, ensure_ascii=False)
                if t.examples
                else None,
            }
            for t in found.data
        },
    )


@router.get("/tenants")
async def tenants(request: Request) -> Response:
    """Every tenant with its limit and keys, and a portal link for each (admin only)."""
    node = node_of(request)
    session = await current(request)
    if not session.is_admin or session.portal:
        raise NotFound("this page does not exist for a tenant")
    found = await node.service.tenants.list(paging=NumberedPaging(page_size=MAX_PAGE_SIZE))
    keys = {
        t.id: (
            await node.service.keys.list(
                tenant_id=t.id, paging=NumberedPaging(page_size=MAX_PAGE_SIZE)
            )
        ).data
        for t in found.data
    }
    return page("tenants.html", node.settings, session, tenants=found.data, keys=keys, link=None)


@router.post("/tenants/{tenant_id}/portal")
async def tenant_portal_link(tenant_id: str, request: Request) -> Response:
    """A portal link for a tenant, made from the tenants page (admin only)."""
    node = node_of(request)
    session = await current(request)
    form = await request.form()
    check_form(session, _form_value(form, "csrf"))
    if not session.is_admin or session.portal:
        raise NotFound("this page does not exist for a tenant")
    tenant = await node.service.tenants.get(tenant_id)
    spec = PortalLinkCreate(
        expires_in=_whole(_form_value(form, "expires_in") or "3600", "expires_in"),
        read_only=_form_value(form, "read_only") == "on",
    )
    made = node.service.portal.link(tenant.id, spec, origin=str(request.base_url))
    return page("portal_link.html", node.settings, session, tenant=tenant, link=made, spec=spec)


def _whole(text: str, field: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise InvalidInput(f"{field} must be a whole number of seconds", loc=(field,)) from None


def install(app: Any) -> None:
    """Mount the dashboard on `app`: its pages and its static files."""
    app.include_router(router)
    app.mount("/ui/static", static, name="ui-static")
