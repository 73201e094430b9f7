"""The dashboard's sign-in, sessions, CSRF tokens and security headers, over plain HTTP (the
browser tests in tests/browser drive the same pages in Chromium)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest

from hookline.ui.session import LOGIN_COOKIE, OPERATOR_COOKIE, PORTAL_COOKIE
from tests.support import api
from tests.support.harness import ADMIN_KEY, Running, make_settings, running
from tests.support.receiver import Receiver, Reply

CSRF = re.compile(r'name="csrf" (?:value|content)="([^"]+)"')


@pytest.fixture
async def hl(sqlite_url: str) -> AsyncIterator[Running]:
    settings = make_settings(sqlite_url, portal_origins="https://app.example.com")
    async with running(settings) as app:
        yield app


@pytest.fixture
async def browser(hl: Running) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=hl.base_url) as client:
        yield client


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found is not None, html
    return found.group(1)


async def sign_in(client: httpx.AsyncClient, key: str) -> httpx.Response:
    form = await client.get("/ui/login")
    return await client.post("/ui/login", data={"key": key, "csrf": csrf_of(form.text)})


async def test_signing_in_sets_a_strict_http_only_cookie_and_no_key_in_it(
    browser: httpx.AsyncClient,
) -> None:
    assert (await browser.get("/ui/")).headers["location"] == "/ui/login"
    answer = await sign_in(browser, ADMIN_KEY)
    assert (answer.status_code, answer.headers["location"]) == (303, "/ui/")
    [cookie] = [c for c in answer.headers.get_list("set-cookie") if c.startswith(OPERATOR_COOKIE)]
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "Path=/ui" in cookie
    assert "Secure" not in cookie  # --dev: plain http on loopback
    assert ADMIN_KEY not in cookie
    assert (await browser.get("/ui/")).status_code == 200


@pytest.mark.parametrize("key", ["", "nope", "hl_" + "x" * 43, ADMIN_KEY + "x"])
async def test_a_bad_key_is_refused_and_says_what_to_paste(
    browser: httpx.AsyncClient, key: str
) -> None:
    answer = await sign_in(browser, key)
    assert answer.status_code == 401
    assert "unknown, revoked or expired" in answer.text
    assert OPERATOR_COOKIE not in answer.headers.get("set-cookie", "")


async def test_the_sign_in_form_needs_its_own_token(browser: httpx.AsyncClient) -> None:
    await browser.get("/ui/login")
    assert browser.cookies.get(LOGIN_COOKIE)
    answer = await browser.post("/ui/login", data={"key": ADMIN_KEY})
    assert answer.status_code == 403
    forged = await browser.post("/ui/login", data={"key": ADMIN_KEY, "csrf": "forged"})
    assert forged.status_code == 403
    assert OPERATOR_COOKIE not in forged.headers.get("set-cookie", "")


async def test_a_form_post_without_its_token_changes_nothing(
    hl: Running, browser: httpx.AsyncClient, receiver: Receiver
) -> None:
    tenant = await api.tenant(hl.client)
    await sign_in(browser, ADMIN_KEY)
    page = await browser.get("/ui/webhooks/new")
    good = csrf_of(page.text)
    form = {"tenant_id": tenant["id"], "url": receiver.url("/in")}
    for token in (None, "", "forged", good[:-1]):
        data = form if token is None else {**form, "csrf": token}
        answer = await browser.post("/ui/webhooks/new", data=data)
        assert answer.status_code == 403, token
        assert "security token" in answer.text
    assert (await hl.client.get("/api/v1/webhooks")).json()["data"] == []
    created = await browser.post("/ui/webhooks/new", data={**form, "csrf": good})
    assert created.status_code == 200
    assert len((await hl.client.get("/api/v1/webhooks")).json()["data"]) == 1


async def test_an_edit_without_its_token_or_of_another_tenant_changes_nothing(
    hl: Running, browser: httpx.AsyncClient, receiver: Receiver
) -> None:
    acme, globex = await api.tenant(hl.client, "acme"), await api.tenant(hl.client, "globex")
    mine = await api.webhook(hl.client, acme["id"], receiver.url("/acme"), name="acme")
    theirs = await api.webhook(hl.client, globex["id"], receiver.url("/globex"), name="globex")
    key = api.ok_object(await hl.client.post(f"/api/v1/tenants/{acme['id']}/keys"), 201)
    await sign_in(browser, key["key"])
    page = await browser.get(f"/ui/webhooks/{mine['id']}/edit")
    assert page.status_code == 200
    good = csrf_of(page.text)
    form = {"url": receiver.url("/elsewhere"), "name": "renamed"}
    for token in (None, "forged"):
        data = form if token is None else {**form, "csrf": token}
        answer = await browser.post(f"/ui/webhooks/{mine['id']}/edit", data=data)
        assert answer.status_code == 403, token
    # Another tenant's webhook does not exist for this session, to look at or to change.
    assert (await browser.get(f"/ui/webhooks/{theirs['id']}/edit")).status_code == 404
    other = await browser.post(f"/ui/webhooks/{theirs['id']}/edit", data={**form, "csrf": good})
    assert other.status_code == 404
    for hook in (mine, theirs):
        now = api.ok_object(await hl.client.get(f"/api/v1/webhooks/{hook['id']}"))
        assert (now["url"], now["name"], now["is_active"]) == (hook["url"], hook["name"], True)
    saved = await browser.post(f"/ui/webhooks/{mine['id']}/edit", data={**form, "csrf": good})
    assert saved.status_code == 303
    assert saved.headers["location"] == f"/ui/webhooks/{mine['id']}"
    now = api.ok_object(await hl.client.get(f"/api/v1/webhooks/{mine['id']}"))
    assert (now["url"], now["name"], now["is_active"]) == (
        receiver.url("/elsewhere"),
        "renamed",
        False,
    )


async def test_a_recovery_without_its_token_queues_nothing(
    hl: Running, browser: httpx.AsyncClient, receiver: Receiver
) -> None:
    receiver.script("/in", *[Reply(500)] * 4, Reply(200))
    tenant = await api.tenant(hl.client)
    hook = await api.webhook(hl.client, tenant["id"], receiver.url("/in"))
    await api.event_type(hl.client, "order.filled")
    sent = await api.send(hl.client, "order.filled", {"n": 1}, tenant["id"])
    assert [d["status"] for d in await api.settled(hl.client, sent["id"])] == ["failed"]
    await sign_in(browser, ADMIN_KEY)
    page = await browser.get(f"/ui/webhooks/{hook['id']}")
    for token in (None, "forged"):
        data = {"since": "1h"} if token is None else {"since": "1h", "csrf": token}
        answer = await browser.post(f"/ui/webhooks/{hook['id']}/recover", data=data)
        assert answer.status_code == 403, token
    assert [d["status"] for d in await api.deliveries(hl.client, sent["id"])] == ["failed"]
    recovered = await browser.post(
        f"/ui/webhooks/{hook['id']}/recover", data={"since": "1h", "csrf": csrf_of(page.text)}
    )
    assert recovered.status_code == 200
    assert [d["status"] for d in await api.settled(hl.client, sent["id"])] == ["succeeded"]


async def test_every_page_carries_a_strict_content_security_policy(
    hl: Running, browser: httpx.AsyncClient
) -> None:
    await sign_in(browser, ADMIN_KEY)
    for path in ("/ui/login", "/ui/", "/ui/webhooks", "/ui/webhooks/new", "/ui/webhooks/wh_x"):
        answer = await browser.get(path)
        policy = answer.headers["content-security-policy"]
        directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
        assert directives["script-src"] == "'self'", path
        assert directives["frame-ancestors"] == "'none'", path
        assert "*" not in policy
        assert "unsafe-inline" not in policy
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert "<script>" not in answer.text  # no inline script: scripts come from /ui/static


async def test_a_session_ends_when_idle_signed_out_or_its_key_revoked(
    hl: Running, browser: httpx.AsyncClient
) -> None:
    await sign_in(browser, ADMIN_KEY)
    hl.advance(7 * 3600)
    assert (await browser.get("/ui/")).status_code == 200  # renews: the timeout slides
    hl.advance(7 * 3600)
    assert (await browser.get("/ui/")).status_code == 200
    hl.advance(8 * 3600 + 1)
    assert (await browser.get("/ui/")).headers["location"] == "/ui/login"

    await sign_in(browser, ADMIN_KEY)
    page = await browser.get("/ui/")
    out = await browser.post("/ui/logout", data={"csrf": csrf_of(page.text)})
    assert out.headers["location"] == "/ui/login"
    assert (await browser.get("/ui/")).headers["location"] == "/ui/login"

    tenant = await api.tenant(hl.client)
    key = api.ok_object(await hl.client.post(f"/api/v1/tenants/{tenant['id']}/keys"), 201)
    await sign_in(browser, key["key"])
    assert (await browser.get("/ui/webhooks")).status_code == 200
    await hl.client.delete(f"/api/v1/tenants/{tenant['id']}/keys/{key['id']}")
    assert (await browser.get("/ui/webhooks")).headers["location"] == "/ui/login"


async def test_a_portal_session_may_be_framed_by_the_allowed_origins_only(
    hl: Running, browser: httpx.AsyncClient
) -> None:
    tenant = await api.tenant(hl.client)
    link = api.ok_object(
        await hl.client.post(f"/api/v1/tenants/{tenant['id']}/portal", json={"read_only": True})
    )
    entry = await browser.get(link["url"])
    assert (entry.status_code, entry.headers["location"]) == (303, "/ui/")
    [cookie] = [c for c in entry.headers.get_list("set-cookie") if c.startswith(PORTAL_COOKIE)]
    for attribute in ("HttpOnly", "Secure", "SameSite=none", "Partitioned"):
        assert attribute in cookie
    # httpx sends a Secure cookie over https only: send it by hand here (Chromium treats
    # loopback as secure, see tests/browser).
    held = {"Cookie": cookie.split(";", 1)[0]}
    page = await browser.get("/ui/webhooks", headers=held)
    assert page.status_code == 200
    policy = page.headers["content-security-policy"]
    assert "frame-ancestors https://app.example.com" in policy
    assert "x-frame-options" not in page.headers
    assert "New webhook" not in page.text  # read-only
    refused = await browser.post(
        "/ui/webhooks/new", data={"csrf": csrf_of(page.text)}, headers=held
    )
    assert refused.status_code == 403
    assert "read-only" in refused.text


async def test_the_webhook_list_searches_and_filters_every_webhook(
    hl: Running, browser: httpx.AsyncClient, receiver: Receiver
) -> None:
    tenant = await api.tenant(hl.client)
    made = {
        name: await api.webhook(hl.client, tenant["id"], receiver.url(f"/{name}"), name=name)
        for name in ("alpha", "beta", "gamma")
    }
    await hl.client.patch(f"/api/v1/webhooks/{made['gamma']['id']}", json={"is_active": False})
    await sign_in(browser, ADMIN_KEY)

    async def listed(**params: str) -> set[str]:
        page = await browser.get("/ui/webhooks", params=params)
        assert page.status_code == 200
        return {name for name in made if f">{name}</a>" in page.text}

    assert await listed() == {"alpha", "beta", "gamma"}
    assert await listed(q="ALP") == {"alpha"}
    assert await listed(q="/beta") == {"beta"}  # in the URL
    assert await listed(q=made["gamma"]["id"]) == {"gamma"}
    assert await listed(status="disabled") == {"gamma"}
    assert await listed(status="active") == {"alpha", "beta"}
    assert await listed(q="a", status="active") == {"alpha", "beta"}
    assert await listed(q="nothing-like-it") == set()


async def test_a_tenant_sees_its_own_events_and_no_tenants_page(
    hl: Running, browser: httpx.AsyncClient, receiver: Receiver
) -> None:
    await api.event_type(hl.client, "order.filled")
    acme, globex = await api.tenant(hl.client, "Acme"), await api.tenant(hl.client, "Globex")
    for tenant in (acme, globex):
        await api.webhook(hl.client, tenant["id"], receiver.url("/in"))
    own = await api.send(hl.client, "order.filled", {"n": 1}, acme["id"])
    other = await api.send(hl.client, "order.filled", {"n": 2}, globex["id"])
    key = api.ok_object(await hl.client.post(f"/api/v1/tenants/{acme['id']}/keys"), 201)
    await sign_in(browser, key["key"])

    listed = await browser.get("/ui/events")
    assert own["id"] in listed.text
    assert other["id"] not in listed.text
    assert (await browser.get(f"/ui/events/{own['id']}")).status_code == 200
    assert (await browser.get(f"/ui/events/{other['id']}")).status_code == 404
    assert (await browser.get("/ui/tenants")).status_code == 404
    assert ">Tenants</a>" not in listed.text
    forged = await browser.post(
        f"/ui/tenants/{acme['id']}/portal", data={"csrf": csrf_of(listed.text)}
    )
    assert forged.status_code == 404  # a tenant makes no links here


async def test_the_overview_lists_the_sessions_own_troubled_webhooks(
    hl: Running, browser: httpx.AsyncClient, receiver: Receiver
) -> None:
    """Failing and disabled webhooks are read for the session's tenant, and the queue, which
    is the installation's, is an admin's only."""
    hooks = {}
    for name in ("acme", "globex"):
        tenant = await api.tenant(hl.client, name)
        hooks[name] = (
            tenant,
            await api.webhook(
                hl.client, tenant["id"], receiver.url(f"/{name}"), name=f"{name}-off"
            ),
        )
        answer = await hl.client.patch(
            f"/api/v1/webhooks/{hooks[name][1]['id']}", json={"is_active": False}
        )
        api.ok_object(answer)
    key = api.ok_object(await hl.client.post(f"/api/v1/tenants/{hooks['acme'][0]['id']}/keys"), 201)
    await sign_in(browser, key["key"])
    mine = (await browser.get("/ui/")).text
    assert "Disabled webhooks (1)" in mine
    assert "acme-off" in mine
    assert "globex-off" not in mine
    assert "Queue: due" not in mine
    async with httpx.AsyncClient(base_url=hl.base_url) as admin:
        await sign_in(admin, ADMIN_KEY)
        every = (await admin.get("/ui/")).text
    assert "Disabled webhooks (2)" in every
    assert "Queue: due" in every


async def test_a_lists_pages_keep_its_filters(
    hl: Running, browser: httpx.AsyncClient, receiver: Receiver
) -> None:
    """The pager's links carry the list's filters: page 2 of a search is page 2 of the same
    search."""
    tenant = await api.tenant(hl.client)
    await api.event_type(hl.client, "order.filled")
    await api.event_type(hl.client, "price.above")
    for n in range(51):
        await api.send(hl.client, "order.filled", {"n": n}, tenant["id"])
    await api.send(hl.client, "price.above", {"n": 0}, tenant["id"])
    for n in range(52):
        await api.webhook(hl.client, tenant["id"], receiver.url(f"/{n}"), name=f"hook-{n}")
    await api.webhook(hl.client, tenant["id"], receiver.url("/other"), name="other")
    await sign_in(browser, ADMIN_KEY)
    for path, params, said, rows in (
        ("/ui/events", {"event_type": "order.filled"}, "(51 events)", 1),
        ("/ui/webhooks", {"q": "hook-", "status": "active"}, "(52 webhooks)", 2),
    ):
        first = await browser.get(path, params=params)
        assert f"Page 1 of 2 {said}" in first.text
        found = re.search(r'<a href="\?([^"]+)">Next</a>', first.text)
        assert found is not None
        second = await browser.get(f"{path}?{found.group(1).replace('&amp;', '&')}")
        assert f"Page 2 of 2 {said}" in second.text
        assert second.text.count("<tr") - 1 == rows  # the header row, then the rest
