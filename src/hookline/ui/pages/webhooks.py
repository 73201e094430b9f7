"""The webhook list (search, filters, sparklines) and a webhook's page: health, delivery log,
test send, rotation, recovery."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import Request
from starlette.responses import Response

from hookline import durations
from hookline.errors import InvalidInput
from hookline.models import (
    MAX_PAGE_SIZE,
    DeliveryStatus,
    NumberedPage,
    NumberedPaging,
    Recovery,
    SecretRotation,
    Webhook,
    WebhookTest,
)
from hookline.node import Hookline
from hookline.service.common import every
from hookline.service.stats import DAY
from hookline.ui import charts
from hookline.ui.access import check_form, current, node_of
from hookline.ui.pages.routing import (
    PAGE_SIZE,
    chart,
    form_value,
    new_router,
)
from hookline.ui.pages.webhook_editor import secret_page
from hookline.ui.render import ago, page

router = new_router()


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
    check_form(session, form_value(form, "csrf"))
    chosen = form_value(form, "event_type") or None
    result = await node.service.webhooks.send_test(
        webhook_id, WebhookTest(event_type=chosen), tenant=session.tenant_id
    )
    hook = await node.service.webhooks.get(webhook_id, tenant=session.tenant_id)
    return page("test_result.html", node.settings, session, webhook=hook, result=result)


@router.post("/webhooks/{webhook_id}/rotate")
async def rotate_secret(webhook_id: str, request: Request) -> Response:
    node = node_of(request)
    session = await current(request)
    check_form(session, form_value(await request.form(), "csrf"))
    rotated = await node.service.webhooks.rotate_secret(
        webhook_id, SecretRotation(), tenant=session.tenant_id
    )
    return secret_page(node, session, rotated)


@router.post("/webhooks/{webhook_id}/recover")
async def recover_webhook(webhook_id: str, request: Request) -> Response:
    """Failed and cancelled deliveries since a time get one more attempt, and events the
    webhook never got a delivery for get one (as POST /api/v1/webhooks/{id}/recover)."""
    node = node_of(request)
    session = await current(request)
    form = await request.form()
    check_form(session, form_value(form, "csrf"))
    since = durations.instant(form_value(form, "since"), node.clock())
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
