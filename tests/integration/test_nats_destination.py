"""`nats://` destinations against the real NATS server with JetStream on 127.0.0.1:4222 (and a
server of the test's own, with a user and password, for credentials), through the real worker:
core publish, JetStream publish acknowledged by the named stream, signature headers as NATS
headers, and every way a publish fails as a failed attempt that says so. Each test creates its
own uniquely named subject and stream and deletes the stream afterwards: CI shares this server."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import nats
import pytest
from nats.aio.client import Client
from nats.js import JetStreamContext

from tests.support import api
from tests.support.brokers import EVENT_TYPE, all_logs, attempted, broker_webhook, unique, verified
from tests.support.harness import Running, free_port, make_settings, running
from tests.support.tls import self_signed_context

NATS = "nats://127.0.0.1:4222"
NATS_SERVER = "/usr/sbin/nats-server"
KINDS = ("https", "http", "nats")


class JetStream:
    """The test's own side of JetStream: creates streams, deletes them after."""

    def __init__(self, js: JetStreamContext) -> None:
        self.js = js
        self.streams: list[str] = []

    async def stream(self, subject: str, name: str | None = None) -> str:
        name = name or unique("HOOKLINE_TEST").replace("-", "_")
        await self.js.add_stream(name=name, subjects=[subject])
        self.streams.append(name)
        return name

    async def clean(self) -> None:
        for name in self.streams:
            await self.js.delete_stream(name)


@pytest.fixture
async def side() -> AsyncIterator[Client]:
    client = await nats.connect(NATS, allow_reconnect=False)
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
async def jetstream(side: Client) -> AsyncIterator[JetStream]:
    streams = JetStream(side.jetstream())
    try:
        yield streams
    finally:
        await streams.clean()


