"""The webhook form's checks over plain HTTP: the filter tried on a tenant's recent events only,
the preview of a webhook not yet saved (signed with a stand-in secret) or being edited (signed
with its own), the whole form checked without scripts, and the token and read-only rules every
form post keeps."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from html import unescape

import httpx
import pytest
import standardwebhooks

from tests.integration.test_ui_sessions import csrf_of, sign_in
from tests.support import api
from tests.support.harness import ADMIN_KEY, Running, make_settings, running
from tests.support.receiver import Receiver

CHECKS = "/ui/webhooks/checks"


@pytest.fixture
async def hl(sqlite_url: str) -> AsyncIterator[Running]:
    async with running(make_settings(sqlite_url)) as app:
        yield app


@pytest.fixture
async def browser(hl: Running) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=hl.base_url) as client:
        yield client


def block(html: str, element_id: str) -> str:
    found = re.search(rf'id="{element_id}"[^>]*>(.*?)</(?:pre|ul|p|div)>', html, re.S)
    assert found is not None, html
    return unescape(found.group(1))


async def catalog(hl: Running) -> None:
    answer = await hl.client.post(
        "/api/v1/event-types", json={"name": "order.filled", "examples": [{"amount": 150}]}
    )
    api.ok_object(answer, 201)


async def test_the_filter_is_tried_on_the_sessions_tenants_events_only(
    hl: Running, browser: httpx.AsyncClient, receiver: Receiver
) -> None:
    await catalog(hl)
    acme, globex = await api.tenant(hl.client, "acme"), await api.tenant(hl.client, "globex")
    for amount in (50, 500):
        await api.send(hl.client, "order.filled", {"amount": amount}, acme["id"])
    theirs = await api.send(hl.client, "order.filled", {"amount": 900}, globex["id"])
    broadcast = await api.send(hl.client, "order.filled", {"amount": 700})
    key = api.ok_object(await hl.client.post(f"/api/v1/tenants/{acme['id']}/keys"), 201)
    await sign_in(browser, key["key"])
    token = csrf_of((await browser.get("/ui/webhooks/new")).text)
    form = {
        "csrf": token,
        "tenant_id": globex["id"],  # ignored: a tenant's session is its own tenant
        "event_types": "order.filled",
        "filter": '{"data.amount": {"$gte": 100}}',
    }
    answer = await browser.post(CHECKS, params={"fragment": "1"}, data=form)
    assert answer.status_code == 200
    assert "<html" not in answer.text  # the checks alone, for ui.js to put in place
    assert block(answer.text, "filter-summary") == "2 of the last 3 events would be sent."
    assert answer.text.count('data-matched="yes"') == 2
    assert broadcast["id"] in answer.text
    assert theirs["id"] not in answer.text

    wrong = await browser.post(
        CHECKS, params={"fragment": "1"}, data={**form, "filter": '{"data.amount": 1'}
    )
    assert "the filter is not JSON" in block(wrong.text, "filter-error")


async def test_a_new_webhook_is_previewed_with_a_stand_in_secret(
    hl: Running, browser: httpx.AsyncClient, receiver: Receiver
) -> None:
    """Without scripts the form's Check button gets the whole form back, checked, with what
    was typed kept; nothing is saved."""
    await catalog(hl)
    tenant = await api.tenant(hl.client)
    await sign_in(browser, ADMIN_KEY)
    token = csrf_of((await browser.get("/ui/webhooks/new")).text)
    form = {
        "csrf": token,
        "tenant_id": tenant["id"],
        "url": receiver.url("/in"),
        "name": "fills",
        "event_types": "order.filled",
        "signature": "stripe",
        "headers": "X-Team: payments",
    }
    answer = await browser.post(CHECKS, data=form)
    assert answer.status_code == 200
    assert "<html" in answer.text
    assert 'value="fills"' in answer.text
    headers = dict(
        line.split(": ", 1) for line in block(answer.text, "preview-headers").splitlines()
    )
    assert headers["X-Team"] == "payments"
    assert re.fullmatch(r"t=\d+,v1=[0-9a-f]{64}", headers["Stripe-Signature"])
    assert json.loads(block(answer.text, "preview-body"))["data"] == {"amount": 150}
    assert "sample secret" in answer.text
    assert (await hl.client.get("/api/v1/webhooks")).json()["data"] == []

    # A mistake in what is typed is said where the preview would be.
    bad = await browser.post(CHECKS, data={**form, "signature": "custom"})
    assert "describe the custom scheme" in block(bad.text, "preview-errors")


async def test_an_edited_webhook_is_previewed_signed_with_its_own_secret(
    hl: Running, browser: httpx.AsyncClient, receiver: Receiver
) -> None:
    await catalog(hl)
    tenant = await api.tenant(hl.client)
    hook = await api.webhook(hl.client, tenant["id"], receiver.url("/in"))
    await sign_in(browser, ADMIN_KEY)
    token = csrf_of((await browser.get(f"/ui/webhooks/{hook['id']}/edit")).text)
    form = {"csrf": token, "webhook_id": hook["id"], "url": hook["url"], "format": "standard"}
    answer = await browser.post(CHECKS, params={"fragment": "1"}, data=form)
    headers = dict(
        line.split(": ", 1) for line in block(answer.text, "preview-headers").splitlines()
    )
    body = block(answer.text, "preview-body")
    # Signed now, so a Standard Webhooks receiver checks it as it would a delivery.
    payload = standardwebhooks.Webhook(hook["secret"]).verify(body, headers)
    assert (payload["type"], payload["data"]) == ("order.filled", {"amount": 150})
    assert "sample" not in answer.text


async def test_checks_need_the_forms_token_and_a_session_that_may_change_things(
    hl: Running, browser: httpx.AsyncClient
) -> None:
    tenant = await api.tenant(hl.client)
    await sign_in(browser, ADMIN_KEY)
    for data in ({}, {"csrf": "forged"}):
        answer = await browser.post(CHECKS, params={"fragment": "1"}, data=data)
        assert answer.status_code == 403
    link = api.ok_object(
        await hl.client.post(f"/api/v1/tenants/{tenant['id']}/portal", json={"read_only": True})
    )
    async with httpx.AsyncClient(base_url=hl.base_url) as portal:
        entry = await portal.get(link["url"])
        held = {"Cookie": entry.headers["set-cookie"].split(";", 1)[0]}
        page = await portal.get("/ui/webhooks", headers=held)
        refused = await portal.post(CHECKS, data={"csrf": csrf_of(page.text)}, headers=held)
    assert refused.status_code == 403
    assert "read-only" in refused.text


async def test_a_masked_url_sent_back_previews_with_its_credentials(sqlite_url: str) -> None:
    """Editing a broker webhook, its URL is shown masked; the preview of the form as it stands
    is of the webhook as it is (its credentials kept), not a refusal of the masked URL."""
    settings = make_settings(sqlite_url, destinations=("http", "https", "redis"))
    async with running(settings) as app, httpx.AsyncClient(base_url=app.base_url) as browser:
        await catalog(app)
        tenant = await api.tenant(app.client)
        url = "redis://:s3cret@127.0.0.1:6379/0?channel=alerts"
        hook = await api.webhook(app.client, tenant["id"], url)
        assert "s3cret" not in hook["url"]
        await sign_in(browser, ADMIN_KEY)
        token = csrf_of((await browser.get(f"/ui/webhooks/{hook['id']}/edit")).text)
        form = {"csrf": token, "webhook_id": hook["id"], "url": hook["url"], "format": "standard"}
        answer = await browser.post(CHECKS, params={"fragment": "1"}, data=form)
    assert "preview-errors" not in answer.text
    payload = json.loads(block(answer.text, "preview-body"))
    assert payload["data"] == {"amount": 150}
    assert "s3cret" not in answer.text


async def test_a_url_the_key_may_not_use_is_said_where_the_preview_would_be(
    sqlite_url: str,
) -> None:
    settings = make_settings(sqlite_url, destinations=("http", "https", "redis"))
    async with running(settings) as app, httpx.AsyncClient(base_url=app.base_url) as browser:
        await catalog(app)
        tenant = await api.tenant(app.client)
        key = api.ok_object(await app.client.post(f"/api/v1/tenants/{tenant['id']}/keys"), 201)
        await sign_in(browser, key["key"])
        token = csrf_of((await browser.get("/ui/webhooks/new")).text)
        form = {"csrf": token, "url": "redis://127.0.0.1:6379/0?channel=alerts"}
        answer = await browser.post(CHECKS, data=form)
    assert answer.status_code == 200
    assert "admin key" in block(answer.text, "preview-errors")
