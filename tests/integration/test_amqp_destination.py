"""`amqp://` destinations against the real RabbitMQ on 127.0.0.1:5672 (guest/guest), through
the real worker: publisher confirms, persistent messages, signature headers as message headers,
and every way a publish fails (server down, wrong password, no exchange, no queue bound) as a
failed attempt that says so. Each test declares its own uniquely named exchange and queue and
deletes them afterwards: CI shares this server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aio_pika
import pytest
from aio_pika.abc import AbstractChannel, AbstractQueue, DeliveryMode

from tests.support import api
from tests.support.brokers import EVENT_TYPE, all_logs, attempted, broker_webhook, unique, verified
from tests.support.harness import Running, free_port, make_settings, running
from tests.support.tls import self_signed_context

RABBITMQ = "amqp://guest:guest@127.0.0.1:5672/"
KINDS = ("https", "http", "amqp")


class Rabbit:
    """The test's own side of RabbitMQ: declares exchanges and queues, deletes them after."""

    def __init__(self, channel: AbstractChannel) -> None:
        self.channel = channel
        self.exchanges: list[str] = []
        self.queues: list[str] = []

    async def exchange(self, name: str | None = None) -> str:
        name = name or unique("hookline-test-x")
        await self.channel.declare_exchange(name, aio_pika.ExchangeType.TOPIC)
        self.exchanges.append(name)
        return name

    async def bound_queue(self, exchange: str, key: str) -> AbstractQueue:
        queue = await self.channel.declare_queue(unique("hookline-test-q"))
        self.queues.append(queue.name)
        await queue.bind(exchange, key)
        return queue

    async def clean(self) -> None:
        for queue in self.queues:
            await self.channel.queue_delete(queue)
        for exchange in self.exchanges:
            await self.channel.exchange_delete(exchange)


@pytest.fixture
async def rabbit() -> AsyncIterator[Rabbit]:
    connection = await aio_pika.connect(RABBITMQ)
    try:
        side = Rabbit(await connection.channel())
        try:
            yield side
        finally:
            await side.clean()
    finally:
        await connection.close()


@pytest.fixture
async def node(database_url: str) -> AsyncIterator[Running]:
    async with running(make_settings(database_url, destinations=KINDS)) as app:
        yield app


async def one_delivery(hl: Running, hook: dict[str, Any], data: dict[str, Any]) -> str:
    sent = await api.send(hl.client, EVENT_TYPE, data, hook["tenant_id"])
    [delivery] = await api.deliveries(hl.client, sent["id"])
    return str(delivery["id"])


async def test_an_event_is_published_confirmed_persistent_and_signed(
    node: Running, rabbit: Rabbit
) -> None:
    exchange = await rabbit.exchange()
    queue = await rabbit.bound_queue(exchange, EVENT_TYPE)  # the default key: the event type
    hook = await broker_webhook(node, f"{RABBITMQ}?exchange={exchange}")
    assert hook["url"] == f"amqp://guest:****@127.0.0.1:5672/?exchange={exchange}"

    sent = await api.send(node.client, EVENT_TYPE, {"order": 7}, hook["tenant_id"])
    [delivery] = await api.settled(node.client, sent["id"])
    [attempt] = await api.attempts(node.client, delivery["id"])
    assert delivery["status"] == "succeeded", attempt
    assert (
        attempt["response_body"] == f"confirmed by RabbitMQ (exchange {exchange}, key {EVENT_TYPE})"
    )
    assert attempt["status_code"] is None

    got = await queue.get(no_ack=True, fail=False)
    assert got is not None
    headers = {k: str(v) for k, v in got.headers.items()}
    payload = verified(hook["secret"], got.body, headers)
    assert payload["data"] == {"order": 7}
    assert json.loads(got.body) == payload
    assert headers["webhook-id"] == sent["id"] == got.message_id
    assert headers["x-webhook-event"] == EVENT_TYPE
    assert got.delivery_mode == DeliveryMode.PERSISTENT
    assert got.content_type == "application/json"
    assert got.routing_key == EVENT_TYPE


async def test_the_routing_key_parameter_and_a_retry_after_the_operator_declares_the_exchange(
    node: Running, rabbit: Rabbit
) -> None:
    exchange = unique("hookline-test-x")  # not declared yet
    hook = await broker_webhook(
        node, f"{RABBITMQ}?exchange={exchange}&routing_key=orders.eu", retry_schedule=[30]
    )
    delivery_id = await one_delivery(node, hook, {"order": 8})

    [first] = await attempted(node, delivery_id, 1)
    assert first["error"] == (
        f"exchange {exchange} does not exist on vhost /: the operator declares it "
        "(hookline declares nothing)"
    )
    pending = api.ok_object(await node.client.get(f"/api/v1/deliveries/{delivery_id}"))
    assert pending["status"] == "pending"

    await rabbit.exchange(exchange)
    queue = await rabbit.bound_queue(exchange, "orders.eu")
    node.advance(40)
    done = await api.delivery_when(node.client, delivery_id, "succeeded")
    assert done["attempt_count"] == 2
    got = await queue.get(no_ack=True, fail=False)
    assert got is not None
    assert verified(hook["secret"], got.body, {k: str(v) for k, v in got.headers.items()})
    assert got.routing_key == "orders.eu"


