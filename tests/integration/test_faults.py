"""The fault suite: receivers that misbehave in every way we know, and the SSRF guard."""

from __future__ import annotations

import asyncio
import gzip
import socket
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

import pytest
from aiohttp import web

from hookline import HooklineAPIError
from hookline.models import Attempt, Delivery
from hookline.ssrf import IPAddress, NetworkPolicy, blocked_reason, parse_ip_literal
from tests.support.flow import settled, webhook_for
from tests.support.harness import Running, make_settings, running
from tests.support.receiver import Custom, Receiver, Reply
from tests.support.tls import self_signed_context


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def resolved(address: str) -> IPAddress:
    """An address as the resolver gave it: always a literal."""
    literal = parse_ip_literal(address)
    assert literal is not None, address
    return literal


async def first_attempt(
    hookline: Running, receiver: Receiver, path: str
) -> tuple[Delivery, Attempt]:
    tenant, _ = await webhook_for(hookline.api, receiver, path)
    sent = await hookline.api.events.send("order.filled", {"n": 1}, tenant_id=tenant.id)
    [delivery] = await settled(hookline.api, sent.id)
    attempts = (await hookline.api.deliveries.attempts(delivery.id)).data
    return delivery, sorted(attempts, key=lambda a: a.number)[0]


async def test_a_huge_body_is_read_only_up_to_the_cap(
    hookline: Running, receiver: Receiver
) -> None:
    written = 0

    async def gigabyte(request: web.Request) -> web.StreamResponse:
        nonlocal written
        response = web.StreamResponse(headers={"Content-Length": str(1 << 30)})
        await response.prepare(request)
        chunk = b"x" * (1 << 20)
        try:
            for _ in range(1024):
                await response.write(chunk)
                written += len(chunk)
        except (ConnectionError, RuntimeError):
            pass  # hookline hung up, as it should
        return response

    receiver.script("/huge", Custom(gigabyte))
    before = rss_mb()
    delivery, attempt = await first_attempt(hookline, receiver, "/huge")
    assert delivery.status == "succeeded"  # a 200 is a 200, whatever follows it
    assert len(attempt.response_body) == 20_000
    assert written < 200 * (1 << 20)  # far from the whole gigabyte was pulled
    assert rss_mb() - before < 100


