"""The dashboard in a real browser: sign in with each kind of key (and be refused with a bad
one), create a webhook through the form, watch a delivery appear, retry a failed one, send a
test, rotate a secret, stay within one tenant, and use portal links."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
import standardwebhooks
from playwright.async_api import Page, expect

from tests.support import api
from tests.support.harness import ADMIN_KEY, Running, make_settings, running
from tests.support.receiver import Receiver, Reply

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest_asyncio.fixture(loop_scope="session")
async def hl(sqlite_url: str) -> AsyncIterator[Running]:
    async with running(make_settings(sqlite_url)) as app:
        yield app


async def sign_in(page: Page, hl: Running, key: str) -> None:
    await page.goto(f"{hl.base_url}/ui/")
    await expect(page).to_have_url(f"{hl.base_url}/ui/login")
    await page.get_by_label("API key").fill(key)
    await page.get_by_role("button", name="Sign in").click()


async def tenant_with_webhook(hl: Running, receiver: Receiver, name: str) -> dict[str, str]:
    tenant = await api.tenant(hl.client, name)
    hook = await api.webhook(hl.client, tenant["id"], receiver.url(f"/{name}"), name=f"{name} hook")
    return {"tenant": tenant["id"], "webhook": hook["id"], "secret": hook["secret"]}


async def test_sign_in_with_the_admin_key_after_a_bad_one(page: Page, hl: Running) -> None:
    await sign_in(page, hl, "hl_not-a-key")
    await expect(page.get_by_role("alert")).to_contain_text("unknown, revoked or expired")
    await page.get_by_label("API key").fill(ADMIN_KEY)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    await expect(page.locator(".who")).to_contain_text("Admin")
    await page.get_by_role("button", name="Sign out").click()
    await expect(page).to_have_url(f"{hl.base_url}/ui/login")
    await page.goto(f"{hl.base_url}/ui/webhooks")
    await expect(page).to_have_url(f"{hl.base_url}/ui/login")


async def test_a_tenant_key_sees_its_own_tenant_only(
    page: Page, hl: Running, receiver: Receiver
) -> None:
    acme = await tenant_with_webhook(hl, receiver, "acme")
    globex = await tenant_with_webhook(hl, receiver, "globex")
    key = api.ok_object(await hl.client.post(f"/api/v1/tenants/{acme['tenant']}/keys"), 201)
    await sign_in(page, hl, key["key"])
    await expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    await page.get_by_role("link", name="Webhooks").click()
    rows = page.locator("#webhooks tbody tr")
    await expect(rows).to_have_count(1)
    await expect(rows).to_contain_text("acme hook")
    answer = await page.goto(f"{hl.base_url}/ui/webhooks/{globex['webhook']}")
    assert answer is not None
    assert answer.status == 404
    await expect(page.get_by_role("alert")).to_contain_text("does not exist")


async def test_create_a_webhook_through_the_form(
    page: Page, hl: Running, receiver: Receiver
) -> None:
    tenant = await api.tenant(hl.client, "Acme")
    await api.event_type(hl.client, "order.filled")
    await api.event_type(hl.client, "price.above")
    await sign_in(page, hl, ADMIN_KEY)
    await page.get_by_role("link", name="Webhooks").click()
    await page.get_by_role("link", name="New webhook").click()
    await page.get_by_label("Tenant").select_option(tenant["id"])
    await page.get_by_label("URL").fill(receiver.url("/fills"))
    await page.get_by_label("Name").fill("fills")
    await page.get_by_label("Event types").select_option(["order.filled"])
    await page.get_by_role("button", name="Create webhook").click()

    secret = (await page.locator("#secret").inner_text()).strip()
    assert secret.startswith("whsec_")
    [hook] = (await hl.client.get("/api/v1/webhooks")).json()["data"]
    assert (hook["url"], hook["name"], hook["event_types"]) == (
        receiver.url("/fills"),
        "fills",
        ["order.filled"],
    )
    assert await hl.node.service.webhooks.has_secret(hook["id"], secret)

    # A mistake comes back on the form, saying what to fix, with what was typed kept.
    await page.goto(f"{hl.base_url}/ui/webhooks/new")
    await page.get_by_label("URL").fill("ftp://example.com/in")
    await page.get_by_role("button", name="Create webhook").click()
    await expect(page.locator("#form-errors")).to_contain_text("url")
    await expect(page.get_by_label("URL")).to_have_value("ftp://example.com/in")
    assert len((await hl.client.get("/api/v1/webhooks")).json()["data"]) == 1


async def test_edit_a_webhook_through_the_form(page: Page, hl: Running, receiver: Receiver) -> None:
    acme = await tenant_with_webhook(hl, receiver, "acme")
    await api.event_type(hl.client, "order.filled")
    await api.event_type(hl.client, "price.above")
    await sign_in(page, hl, ADMIN_KEY)
    await page.goto(f"{hl.base_url}/ui/webhooks/{acme['webhook']}")
    await page.get_by_role("link", name="Edit").click()
    await expect(page.get_by_label("Name")).to_have_value("acme hook")
    await expect(page.get_by_label("Active")).to_be_checked()

    # A filter that is not JSON comes back on the form, saying so, with what was typed kept.
    await page.get_by_label("Payload filter").fill("{data.n: 1}")
    await page.get_by_role("button", name="Save webhook").click()
    await expect(page.locator("#form-errors")).to_contain_text("filter is not JSON")
    await expect(page.get_by_label("Payload filter")).to_have_value("{data.n: 1}")

    await page.get_by_label("Name").fill("acme orders")
    await page.get_by_label("Event types").select_option(["order.filled"])
    await page.get_by_label("Payload filter").fill('{"data.n": {"$gte": 2}}')
    await page.get_by_label("Format", exact=True).select_option("data")
    await page.get_by_label("Custom headers").fill("X-Team: payments")
    await page.get_by_label("Rate limit").fill("30")
    await page.get_by_label("Active").uncheck()
    await page.get_by_role("button", name="Save webhook").click()

    await expect(page).to_have_url(f"{hl.base_url}/ui/webhooks/{acme['webhook']}")
    await expect(page.get_by_role("heading", name="acme orders")).to_be_visible()
    hook = api.ok_object(await hl.client.get(f"/api/v1/webhooks/{acme['webhook']}"))
    assert {k: hook[k] for k in ("name", "event_types", "filter", "format", "headers")} == {
        "name": "acme orders",
        "event_types": ["order.filled"],
        "filter": {"data.n": {"$gte": 2}},
        "format": "data",
        "headers": {"X-Team": "payments"},
    }
    assert (hook["rate_limit_per_minute"], hook["is_active"]) == (30, False)


async def test_the_form_checks_the_filter_and_previews_as_you_type(
    page: Page, hl: Running, receiver: Receiver
) -> None:
    """The filter is tried on recent events and the request is previewed while typing; the
    scheme, template and batching chosen are what is saved."""
    acme = await tenant_with_webhook(hl, receiver, "acme")
    answer = await hl.client.post(
        "/api/v1/event-types", json={"name": "order.filled", "examples": [{"amount": 150}]}
    )
    api.ok_object(answer, 201)
    for amount in (50, 150, 500):
        await api.send(hl.client, "order.filled", {"amount": amount}, acme["tenant"])
    await sign_in(page, hl, ADMIN_KEY)
    await page.goto(f"{hl.base_url}/ui/webhooks/{acme['webhook']}/edit")
    form = page.locator("form[data-checks]")

    async def typed(field: str, text: str) -> None:
        """Type into a field and wait for the checks that follow."""
        before = await form.get_attribute("data-checked") or "0"
        await page.get_by_label(field, exact=True).fill(text)
        await expect(form).not_to_have_attribute("data-checked", before)

    await page.get_by_label("Event types").select_option(["order.filled"])
    await typed("Payload filter", '{"data.amount": {"$gte": 100}}')
    await expect(page.locator("#filter-summary")).to_have_text(
        "2 of the last 3 events would be sent."
    )
    await expect(page.locator("#filter-trials li[data-matched=yes]")).to_have_count(2)
    await typed("Payload filter", '{"data.amount": {"$between": 1}}')
    await expect(page.locator("#filter-error")).to_contain_text("$between")

    # The template field shows for the template format only.
    await expect(page.get_by_label("Template", exact=True)).to_be_hidden()
    await page.get_by_label("Format", exact=True).select_option("template")
    await expect(page.get_by_label("Template", exact=True)).to_be_visible()
    await typed("Template", '{"amount": {{ data.amount }}, "kind": "{{ event.type }}"}')
    await expect(page.locator("#preview-body")).to_have_text(
        '{"amount":150,"kind":"order.filled"}'  # compact, as every body is sent
    )
    await page.get_by_label("Signature scheme").select_option("github")
    await expect(page.locator("#preview-headers")).to_contain_text("X-Hub-Signature-256: sha256=")

    # What the preview shows verifies as GitHub's receivers check it, with the webhook's secret.
    headers = dict(
        line.split(": ", 1)
        for line in (await page.locator("#preview-headers").inner_text()).splitlines()
        if line
    )
    body = (await page.locator("#preview-body").inner_text()).encode()
    expected = hmac.new(acme["secret"].encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Hub-Signature-256"], "sha256=" + expected)

    await page.get_by_label("Payload filter").fill('{"data.amount": {"$gte": 100}}')
    await page.get_by_label("Events a batch").fill("10")
    await page.get_by_label("Longest wait (ms)").fill("250")
    await page.get_by_role("button", name="Save webhook").click()
    await expect(page).to_have_url(f"{hl.base_url}/ui/webhooks/{acme['webhook']}")
    hook = api.ok_object(await hl.client.get(f"/api/v1/webhooks/{acme['webhook']}"))
    assert (hook["format"], hook["batch"], hook["signature"]["header"]) == (
        "template",
        {"max_events": 10, "max_wait_ms": 250},
        "X-Hub-Signature-256",
    )
    assert await hl.node.service.webhooks.has_secret(acme["webhook"], acme["secret"])


async def test_watch_a_delivery_fail_then_retry_it(
    page: Page, hl: Running, receiver: Receiver
) -> None:
    receiver.script("/acme", *[Reply(500)] * 4, Reply(200))
    acme = await tenant_with_webhook(hl, receiver, "acme")
    await api.event_type(hl.client, "order.filled")
    await sign_in(page, hl, ADMIN_KEY)
    await page.goto(f"{hl.base_url}/ui/webhooks/{acme['webhook']}")
    await expect(page.locator("#deliveries tbody")).to_contain_text("No deliveries")

    sent = await api.send(hl.client, "order.filled", {"order": 7}, acme["tenant"])
    [delivery] = await api.settled(hl.client, sent["id"])
    assert delivery["status"] == "failed"  # four attempts on the test schedule
    await page.reload()
    row = page.locator("#deliveries tbody tr", has_text=delivery["id"])
    await expect(row).to_contain_text("failed")
    await row.get_by_role("button", name="Retry").click()

    await expect(page).to_have_url(f"{hl.base_url}/ui/deliveries/{delivery['id']}")
    for _ in range(100):  # the retry goes now; reload until its attempt is recorded
        if (await page.locator("#delivery-status").inner_text()) == "succeeded":
            break
        await page.wait_for_timeout(100)
        await page.reload()
    await expect(page.locator("#delivery-status")).to_have_text("succeeded")
    await expect(page.locator("#attempts > li")).to_have_count(5)
    await expect(page.locator("#attempts > li").first).to_contain_text("manual")


async def test_recover_the_failed_deliveries_of_the_last_hour(
    page: Page, hl: Running, receiver: Receiver
) -> None:
    receiver.script("/acme", *[Reply(500)] * 4, Reply(200))  # four attempts on the test schedule
    acme = await tenant_with_webhook(hl, receiver, "acme")
    await api.event_type(hl.client, "order.filled")
    sent = await api.send(hl.client, "order.filled", {"n": 1}, acme["tenant"])
    [delivery] = await api.settled(hl.client, sent["id"])
    assert delivery["status"] == "failed"
    await sign_in(page, hl, ADMIN_KEY)
    await page.goto(f"{hl.base_url}/ui/webhooks/{acme['webhook']}")

    await page.get_by_label("Recover failed since").fill("yesterday")
    await page.get_by_role("button", name="Recover").click()
    await expect(page.get_by_role("alert")).to_contain_text("how far back")
    await page.go_back()
    await page.get_by_label("Recover failed since").fill("1h")
    await page.get_by_role("button", name="Recover").click()
    await expect(page.locator("#requeued")).to_have_text("1")
    [delivery] = await api.settled(hl.client, sent["id"])
    assert (delivery["status"], delivery["attempt_count"]) == ("succeeded", 5)


async def test_send_a_test_and_rotate_the_secret(
    page: Page, hl: Running, receiver: Receiver
) -> None:
    receiver.script("/acme", Reply(200, body="pong"))
    acme = await tenant_with_webhook(hl, receiver, "acme")
    await sign_in(page, hl, ADMIN_KEY)
    await page.goto(f"{hl.base_url}/ui/webhooks/{acme['webhook']}")
    await page.get_by_role("button", name="Send a test").click()
    result = page.locator("#test-result")
    await expect(result).to_contain_text("success")
    await expect(result).to_contain_text("200")
    await expect(result).to_contain_text("pong")
    [request] = receiver.at("/acme")
    standardwebhooks.Webhook(acme["secret"]).verify(request.body, request.headers)
    assert json.loads(request.body)["type"] == "webhook.test"

    # An example of a type from the catalog, chosen from the ones the webhook takes.
    example = {"order": 7, "price": 101.5}
    answer = await hl.client.post(
        "/api/v1/event-types", json={"name": "order.filled", "examples": [example]}
    )
    api.ok_object(answer, 201)
    await page.goto(f"{hl.base_url}/ui/webhooks/{acme['webhook']}")
    await page.get_by_label("Test event type").select_option("order.filled")
    await page.get_by_role("button", name="Send a test").click()
    await expect(result).to_contain_text("success")
    sent = json.loads(receiver.at("/acme")[1].body)
    assert (sent["type"], sent["data"]) == ("order.filled", example)

    await page.goto(f"{hl.base_url}/ui/webhooks/{acme['webhook']}")
    await page.get_by_role("button", name="Rotate the secret").click()
    secret = (await page.locator("#secret").inner_text()).strip()
    assert secret != acme["secret"]
    assert await hl.node.service.webhooks.has_secret(acme["webhook"], secret)
    await expect(page.locator("#snippet")).to_contain_text(secret)


async def test_the_overview_charts_what_was_delivered(
    page: Page, hl: Running, receiver: Receiver
) -> None:
    acme = await tenant_with_webhook(hl, receiver, "acme")
    await api.event_type(hl.client, "order.filled")
    for n in range(3):
        sent = await api.send(hl.client, "order.filled", {"n": n}, acme["tenant"])
        await api.settled(hl.client, sent["id"])
    await sign_in(page, hl, ADMIN_KEY)
    chart = page.locator("#chart-hour svg")
    await expect(chart).to_have_attribute("aria-label", re.compile(r"3 succeeded and 0 failed"))
    await expect(page.locator("#attempts-24h")).to_have_text("3")


async def test_a_portal_link_signs_into_one_tenant_and_expires(
    page: Page, hl: Running, receiver: Receiver
) -> None:
    acme = await tenant_with_webhook(hl, receiver, "acme")
    globex = await tenant_with_webhook(hl, receiver, "globex")
    link = api.ok_object(
        await hl.client.post(
            f"/api/v1/tenants/{acme['tenant']}/portal", json={"expires_in": 600, "read_only": True}
        )
    )
    await page.goto(link["url"])
    await expect(page).to_have_url(f"{hl.base_url}/ui/")
    await expect(page.locator(".who")).to_contain_text("Read-only portal")
    await page.get_by_role("link", name="Webhooks").click()
    await expect(page.locator("#webhooks tbody tr")).to_have_count(1)
    await expect(page.get_by_role("link", name="New webhook")).to_have_count(0)
    answer = await page.goto(f"{hl.base_url}/ui/webhooks/{globex['webhook']}")
    assert answer is not None
    assert answer.status == 404
    await page.goto(f"{hl.base_url}/ui/webhooks/{acme['webhook']}")
    await expect(page.get_by_role("button", name="Send a test")).to_have_count(0)

    hl.advance(601)  # the session ends with its link, and the link is refused
    await page.goto(f"{hl.base_url}/ui/webhooks")
    await expect(page.get_by_role("heading", name="Signed out")).to_be_visible()
    answer = await page.goto(link["url"])
    assert answer is not None
    assert answer.status == 401
    await expect(page.get_by_role("alert")).to_contain_text("expired")


async def test_events_their_payload_and_deliveries_and_the_catalog(
    page: Page, hl: Running, receiver: Receiver
) -> None:
    acme = await tenant_with_webhook(hl, receiver, "acme")
    await hl.client.post(
        "/api/v1/event-types",
        json={
            "name": "order.filled",
            "schema": {"type": "object", "required": ["order"]},
            "examples": [{"order": 1}],
        },
    )
    sent = await api.send(
        hl.client, "order.filled", {"order": 7, "note": "<b>x</b>"}, acme["tenant"]
    )
    [delivery] = await api.settled(hl.client, sent["id"])
    await sign_in(page, hl, ADMIN_KEY)
    await page.get_by_role("link", name="Events", exact=True).click()
    await page.get_by_role("link", name=sent["id"]).click()
    await expect(page.locator("#payload")).to_contain_text('"note": "<b>x</b>"')  # as text
    row = page.locator("#event-deliveries tbody tr")
    await expect(row).to_have_count(1)
    await expect(row).to_contain_text(delivery["id"])
    await expect(row).to_contain_text("succeeded")

    await page.get_by_role("link", name="Event types").click()
    section = page.locator("#type-order\\.filled")
    await section.get_by_text("Schema").click()
    await expect(section).to_contain_text('"required"')


async def test_the_tenants_page_makes_a_portal_link(
    page: Page, hl: Running, receiver: Receiver
) -> None:
    acme = await tenant_with_webhook(hl, receiver, "acme")
    await sign_in(page, hl, ADMIN_KEY)
    await page.get_by_role("link", name="Tenants").click()
    row = page.locator("#tenants tbody tr", has_text="acme")
    await row.get_by_label("Read-only").check()
    await row.get_by_role("button", name="Make a link").click()
    link = (await page.locator("#portal-link").inner_text()).strip()
    assert link.startswith(f"{hl.base_url}/ui/portal/")

    await page.get_by_role("button", name="Sign out").click()
    await page.goto(link)
    await expect(page.locator(".who")).to_contain_text("Read-only portal")
    await expect(page.get_by_role("link", name="Tenants")).to_have_count(0)
    answer = await page.goto(f"{hl.base_url}/ui/tenants")
    assert answer is not None
    assert answer.status == 404
    await page.goto(f"{hl.base_url}/ui/webhooks/{acme['webhook']}")
    await expect(page.get_by_role("heading", name="acme hook")).to_be_visible()
