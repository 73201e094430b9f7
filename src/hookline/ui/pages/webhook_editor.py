"""The webhook form, new and edit, with its live checks (the filter on recent events, the exact
request), and the secret shown once."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from fastapi import Request
from pydantic import ValidationError
from starlette.responses import Response

from hookline.errors import HooklineError, InvalidInput
from hookline.models import (
    MAX_PAGE_SIZE,
    NumberedPaging,
    Webhook,
    WebhookPreview,
    WebhookWithSecret,
)
from hookline.node import Hookline
from hookline.service.events import FilterTrial
from hookline.service.webhooks import DraftPreview
from hookline.ui import snippets
from hookline.ui.access import check_form, current, node_of
from hookline.ui.pages.routing import (
    form_errors,
    form_value,
    new_router,
    refused,
    writable,
)
from hookline.ui.render import page, redirect
from hookline.ui.session import Session
from hookline.ui.webhook_form import FORMATS, SCHEMES, WebhookFields, parse_filter

router = new_router()


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


async def _posted(request: Request, session: Session) -> WebhookFields:
    form = await request.form()
    check_form(session, form_value(form, "csrf"))
    return WebhookFields.posted(
        {name: [v for v in form.getlist(name) if isinstance(v, str)] for name in form}
    )


@router.get("/webhooks/new")
async def new_webhook_form(request: Request) -> Response:
    session = await current(request)
    writable(session)
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
        return await _form(request, session, values, errors=refused(exc), code=422)
    return secret_page(node, session, created)


def secret_page(node: Hookline, session: Session, webhook: WebhookWithSecret) -> Response:
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
    writable(session)
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
        return await _form(request, session, values, webhook=hook, errors=refused(exc), code=422)
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
    except (ValidationError, HooklineError) as exc:  # a URL this key may not use, too
        return replace(checks, preview_errors=form_errors(exc))
    return replace(checks, preview=shown)


@router.post("/webhooks/checks")
async def check_webhook_form(request: Request) -> Response:
    """The form's checks of what is typed: ui.js posts the form here as it changes and puts
    the answer in place (`fragment=1`); without scripts, the form's Check button posts here
    and gets the whole form back, checked."""
    node = node_of(request)
    session = await current(request)
    writable(session)
    values = await _posted(request, session)
    form = await request.form()
    webhook_id = form_value(form, "webhook_id")
    hook = (
        await node.service.webhooks.get(webhook_id, tenant=session.tenant_id)
        if webhook_id
        else None
    )
    checks = await _checks(node, session, values, hook)
    if request.query_params.get("fragment") == "1":
        return page("webhook_checks.html", node.settings, session, checks=checks, webhook=hook)
    return await _form(request, session, values, webhook=hook, checks=checks)