async def test_an_endless_stream_does_not_hold_a_delivery(
    hookline: Running, receiver: Receiver
) -> None:
    async def forever(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        try:
            while True:
                await response.write(b"y" * 1024)
                await asyncio.sleep(0.005)
        except (ConnectionError, RuntimeError):
            return response

    receiver.script("/forever", Custom(forever))
    delivery, attempt = await first_attempt(hookline, receiver, "/forever")
    assert delivery.status == "succeeded"
    assert len(attempt.response_body) == 20_000


async def test_a_trickle_cannot_hold_a_connection_past_the_timeout(
    hookline: Running, receiver: Receiver
) -> None:
    async def trickle(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        try:
            while True:
                await response.write(b".")
                await asyncio.sleep(0.2)
        except (ConnectionError, RuntimeError):
            return response

    receiver.script("/trickle", Custom(trickle), Reply(200))
    _, attempt = await first_attempt(hookline, receiver, "/trickle")
    assert attempt.error == "timeout: no complete response within 2 s"
    assert 1900 <= attempt.latency_ms < 3000


async def test_a_gzip_bomb_stays_small(hookline: Running, receiver: Receiver) -> None:
    bomb = gzip.compress(bytes(200 * (1 << 20)), compresslevel=9)  # 200 MB of zeros, ~200 KB

    async def explode(request: web.Request) -> web.StreamResponse:
        return web.Response(body=bomb, headers={"Content-Encoding": "gzip"})

    receiver.script("/bomb", Custom(explode))
    before = rss_mb()
    delivery, attempt = await first_attempt(hookline, receiver, "/bomb")
    assert delivery.status == "succeeded"
    assert len(attempt.response_body) <= 20_000
    assert attempt.response_body.startswith("\x1f")  # stored as sent: never inflated
    assert rss_mb() - before < 100
    [request] = receiver.at("/bomb")
    assert request.headers["Accept-Encoding"] == "identity"


async def test_oversized_response_headers_are_refused(
    hookline: Running, receiver: Receiver
) -> None:
    receiver.script("/headers", Reply(200, headers={"X-Big": "a" * 100_000}), Reply(200))
    delivery, attempt = await first_attempt(hookline, receiver, "/headers")
    assert attempt.status_code is None
    assert attempt.error is not None
    assert attempt.error.startswith("invalid HTTP response")
    assert delivery.status == "succeeded"  # the next attempt got a sane answer


async def test_retry_after_as_an_http_date(hookline: Running, receiver: Receiver) -> None:
    due = int(time.time()) + 3
    when = format_datetime(datetime.fromtimestamp(due, UTC), usegmt=True)
    receiver.script("/busy", Reply(503, headers={"Retry-After": when}), Reply(200))
    tenant, _ = await webhook_for(hookline.api, receiver, "/busy")
    await hookline.api.events.send("order.filled", {}, tenant_id=tenant.id)
    first, second = await receiver.wait_for(2, "/busy", timeout=10)
    assert first.at < due - 0.5, "the first attempt came too late for this test to tell"
    assert second.at >= due - 0.05  # not before the date the receiver asked for


async def test_garbage_retry_after_falls_back_to_the_schedule(
    hookline: Running, receiver: Receiver
) -> None:
    receiver.script("/busy", Reply(429, headers={"Retry-After": "whenever"}), Reply(200))
    tenant, _ = await webhook_for(hookline.api, receiver, "/busy")
    await hookline.api.events.send("order.filled", {}, tenant_id=tenant.id)
    first, second = await receiver.wait_for(2, "/busy")
    assert 0.15 <= second.at - first.at < 1.0  # the 0.2 s schedule, jittered


async def test_a_redirect_to_an_internal_address_is_not_followed(
    hookline: Running, receiver: Receiver
) -> None:
    metadata = "http://169.254.169.254/latest/meta-data/"
    receiver.script("/moved", Reply(301, headers={"Location": metadata}))
    _, attempt = await first_attempt(hookline, receiver, "/moved")
    assert attempt.status_code == 301
    assert attempt.error is not None
    assert "redirects are not followed" in attempt.error
    assert len(receiver.at("/moved")) == 4  # retried, never followed


@pytest.fixture
async def tls_receiver(tmp_path: Path) -> AsyncIterator[Receiver]:
    server = Receiver(ssl_context=self_signed_context(tmp_path))
    await server.start()
    yield server
    await server.stop()


async def test_a_self_signed_certificate_is_rejected(
    hookline: Running, tls_receiver: Receiver
) -> None:
    _, attempt = await first_attempt(hookline, tls_receiver, "/tls")
    assert attempt.status_code is None
    assert attempt.error is not None
    assert attempt.error.startswith("TLS certificate rejected")
    assert tls_receiver.at("/tls") == []


async def test_proxy_variables_do_not_route_around_the_guard(
    database_url: str, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy = Receiver()
    await proxy.start()
    try:
        async with running(make_settings(database_url)) as app:
            # Set after the test's own clients were made (httpx reads them then); a client that
            # honoured them per request, as aiohttp would with trust_env, would be caught.
            for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
                monkeypatch.setenv(name, proxy.url(""))
            tenant, _ = await webhook_for(app.api, receiver, "/direct")
            sent = await app.api.events.send("order.filled", {}, tenant_id=tenant.id)
            await settled(app.api, sent.id)
        assert len(receiver.at("/direct")) == 1
        assert proxy.requests == []
    finally:
        await proxy.stop()


# --- the SSRF guard, with the network policy of a real installation (not --dev) -------------


@pytest.fixture
async def guarded(database_url: str) -> AsyncIterator[Running]:
    async with running(make_settings(database_url, dev=False, allow_http=True)) as app:
        yield app


async def test_private_targets_are_refused_when_saved(guarded: Running, receiver: Receiver) -> None:
    tenant = await guarded.api.tenants.create("Acme")
    for url in (
        receiver.url("/x"),
        f"http://2130706433:{receiver.port}/x",
        f"http://[::ffff:127.0.0.1]:{receiver.port}/x",
        "http://169.254.169.254/latest/meta-data",
        f"http://localhost:{receiver.port}/x",
        f"http://user:pw@example.com:{receiver.port}/x",
    ):
        with pytest.raises(HooklineAPIError) as refused:
            await guarded.api.webhooks.create(url=url, tenant_id=tenant.id)
        assert refused.value.status == 422, url


async def test_a_name_that_resolves_to_a_private_address_is_blocked_at_delivery(
    guarded: Running, receiver: Receiver
) -> None:
    host = socket.gethostname()
    try:
        addresses = {str(info[4][0]) for info in socket.getaddrinfo(host, None)}
    except socket.gaierror:
        pytest.skip(f"this machine's name {host!r} does not resolve")
    if all(blocked_reason(resolved(a), NetworkPolicy()) is None for a in addresses):
        pytest.skip(f"{host!r} resolves to public addresses here: {addresses}")
    tenant = await guarded.api.tenants.create("Acme")
    await guarded.api.event_types.create("order.filled")
    await guarded.api.webhooks.create(url=receiver.url("/x", host=host), tenant_id=tenant.id)
    sent = await guarded.api.events.send("order.filled", {}, tenant_id=tenant.id)
    [delivery] = await settled(guarded.api, sent.id)
    attempt = (await guarded.api.deliveries.attempts(delivery.id)).data[0]
    assert attempt.error is not None
    assert attempt.error.startswith(f"blocked by the SSRF guard: {host} resolves to ")
    assert "not a public internet address" in attempt.error
    assert attempt.status_code is None
    assert receiver.requests == []  # never sent


async def test_allowed_networks_open_a_private_range_on_purpose(
    database_url: str, receiver: Receiver
) -> None:
    settings = make_settings(
        database_url, dev=False, allow_http=True, allowed_networks=("127.0.0.0/8",)
    )
    async with running(settings) as app:
        tenant, _ = await webhook_for(app.api, receiver, "/ops")
        sent = await app.api.events.send("order.filled", {}, tenant_id=tenant.id)
        [delivery] = await settled(app.api, sent.id)
    assert delivery.status == "succeeded"


async def test_plain_http_needs_dev_or_allow_http(database_url: str) -> None:
    settings = make_settings(database_url, dev=False, allowed_networks=("127.0.0.0/8",))
    async with running(settings) as app:
        tenant = await app.api.tenants.create("Acme")
        with pytest.raises(HooklineAPIError, match="must use https://"):
            await app.api.webhooks.create(url="http://127.0.0.1:9/x", tenant_id=tenant.id)


async def test_a_name_is_delivered_to_its_checked_address_with_its_host_kept(
    database_url: str, receiver: Receiver
) -> None:
    host = socket.gethostname()
    try:
        addresses = {str(info[4][0]) for info in socket.getaddrinfo(host, None)}
    except socket.gaierror:
        pytest.skip(f"this machine's name {host!r} does not resolve")
    if not addresses <= {"127.0.0.1", "::1"} and not any(a.startswith("127.") for a in addresses):
        pytest.skip(f"{host!r} does not resolve to loopback here: {addresses}")
    settings = make_settings(
        database_url, dev=False, allow_http=True, allowed_networks=("127.0.0.0/8", "::1/128")
    )
    async with running(settings) as app:
        tenant = await app.api.tenants.create("Acme")
        await app.api.event_types.create("order.filled")
        await app.api.webhooks.create(url=receiver.url("/named", host=host), tenant_id=tenant.id)
        sent = await app.api.events.send("order.filled", {}, tenant_id=tenant.id)
        [delivery] = await settled(app.api, sent.id)
    assert delivery.status == "succeeded"
    [request] = receiver.at("/named")
    assert request.headers["Host"] == f"{host}:{receiver.port}"
