"""mailto: webhooks end to end, against a real SMTP relay on loopback (aiosmtpd): the mail a
reader gets (subject, HTML, text, a signature over the text), the relay's answers (250, 4xx
retried, 5xx final, bad credentials, no STARTTLS), a relay that is down, the template with its
subject, the preview, and the 422s of a mailto: webhook that cannot work."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import standardwebhooks

from tests.support import api
from tests.support.harness import Running, free_port, make_settings, running
from tests.support.smtp import SmtpRelay

FILLED = {
    "orderId": "ord_123",
    "symbol": "BTCUSDT",
    "side": "buy",
    "amount": 0.1,
    "price": 45000,
    "exchange": "<binance>",
}
SENDER = "Hookline Alerts <alerts@example.com>"


@pytest.fixture
async def relay() -> AsyncIterator[SmtpRelay]:
    server = SmtpRelay()
    server.start()
    yield server
    server.stop()


def mail_settings(database_url: str, smtp_url: str, **overrides: Any) -> Any:
    return make_settings(database_url, smtp_url=smtp_url, smtp_from=SENDER, **overrides)


async def mail_hook(hl: Running, url: str, **fields: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    tenant = await api.tenant(hl.client)
    body = {"name": "order.filled", "examples": [FILLED]}
    api.ok(await hl.client.post("/api/v1/event-types", json=body), 201)
    hook = await api.webhook(hl.client, tenant["id"], url, event_types=["order.filled"], **fields)
    return tenant, hook


async def test_an_event_is_a_mail_with_subject_html_text_and_a_signature_over_the_text(
    database_url: str, relay: SmtpRelay
) -> None:
    async with running(mail_settings(database_url, relay.url())) as hl:
        tenant, hook = await mail_hook(
            hl,
            "mailto:alice@example.com,bob@example.com",
            headers={"X-Desk": "spot trading"},
        )
        assert (hook["format"], hook["url"]) == (
            "email",
            "mailto:alice@example.com,bob@example.com",
        )
        sent = await api.send(hl.client, "order.filled", FILLED, tenant["id"])

        [mail] = await relay.wait_for(1)
        [delivery] = await api.settled(hl.client, sent["id"])
        [attempt] = await api.attempts(hl.client, delivery["id"])

    assert mail.sender == "alerts@example.com"
    assert mail.recipients == ["alice@example.com", "bob@example.com"]
    assert mail.header("From") == SENDER
    assert mail.header("To") == "alice@example.com, bob@example.com"
    assert mail.header("Subject") == "Order Filled: BTCUSDT"
    assert "<h2>Order Filled Notification</h2>" in mail.html
    assert "<td><strong>Exchange</strong></td><td>&lt;binance&gt;</td>" in mail.html
    assert "\r\nSymbol: BTCUSDT\r\n" in mail.text
    assert "\r\nExchange: <binance>\r\n" in mail.text
    assert mail.header("webhook-id") == sent["id"]
    assert mail.header("x-webhook-event") == "order.filled"
    assert mail.header("X-Desk") == "spot trading"
    headers = {k: mail.header(k) for k in ("webhook-id", "webhook-timestamp", "webhook-signature")}
    standardwebhooks.Webhook(hook["secret"]).verify(mail.text, headers, json_parse=False)
    assert delivery["status"] == "succeeded"
    assert attempt["response_body"].startswith("250 2.0.0 Ok: queued as Q1")
    assert (attempt["status_code"], attempt["error"]) == (None, None)


async def test_a_4xx_from_the_relay_is_retried_then_delivered(
    database_url: str, relay: SmtpRelay
) -> None:
    relay.script("rcpt:alice@example.com", "451 4.3.0 Mailbox busy, try again later")
    async with running(mail_settings(database_url, relay.url())) as hl:
        tenant, _ = await mail_hook(hl, "mailto:alice@example.com")
        sent = await api.send(hl.client, "order.filled", FILLED, tenant["id"])
        [mail] = await relay.wait_for(1)  # the retry schedule is 0.2 s in tests
        [delivery] = await api.settled(hl.client, sent["id"])
        first, second = await api.attempts(hl.client, delivery["id"])

    assert delivery["status"] == "succeeded"
    assert "451 4.3.0 Mailbox busy" in first["error"]
    assert "deferred recipient alice@example.com" in first["error"]
    assert second["error"] is None
    assert second["response_body"].startswith("250")
    assert mail.recipients == ["alice@example.com"]


async def test_a_5xx_for_a_recipient_is_a_final_failure_with_the_relays_words_and_no_mail(
    database_url: str, relay: SmtpRelay
) -> None:
    relay.script("rcpt:bob@example.com", "550 5.1.1 <bob@example.com>: User unknown")
    async with running(mail_settings(database_url, relay.url())) as hl:
        tenant, _ = await mail_hook(hl, "mailto:alice@example.com,bob@example.com")
        sent = await api.send(hl.client, "order.filled", FILLED, tenant["id"])
        [delivery] = await api.settled(hl.client, sent["id"])
        attempts = await api.attempts(hl.client, delivery["id"])
        hl.advance(60)  # a retry would be due by now: none comes
        relay.script("rcpt:bob@example.com")
        await api.send(hl.client, "order.filled", FILLED, tenant["id"])
        [later] = await relay.wait_for(1)  # the next event's mail, not a retry of the first

    assert delivery["status"] == "failed"
    assert len(attempts) == 1
    assert "refused recipient bob@example.com: 550 5.1.1" in delivery["last_error"]
    assert "User unknown" in attempts[0]["error"]
    assert later.header("webhook-id") != sent["id"]  # alice never got the refused one


async def test_a_relay_that_is_down_is_a_failed_attempt_retried_on_the_schedule(
    sqlite_url: str,
) -> None:
    closed = f"smtp://127.0.0.1:{free_port()}"
    async with running(mail_settings(sqlite_url, closed, retry_schedule=(3600.0,))) as hl:
        tenant, _ = await mail_hook(hl, "mailto:alice@example.com")
        sent = await api.send(hl.client, "order.filled", FILLED, tenant["id"])
        delivery = await wait_attempts(hl, sent["id"], 1)
        [attempt] = await api.attempts(hl.client, delivery["id"])

    assert delivery["status"] == "pending"
    assert delivery["next_attempt_at"] is not None
    assert attempt["error"] == (
        "could not connect to the SMTP relay (HOOKLINE_SMTP_URL): connection refused"
    )


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # aiosmtpd's
async def test_bad_credentials_say_authentication_failed_and_never_show_the_password(
    sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    relay = SmtpRelay(auth=("hookline", "right-password"))
    relay.start()
    try:
        caplog.set_level(logging.DEBUG)
        wrong = relay.url(userinfo="hookline:wr%40ng-s3cret")
        async with running(mail_settings(sqlite_url, wrong)) as hl:
            tenant, _ = await mail_hook(hl, "mailto:alice@example.com")
            sent = await api.send(hl.client, "order.filled", FILLED, tenant["id"])
            delivery = await wait_attempts(hl, sent["id"], 1)
            [attempt] = await api.attempts(hl.client, delivery["id"])
        async with running(
            mail_settings(sqlite_url, relay.url(userinfo="hookline:right-password"))
        ) as hl:
            await api.send(hl.client, "order.filled", FILLED, tenant["id"])
            await relay.wait_for(1)
    finally:
        relay.stop()

    assert attempt["error"].startswith("authentication failed: the SMTP relay refused")
    assert "535" in attempt["error"]
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("hookline"))
    assert "SMTP relay 127.0.0.1" in ours  # the operator's log line names the relay...
    for text in (attempt["error"], str(delivery), ours):
        assert "wr@ng-s3cret" not in text
        assert "wr%40ng-s3cret" not in text


async def test_tls_required_refuses_a_relay_without_starttls(
    sqlite_url: str, relay: SmtpRelay
) -> None:
    async with running(mail_settings(sqlite_url, relay.url(query="tls=required"))) as hl:
        tenant, _ = await mail_hook(hl, "mailto:alice@example.com")
        sent = await api.send(hl.client, "order.filled", FILLED, tenant["id"])
        delivery = await wait_attempts(hl, sent["id"], 1)
        [attempt] = await api.attempts(hl.client, delivery["id"])

    assert "does not offer STARTTLS" in attempt["error"]
    assert "tls=required" in attempt["error"]
    assert relay.mails == []


async def test_a_template_writes_the_html_its_subject_template_the_subject_and_preview_shows_both(
    sqlite_url: str, relay: SmtpRelay
) -> None:
    template = (
        "<style>p {color: red}</style><p>Filled {{ data.amount }} {{ data.symbol }}"
        " on {{ data.exchange }}</p>"
    )
    async with running(mail_settings(sqlite_url, relay.url())) as hl:
        tenant, hook = await mail_hook(
            hl,
            "mailto:alice@example.com",
            format="template",
            template=template,
            format_options={"subject": "{{ data.side | upper }} {{ data.symbol }} filled"},
        )
        preview = api.ok(
            await hl.client.post(
                f"/api/v1/webhooks/{hook['id']}/preview", json={"event_type": "order.filled"}
            )
        )
        await api.send(hl.client, "order.filled", FILLED, tenant["id"])
        [mail] = await relay.wait_for(1)

    assert mail.header("Subject") == "BUY BTCUSDT filled"
    assert "<p>Filled 0.1 BTCUSDT on &lt;binance&gt;</p>" in mail.html
    assert mail.text == "Filled 0.1 BTCUSDT on <binance>\r\n"
    assert preview["subject"] == "BUY BTCUSDT filled"
    assert preview["html"] == mail.html.replace("\r\n", "\n").rstrip("\n")
    assert preview["body"] == mail.text
    assert "content-type" not in preview["headers"]


async def test_a_mailto_webhook_that_cannot_work_is_a_422_saying_what_to_fix(
    sqlite_url: str, relay: SmtpRelay
) -> None:
    async with running(mail_settings(sqlite_url, relay.url())) as hl:
        tenant = await api.tenant(hl.client)

        async def refused(url: str, **fields: Any) -> dict[str, Any]:
            body = {"tenant_id": tenant["id"], "url": url, **fields}
            return api.ok_object(await hl.client.post("/api/v1/webhooks", json=body), 422)

        bad_address = await refused("mailto:alice@@example.com")
        query = await refused("mailto:alice@example.com?subject=Hi")
        json_format = await refused("mailto:alice@example.com", format="standard")
        email_on_http = await refused("https://example.com/hook", format="email")
        to_header = await refused("mailto:alice@example.com", headers={"To": "eve@example.com"})
        bad_subject = await refused(
            "mailto:alice@example.com", format_options={"subject": "{{ data.x + 1 }}"}
        )
        subject_on_http = await refused(
            "https://example.com/hook",
            format="template",
            template="{}",
            format_options={"subject": "Hi"},
        )
    async with running(make_settings(sqlite_url)) as plain:
        tenant = await api.tenant(plain.client)
        body = {"tenant_id": tenant["id"], "url": "mailto:alice@example.com"}
        not_enabled = api.ok_object(await plain.client.post("/api/v1/webhooks", json=body), 422)

    assert "'alice@@example.com' is not an email address" in bad_address["detail"]
    assert "takes addresses only" in query["detail"]
    assert "a mailto: webhook sends email" in json_format["detail"]
    assert "use format `email`" in json_format["detail"]
    assert "needs a mailto: url" in email_on_http["detail"]
    assert "'To' is part of the mail" in to_header["detail"]
    assert bad_subject["detail"].startswith("format_options.subject:")
    assert "'subject' is not an option of format 'template'" in subject_on_http["detail"]
    assert "mailto destinations are not enabled" in not_enabled["detail"]
    assert "HOOKLINE_SMTP_URL" in not_enabled["detail"]


async def test_moving_a_webhook_to_or_from_mailto_takes_the_new_kinds_default_format(
    sqlite_url: str, relay: SmtpRelay
) -> None:
    async with running(mail_settings(sqlite_url, relay.url())) as hl:
        tenant = await api.tenant(hl.client)
        hook = await api.webhook(hl.client, tenant["id"], "https://example.com/hook")
        path = f"/api/v1/webhooks/{hook['id']}"
        to_mail = api.ok(await hl.client.patch(path, json={"url": "mailto:a@example.com"}))
        back = api.ok(await hl.client.patch(path, json={"url": "https://example.com/h"}))
        kept = api.ok(
            await hl.client.patch(path, json={"url": "https://example.com/x", "format": "data"})
        )

    assert (hook["format"], to_mail["format"], back["format"]) == ("standard", "email", "standard")
    assert kept["format"] == "data"


async def wait_attempts(hl: Running, event_id: str, count: int) -> dict[str, Any]:
    """The event's one delivery once it has `count` attempts."""
    deadline = time.monotonic() + 10
    while True:
        found = await api.deliveries(hl.client, event_id)
        delivery = found[0] if found else None
        if delivery is not None and delivery["attempt_count"] >= count:
            return delivery
        if time.monotonic() > deadline:
            raise AssertionError(f"no {count} attempts: {delivery}")
        await asyncio.sleep(0.05)