async def test_a_message_no_queue_takes_is_a_failed_attempt(node: Running, rabbit: Rabbit) -> None:
    exchange = await rabbit.exchange()  # no queue bound
    hook = await broker_webhook(node, f"{RABBITMQ}?exchange={exchange}", retry_schedule=[])
    delivery_id = await one_delivery(node, hook, {})

    failed = await api.delivery_when(node.client, delivery_id, "failed")
    [attempt] = await api.attempts(node.client, delivery_id)
    assert attempt["error"] == (
        f"no queue is bound to exchange {exchange} for routing key '{EVENT_TYPE}': RabbitMQ "
        "returned the message unrouted (the operator binds a queue)"
    )
    assert failed["attempt_count"] == 1


async def test_a_server_that_is_down_is_a_failed_attempt(node: Running) -> None:
    port = free_port()  # nothing listens there
    hook = await broker_webhook(
        node, f"amqp://guest:guest@127.0.0.1:{port}/?exchange=x", retry_schedule=[]
    )
    delivery_id = await one_delivery(node, hook, {})

    await api.delivery_when(node.client, delivery_id, "failed")
    [attempt] = await api.attempts(node.client, delivery_id)
    assert (
        attempt["error"]
        == f"could not connect to RabbitMQ at 127.0.0.1:{port} (connection refused)"
    )


async def test_a_wrong_password_says_authentication_failed_and_is_never_shown(
    node: Running, rabbit: Rabbit
) -> None:
    exchange = await rabbit.exchange()
    password = "not-the-guest-password-3141"
    hook = await broker_webhook(
        node, f"amqp://guest:{password}@127.0.0.1:5672/?exchange={exchange}", retry_schedule=[]
    )
    with all_logs() as lines:
        delivery_id = await one_delivery(node, hook, {})
        failed = await api.delivery_when(node.client, delivery_id, "failed")
    [attempt] = await api.attempts(node.client, delivery_id)
    assert attempt["error"] == (
        "authentication failed at RabbitMQ at 127.0.0.1:5672: RabbitMQ refused user guest "
        "(check the user and password in the url)"
    )
    shown = [
        json.dumps(failed),
        json.dumps(attempt),
        (await node.client.get(f"/api/v1/webhooks/{hook['id']}")).text,
        *lines,
    ]
    assert lines  # the attempt was logged somewhere, so the check below means something
    assert not [text for text in shown if password in text]


async def test_an_amqp_url_needs_an_exchange_and_an_admin_key(node: Running) -> None:
    tenant = await api.tenant(node.client)
    missing = await node.client.post(
        "/api/v1/webhooks",
        json={"tenant_id": tenant["id"], "url": f"{RABBITMQ}?routing_key=k"},
    )
    assert missing.status_code == 422, missing.text
    assert "amqp url needs ?exchange=NAME" in missing.text

    key = api.ok_object(await node.client.post(f"/api/v1/tenants/{tenant['id']}/keys"), 201)
    as_tenant = await node.client.post(
        "/api/v1/webhooks",
        json={"tenant_id": tenant["id"], "url": f"{RABBITMQ}?exchange=x"},
        headers={"Authorization": f"Bearer {key['key']}"},
    )
    assert as_tenant.status_code == 403, as_tenant.text
    assert "admin key" in as_tenant.text


async def test_a_missing_exchange_never_fails_a_neighbour_on_the_same_connection(
    node: Running, rabbit: Rabbit
) -> None:
    exchange = await rabbit.exchange()
    queue = await rabbit.bound_queue(exchange, EVENT_TYPE)
    tenant = await api.tenant(node.client)
    await api.event_type(node.client, EVENT_TYPE)
    # The same broker and credentials: one pooled connection for both webhooks.
    good = await api.webhook(node.client, tenant["id"], f"{RABBITMQ}?exchange={exchange}")
    await api.webhook(
        node.client, tenant["id"], f"{RABBITMQ}?exchange={unique('absent')}", retry_schedule=[]
    )
    events = [await api.send(node.client, EVENT_TYPE, {"n": n}, tenant["id"]) for n in range(6)]

    for event in events:
        settled = await api.settled(node.client, event["id"], count=2)
        outcome = {
            d["webhook_id"] == good["id"]: (d["status"], d["attempt_count"]) for d in settled
        }
        assert outcome == {True: ("succeeded", 1), False: ("failed", 1)}
    received = [await queue.get(no_ack=True) for _ in events]
    assert sorted(json.loads(m.body)["data"]["n"] for m in received) == list(range(6))


async def test_amqps_checks_the_brokers_certificate(node: Running, tmp_path: Path) -> None:
    async def hang_up(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    server = await asyncio.start_server(hang_up, "127.0.0.1", 0, ssl=self_signed_context(tmp_path))
    port = server.sockets[0].getsockname()[1]
    try:
        hook = await broker_webhook(
            node, f"amqps://guest:guest@127.0.0.1:{port}/?exchange=x", retry_schedule=[]
        )
        delivery_id = await one_delivery(node, hook, {})
        await api.delivery_when(node.client, delivery_id, "failed")
    finally:
        server.close()
        await server.wait_closed()
    [attempt] = await api.attempts(node.client, delivery_id)
    assert attempt["error"] == (
        f"could not connect to RabbitMQ at 127.0.0.1:{port}: TLS failed "
        "(the certificate was not accepted: self-signed certificate)"
    )