class OwnServer:
    """A NATS server of this test's own on `port`, wanting user `u`, password `p`; it can be
    stopped and started again on the same port."""

    def __init__(self, *extra: str) -> None:
        self.port = free_port()
        self.extra = extra
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [NATS_SERVER, "-a", "127.0.0.1", "-p", str(self.port)]
        self.process = subprocess.Popen(
            [*command, "--user", "u", "--pass", "p", *self.extra],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while not _listening(self.port):
            assert self.process.poll() is None, "nats-server exited"
            assert time.monotonic() < deadline, "nats-server did not start"
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None


@pytest.fixture
def own_server() -> Iterator[OwnServer]:
    server = OwnServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
async def node(database_url: str) -> AsyncIterator[Running]:
    async with running(make_settings(database_url, destinations=KINDS)) as app:
        yield app


async def one_delivery(hl: Running, hook: dict[str, Any], data: dict[str, Any]) -> str:
    sent = await api.send(hl.client, EVENT_TYPE, data, hook["tenant_id"])
    [delivery] = await api.deliveries(hl.client, sent["id"])
    return str(delivery["id"])


async def test_an_event_is_published_on_the_subject_with_signature_headers(
    node: Running, side: Client
) -> None:
    subject = unique("hookline.test")
    subscription = await side.subscribe(subject)
    await side.flush()
    hook = await broker_webhook(node, f"{NATS}?subject={subject}")

    sent = await api.send(node.client, EVENT_TYPE, {"order": 7}, hook["tenant_id"])
    [delivery] = await api.settled(node.client, sent["id"])
    [attempt] = await api.attempts(node.client, delivery["id"])
    assert delivery["status"] == "succeeded", attempt
    assert attempt["response_body"] == f"published to {subject}"

    got = await subscription.next_msg(timeout=5)
    assert got.headers is not None
    payload = verified(hook["secret"], got.data, got.headers)
    assert payload["data"] == {"order": 7}
    assert json.loads(got.data) == payload
    assert got.headers["webhook-id"] == sent["id"]
    assert got.headers["x-webhook-event"] == EVENT_TYPE
    assert got.headers["content-type"] == "application/json"


async def test_a_jetstream_publish_is_acknowledged_by_the_named_stream(
    node: Running, jetstream: JetStream
) -> None:
    subject = unique("hookline.test")
    stream = await jetstream.stream(subject)
    hook = await broker_webhook(node, f"{NATS}?subject={subject}&stream={stream}")

    sent = await api.send(node.client, EVENT_TYPE, {"order": 9}, hook["tenant_id"])
    [delivery] = await api.settled(node.client, sent["id"])
    [attempt] = await api.attempts(node.client, delivery["id"])
    assert delivery["status"] == "succeeded", attempt
    assert attempt["response_body"] == f"JetStream {stream} seq 1"

    stored = await jetstream.js.get_msg(stream, 1)
    assert stored.headers is not None
    assert verified(hook["secret"], stored.data or b"", stored.headers)["data"] == {"order": 9}
    assert stored.headers["Nats-Msg-Id"] == sent["id"]  # JetStream de-duplicates a retry by it


async def test_a_missing_stream_fails_the_attempt_and_the_retry_delivers_once_it_exists(
    node: Running, jetstream: JetStream
) -> None:
    subject = unique("hookline.test")
    stream = unique("HOOKLINE_TEST").replace("-", "_")  # not created yet
    hook = await broker_webhook(
        node, f"{NATS}?subject={subject}&stream={stream}", retry_schedule=[30]
    )
    delivery_id = await one_delivery(node, hook, {"order": 10})

    [first] = await attempted(node, delivery_id, 1)
    assert first["error"] == (
        f"no JetStream stream captures subject {subject} ({stream} does not exist or does not "
        "take this subject): the operator creates it (hookline declares nothing)"
    )

    await jetstream.stream(subject, stream)
    node.advance(40)
    await api.delivery_when(node.client, delivery_id, "succeeded")
    attempts = await api.attempts(node.client, delivery_id)
    assert [a["response_body"] for a in attempts] == ["", f"JetStream {stream} seq 1"]


async def test_a_subject_another_stream_captures_is_a_failed_attempt(
    node: Running, jetstream: JetStream
) -> None:
    subject = unique("hookline.test")
    await jetstream.stream(subject)
    hook = await broker_webhook(
        node, f"{NATS}?subject={subject}&stream=SOMEONE_ELSES", retry_schedule=[]
    )
    delivery_id = await one_delivery(node, hook, {})

    await api.delivery_when(node.client, delivery_id, "failed")
    [attempt] = await api.attempts(node.client, delivery_id)
    assert attempt["error"] == (
        f"subject {subject} is captured by another JetStream stream, not SOMEONE_ELSES"
    )


async def test_a_server_that_is_down_is_a_failed_attempt(node: Running) -> None:
    port = free_port()  # nothing listens there
    hook = await broker_webhook(node, f"nats://127.0.0.1:{port}?subject=s", retry_schedule=[])
    delivery_id = await one_delivery(node, hook, {})

    await api.delivery_when(node.client, delivery_id, "failed")
    [attempt] = await api.attempts(node.client, delivery_id)
    assert attempt["error"] == (
        f"could not connect to NATS at 127.0.0.1:{port} (connection refused or unreachable)"
    )


async def test_credentials_are_used_and_a_wrong_password_says_authentication_failed(
    node: Running, own_server: OwnServer
) -> None:
    port = own_server.port
    subject = unique("hookline.test")
    listener = await nats.connect(
        f"nats://127.0.0.1:{port}", user="u", password="p", allow_reconnect=False
    )
    try:
        subscription = await listener.subscribe(subject)
        await listener.flush()
        right = await broker_webhook(node, f"nats://u:p@127.0.0.1:{port}?subject={subject}")
        password = "not-the-password-2718"
        wrong = await broker_webhook(
            node, f"nats://u:{password}@127.0.0.1:{port}?subject={subject}", retry_schedule=[]
        )
        assert wrong["url"] == f"nats://u:****@127.0.0.1:{port}?subject={subject}"
        with all_logs() as lines:
            delivered = await one_delivery(node, right, {"n": 1})
            refused = await one_delivery(node, wrong, {"n": 2})
            await api.delivery_when(node.client, delivered, "succeeded")
            failed = await api.delivery_when(node.client, refused, "failed")
        got = await subscription.next_msg(timeout=5)
        assert json.loads(got.data)["data"] == {"n": 1}
    finally:
        await listener.close()

    [attempt] = await api.attempts(node.client, refused)
    assert attempt["error"] == (
        f"authentication failed at NATS at 127.0.0.1:{port}: the server refused user u "
        "(check the user and password in the url)"
    )
    shown = [
        json.dumps(failed),
        json.dumps(attempt),
        (await node.client.get(f"/api/v1/webhooks/{wrong['id']}")).text,
        *lines,
    ]
    assert lines
    assert not [text for text in shown if password in text]


async def test_a_nats_url_needs_a_subject_and_an_admin_key(node: Running) -> None:
    tenant = await api.tenant(node.client)
    missing = await node.client.post(
        "/api/v1/webhooks", json={"tenant_id": tenant["id"], "url": f"{NATS}?stream=S"}
    )
    assert missing.status_code == 422, missing.text
    assert "nats url needs ?subject=NAME" in missing.text

    key = api.ok_object(await node.client.post(f"/api/v1/tenants/{tenant['id']}/keys"), 201)
    as_tenant = await node.client.post(
        "/api/v1/webhooks",
        json={"tenant_id": tenant["id"], "url": f"{NATS}?subject=s"},
        headers={"Authorization": f"Bearer {key['key']}"},
    )
    assert as_tenant.status_code == 403, as_tenant.text
    assert "admin key" in as_tenant.text


async def test_a_server_restart_fails_one_attempt_and_the_retry_reconnects(
    node: Running, own_server: OwnServer
) -> None:
    port = own_server.port
    subject = unique("hookline.test")
    hook = await broker_webhook(
        node, f"nats://u:p@127.0.0.1:{port}?subject={subject}", retry_schedule=[30]
    )
    await api.delivery_when(node.client, await one_delivery(node, hook, {"n": 1}), "succeeded")

    own_server.stop()  # the pooled connection dies with it
    delivery_id = await one_delivery(node, hook, {"n": 2})
    [first] = await attempted(node, delivery_id, 1)
    # Whether the client noticed the closed socket before this attempt or during it.
    assert first["error"].startswith(
        (
            f"could not connect to NATS at 127.0.0.1:{port}",
            f"lost the connection to NATS at 127.0.0.1:{port}",
        )
    ), first

    own_server.start()
    listener = await nats.connect(
        f"nats://127.0.0.1:{port}", user="u", password="p", allow_reconnect=False
    )
    try:
        subscription = await listener.subscribe(subject)
        await listener.flush()
        node.advance(40)
        await api.delivery_when(node.client, delivery_id, "succeeded")
        got = await subscription.next_msg(timeout=5)
        assert json.loads(got.data)["data"] == {"n": 2}
    finally:
        await listener.close()


async def test_a_server_that_requires_tls_gets_it_and_its_certificate_is_checked(
    node: Running, tmp_path: Path
) -> None:
    self_signed_context(tmp_path)  # writes cert.pem and key.pem
    server = OwnServer(
        "--tls", "--tlscert", str(tmp_path / "cert.pem"), "--tlskey", str(tmp_path / "key.pem")
    )
    server.start()
    try:
        hook = await broker_webhook(
            node, f"nats://u:p@127.0.0.1:{server.port}?subject=s", retry_schedule=[]
        )
        delivery_id = await one_delivery(node, hook, {})
        await api.delivery_when(node.client, delivery_id, "failed")
    finally:
        server.stop()
    [attempt] = await api.attempts(node.client, delivery_id)
    assert attempt["error"] == (
        f"could not connect to NATS at 127.0.0.1:{server.port}: TLS failed "
        "(the certificate was not accepted: self-signed certificate)"
    )
