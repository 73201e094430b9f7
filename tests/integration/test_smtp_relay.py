"""The SMTP destination against a real relay on loopback, without the rest of hookline: one
connection reused for mail after mail, closed when idle, replaced when the relay hung up,
several at once under load; STARTTLS and implicit TLS with a certificate it trusts, and a clear
failure with one it does not."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hookline.destinations.smtp import CONNECTIONS, Smtp
from hookline.transport import Accepted, Failure, OutboundRequest
from tests.support.smtp import SmtpRelay
from tests.support.tls import self_signed_context

SENDER = "alerts@example.com"


def request(number: int = 1) -> OutboundRequest:
    return OutboundRequest(
        url="mailto:alice@example.com",
        headers={"webhook-id": f"evt_{number}", "x-webhook-event": "order.filled"},
        body=f"Order {number} filled\r\n".encode(),
        subject=f"Order {number}",
        html=f"<p>Order {number} filled</p>",
    )


@pytest.fixture
async def relay() -> AsyncIterator[SmtpRelay]:
    server = SmtpRelay()
    server.start()
    yield server
    server.stop()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_one_connection_carries_mail_after_mail_and_is_closed_when_idle(
    relay: SmtpRelay,
) -> None:
    clock = Clock()
    smtp = Smtp(relay.url(), SENDER, idle=60, clock=clock)
    try:
        first, second = await smtp.send(request(1)), await smtp.send(request(2))
        assert relay.connections == 1
        clock.now += 61
        third = await smtp.send(request(3))
    finally:
        await smtp.close()

    assert all(isinstance(r, Accepted) for r in (first, second, third)), (first, second, third)
    assert relay.connections == 2  # the idle one was closed, politely
    assert relay.quits == 2  # that one, and the last at close
    assert [m.header("Subject") for m in await relay.wait_for(3)] == [
        "Order 1",
        "Order 2",
        "Order 3",
    ]


async def test_a_pooled_connection_the_relay_dropped_is_replaced_without_failing_a_mail(
    relay: SmtpRelay,
) -> None:
    smtp = Smtp(relay.url(), SENDER, idle=60)
    try:
        assert isinstance(await smtp.send(request(1)), Accepted)
        relay.stop()  # a relay restart: the pooled connection is dead
        again = SmtpRelay(port=relay.port)
        again.start()
        try:
            result = await smtp.send(request(2))
            [mail] = await again.wait_for(1)
        finally:
            again.stop()
    finally:
        await smtp.close()

    assert isinstance(result, Accepted), result
    assert mail.header("webhook-id") == "evt_2"


async def test_mail_at_once_uses_a_few_connections_and_every_mail_arrives(
    relay: SmtpRelay,
) -> None:
    smtp = Smtp(relay.url(), SENDER, idle=60)
    try:
        results = await asyncio.gather(*(smtp.send(request(n)) for n in range(12)))
    finally:
        await smtp.close()

    assert all(isinstance(r, Accepted) for r in results), results
    assert 1 <= relay.connections <= CONNECTIONS
    assert len(await relay.wait_for(12)) == 12


async def test_starttls_when_the_relay_offers_it_and_implicit_tls_for_smtps(
    tmp_path: Path,
) -> None:
    server_side = self_signed_context(tmp_path)
    trusted = ssl.create_default_context(cafile=str(tmp_path / "cert.pem"))
    offering = SmtpRelay(starttls=server_side)
    implicit = SmtpRelay(implicit_tls=server_side)
    offering.start()
    implicit.start()
    try:
        upgraded = Smtp(offering.url(), SENDER, idle=60, tls_context=trusted)
        smtps = Smtp(implicit.url("smtps"), SENDER, idle=60, tls_context=trusted)
        untrusted = Smtp(offering.url(), SENDER, idle=60)  # the system's CAs only
        try:
            results = [await upgraded.send(request(1)), await smtps.send(request(2))]
            refused = await untrusted.send(request(3))
        finally:
            for smtp in (upgraded, smtps, untrusted):
                await smtp.close()
        [by_starttls] = await offering.wait_for(1)
        [by_smtps] = await implicit.wait_for(1)
    finally:
        offering.stop()
        implicit.stop()

    assert all(isinstance(r, Accepted) for r in results), results
    assert offering.tls_sessions == 1  # EHLO again, inside TLS
    assert by_starttls.header("webhook-id") == "evt_1"
    assert by_smtps.header("webhook-id") == "evt_2"
    assert isinstance(refused, Failure)
    assert not refused.final
    assert refused.error.startswith("TLS with the SMTP relay failed: CERTIFICATE_VERIFY_FAILED")
