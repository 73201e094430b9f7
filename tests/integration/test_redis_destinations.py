"""`redis://` destinations against real Redis servers: the shared one at 127.0.0.1:6379 (unique
channel and stream names, deleted afterwards) and private `redis-server` processes for a
password, a small stream node size, TLS, or a server that is down and then comes up."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import standardwebhooks
from redis.asyncio import Redis

from hookline import portable
from hookline.destinations.redis import Redis as RedisDestination
from hookline.node import Hookline
from hookline.ssrf import NetworkPolicy
from hookline.transport import Accepted, Failure, OutboundRequest
from tests.integration.test_seed_setups import SEED_002_SECRET, catalog, example, seed_002_receiver
from tests.support import api
from tests.support.harness import Running, free_port, make_settings, running
from tests.support.receiver import Receiver
from tests.support.redis_server import SHARED_URL, Subscription, private_redis, unique
from tests.support.tls import self_signed_context

REDIS_KINDS = ("https", "http", "redis")
PASSWORD = "s3cret-redis-pass"


@pytest.fixture
async def shared() -> AsyncIterator[Redis]:
    client = Redis(host="127.0.0.1", port=6379)
    yield client
    await client.aclose()


@pytest.fixture
async def hl(database_url: str) -> AsyncIterator[Running]:
    async with running(make_settings(database_url, destinations=REDIS_KINDS)) as app:
        yield app


async def redis_webhook(hl: Running, url: str, **fields: Any) -> tuple[str, dict[str, Any]]:
    """A tenant, the event type `order.filled`, and a webhook to `url`; (tenant id, webhook)."""
    tenant = await api.tenant(hl.client)
    await api.event_type(hl.client)
    return tenant["id"], await api.webhook(hl.client, tenant["id"], url, **fields)


async def test_an_event_is_published_to_a_channel(
    hl: Running, shared: Redis, database_url: str
) -> None:
    channel = unique("channel")
    tenant_id, hook = await redis_webhook(hl, f"{SHARED_URL}?channel={channel}")
    assert hook["url"] == f"{SHARED_URL}?channel={channel}"  # no credentials: shown as it is
    async with Subscription(shared, channel) as subscription:
        sent = await api.send(hl.client, "order.filled", {"order": 7, "qty": 1.5}, tenant_id)
        body = await subscription.message()
    [delivery] = await api.settled(hl.client, sent["id"])
    assert delivery["status"] == "succeeded"
    envelope = json.loads(body)
    assert envelope == {
        "id": sent["id"],
        "type": "order.filled",
        "timestamp": envelope["timestamp"],
        "data": {"order": 7, "qty": 1.5},
    }
    [attempt] = await api.attempts(hl.client, delivery["id"])
    assert attempt["status_code"] is None
    assert attempt["error"] is None
    assert attempt["response_body"] == f"PUBLISH to {channel} reached 1 subscriber"
    # Statistics and health count it as the success it is, though it has no HTTP status.
    [row] = api.ok_object(await hl.client.get("/api/v1/stats", params={"since": "1h"}))["webhooks"]
    assert (row["total"], row["succeeded"], row["success_rate"]) == (1, 1, 1.0)
    health = api.ok_object(await hl.client.get(f"/api/v1/webhooks/{hook['id']}/stats"))
    assert (health["last_24h"]["succeeded"], health["last_24h"]["failed"]) == (1, 0)

    # A test send goes the same way (nobody listens now).
    tested = api.ok_object(await hl.client.post(f"/api/v1/webhooks/{hook['id']}/test"))
    assert (tested["status"], tested["status_code"]) == ("success", None)
    assert tested["response_body"] == f"PUBLISH to {channel} reached 0 subscribers"


async def test_an_event_is_added_to_a_stream_with_its_signature(
    hl: Running, shared: Redis, database_url: str
) -> None:
    stream = unique("stream")
    try:
        tenant_id, hook = await redis_webhook(
            hl, f"{SHARED_URL}?stream={stream}", headers={"x-team": "models"}
        )
        sent = await api.send(hl.client, "order.filled", {"order": 8}, tenant_id)
        [delivery] = await api.settled(hl.client, sent["id"])
        assert delivery["status"] == "succeeded", delivery
        entries: Any = await shared.xrange(stream)
        [(entry_id, raw)] = entries
    finally:
        await shared.delete(stream)
    entry = {k.decode(): v for k, v in raw.items()}
    assert sorted(entry) == [
        "body",
        "webhook-id",
        "webhook-signature",
        "webhook-timestamp",
        "x-team",
        "x-webhook-event",
    ]
    headers = {k: v.decode() for k, v in entry.items() if k != "body"}
    assert headers["webhook-id"] == sent["id"]
    assert headers["x-webhook-event"] == "order.filled"
    # What a receiver of the stream does: the Standard Webhooks library verifies the entry.
    verified = standardwebhooks.Webhook(hook["secret"]).verify(entry["body"], headers)
    assert verified["data"] == {"order": 8}
    [attempt] = await api.attempts(hl.client, delivery["id"])
    assert attempt["response_body"] == f"XADD {stream} id {entry_id.decode()}"


async def test_maxlen_trims_the_stream(database_url: str, tmp_path: Path) -> None:
    """MAXLEN ~ N: Redis drops whole stream nodes (4 entries here) once N are left behind."""
    port = free_port()
    async with (
        private_redis(tmp_path, port, extra=["--stream-node-max-entries", "4"]) as server,
        running(make_settings(database_url, destinations=REDIS_KINDS)) as hl,
    ):
        tenant_id, _ = await redis_webhook(
            hl, f"redis://127.0.0.1:{port}/0?stream=trimmed&maxlen=4"
        )
        for number in range(10):
            sent = await api.send(hl.client, "order.filled", {"n": number}, tenant_id)
            await api.settled(hl.client, sent["id"])
        length = await server.xlen("trimmed")
        assert 4 <= length < 10
        info = await server.xinfo_stream("trimmed")
        assert info["entries-added"] == 10


async def test_a_server_down_is_a_failed_attempt_retried_on_the_schedule(
    database_url: str, tmp_path: Path
) -> None:
    """Nothing listens at the URL's port: the attempt fails saying so, the next is scheduled;
    once a server listens there, the retry (hookline's clock moved on) is delivered."""
    port = free_port()
    async with running(make_settings(database_url, destinations=REDIS_KINDS)) as hl:
        tenant_id, _ = await redis_webhook(
            hl, f"redis://127.0.0.1:{port}/0?channel=later", retry_schedule=[60, 60]
        )
        sent = await api.send(hl.client, "order.filled", {"n": 1}, tenant_id)
        [delivery] = await api.deliveries(hl.client, sent["id"])
        [first] = await wait_for_attempts(hl, delivery["id"], 1)
        assert first["error"] == (
            f"could not connect to redis at 127.0.0.1:{port}: connection refused (is the "
            "server running, and on this port?)"
        )
        pending = api.ok_object(await hl.client.get(f"/api/v1/deliveries/{delivery['id']}"))
        assert pending["status"] == "pending"
        due = datetime.fromisoformat(pending["next_attempt_at"]).timestamp()
        attempted = datetime.fromisoformat(first["created_at"]).timestamp()
        assert 0.8 * 60 - 0.5 <= due - attempted <= 1.2 * 60 + 0.5  # the webhook's schedule

        async with (
            private_redis(tmp_path, port) as server,
            Subscription(server, "later") as subscription,
        ):
            hl.advance(due - hl.clock() + 0.05)  # to the retry, jitter and all
            assert json.loads(await subscription.message())["data"] == {"n": 1}
            done = await api.delivery_when(hl.client, delivery["id"], "succeeded")
        assert done["attempt_count"] == 2


async def wait_for_attempts(hl: Running, delivery_id: str, count: int) -> list[dict[str, Any]]:
    for _ in range(300):
        found = await api.attempts(hl.client, delivery_id)
        if len(found) >= count:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"{delivery_id} never had {count} attempts")


async def test_credentials_are_masked_kept_and_never_shown(
    database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    port = free_port()
    url = f"redis://:{PASSWORD}@127.0.0.1:{port}/0?stream=guarded"
    masked = f"redis://:****@127.0.0.1:{port}/0?stream=guarded"
    async with (
        private_redis(tmp_path, port, password=PASSWORD) as server,
        running(make_settings(database_url, destinations=REDIS_KINDS)) as hl,
    ):
        tenant_id, hook = await redis_webhook(hl, url)
        assert hook["url"] == masked
        listed = api.ok_object(await hl.client.get("/api/v1/webhooks"))["data"]
        assert [h["url"] for h in listed] == [masked]

        # Sent back as shown (masked) with another change: the credentials are kept.
        changed = api.ok_object(
            await hl.client.patch(
                f"/api/v1/webhooks/{hook['id']}", json={"url": masked, "description": "models"}
            )
        )
        assert (changed["url"], changed["description"]) == (masked, "models")
        sent = await api.send(hl.client, "order.filled", {"n": 1}, tenant_id)
        [delivered] = await api.settled(hl.client, sent["id"])
        assert delivered["status"] == "succeeded"
        assert await server.xlen("guarded") == 1

        # A wrong password, then none: failed attempts that say so, without the password.
        outcomes = []
        wrong = f"redis://:not-{PASSWORD}@127.0.0.1:{port}/0?stream=guarded"
        for new_url in (wrong, f"redis://127.0.0.1:{port}/0?stream=guarded"):
            api.ok(await hl.client.patch(f"/api/v1/webhooks/{hook['id']}", json={"url": new_url}))
            sent = await api.send(hl.client, "order.filled", {"n": 2}, tenant_id)
            [delivery] = await api.deliveries(hl.client, sent["id"])
            [attempt, *_] = await wait_for_attempts(hl, delivery["id"], 1)
            outcomes.append(attempt["error"])
        assert outcomes[0] == (
            f"authentication failed: redis at 127.0.0.1:{port} refused the password of the URL "
            "(a wrong password, an unknown or disabled user)"
        )
        # Without a password Redis answers NOAUTH, or (when the command reached it before the
        # refusal was read: seen on a loaded machine) closes the unauthenticated connection.
        assert outcomes[1] in (
            f"authentication failed: redis at 127.0.0.1:{port} requires a password; give it in "
            "the URL (redis://:PASSWORD@host:port/0, or redis://USER:PASSWORD@... for an ACL "
            "user)",
            f"could not connect to redis at 127.0.0.1:{port}: Connection closed by server.",
        )

        exported = io.StringIO()
        await portable.export(hl.node.db, exported)
        everything = [
            exported.getvalue(),
            json.dumps(api.ok(await hl.client.get(f"/api/v1/webhooks/{hook['id']}/deliveries"))),
            caplog.text,
        ]
        for delivery_id in (delivered["id"], delivery["id"]):
            everything.append(json.dumps(await api.attempts(hl.client, delivery_id)))
    assert all(PASSWORD not in text for text in everything)
    assert "url_sealed" in everything[0]  # exported sealed, opened by an import's key check


async def test_who_may_create_redis_destinations_and_what_is_refused(database_url: str) -> None:
    async with running(make_settings(database_url, destinations=REDIS_KINDS)) as hl:
        tenant = await api.tenant(hl.client)
        key = api.ok_object(await hl.client.post(f"/api/v1/tenants/{tenant['id']}/keys"), 201)
        good = f"{SHARED_URL}?channel=c"
        as_tenant = await hl.client.post(
            "/api/v1/webhooks",
            json={"url": good},
            headers={"Authorization": f"Bearer {key['key']}"},
        )
        assert as_tenant.status_code == 403
        assert "admin key only" in as_tenant.json()["detail"]

        refused = {
            f"{SHARED_URL}": "exactly one of ?channel=NAME (PUBLISH) or ?stream=NAME (XADD)",
            f"{SHARED_URL}?channel=a&stream=b": "exactly one of ?channel=NAME",
            f"{SHARED_URL}?channel=a&db=2": "unknown parameter 'db'",
            f"{SHARED_URL}?channel=a&maxlen=5": "maxlen applies to a stream",
            "redis://127.0.0.1:6379/zero?channel=a": "the database is a number",
        }
        for url, says in refused.items():
            response = await hl.client.post(
                "/api/v1/webhooks", json={"tenant_id": tenant["id"], "url": url}
            )
            assert response.status_code == 422, (url, response.text)
            problem = response.json()
            assert says in problem["detail"], (url, problem)
            assert problem["errors"][0]["loc"][-1] == "url"

    async with running(make_settings(database_url)) as hl:  # redis not enabled
        tenant = await api.tenant(hl.client)
        response = await hl.client.post(
            "/api/v1/webhooks", json={"tenant_id": tenant["id"], "url": good}
        )
        assert response.status_code == 422
        assert "redis destinations are not enabled" in response.json()["detail"]
        assert "HOOKLINE_DESTINATIONS" in response.json()["detail"]


# --- the destination itself: its pool of clients, TLS ---------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def publish(url: str) -> OutboundRequest:
    return OutboundRequest(url=url, headers={"webhook-id": "evt_1"}, body=b'{"n": 1}')


async def hookline_connections(server: Redis) -> list[int]:
    clients = await server.client_list()
    return sorted(int(c["id"]) for c in clients if c.get("name") == "hookline")


async def connections_made(server: Redis) -> int:
    stats = await server.info("stats")
    return int(stats["total_connections_received"])


async def test_one_client_per_server_reused_and_closed_when_idle(tmp_path: Path) -> None:
    port = free_port()
    clock = Clock()
    destination = RedisDestination(NetworkPolicy.development(), idle=30, clock=clock)
    url = f"redis://:{PASSWORD}@127.0.0.1:{port}/0?channel=pooled"
    try:
        async with private_redis(tmp_path, port, password=PASSWORD) as server:
            before = await connections_made(server)
            for _ in range(3):
                assert isinstance(await destination.send(publish(url)), Accepted)
                clock.now += 10
            # Another channel on the same server shares the client.
            other = url.replace("channel=pooled", "stream=pooled-stream")
            assert isinstance(await destination.send(publish(other)), Accepted)
            [first] = await hookline_connections(server)
            assert await connections_made(server) == before + 1
            assert len(destination.pool) == 1

            clock.now += 31  # idle longer than 30 s: closed at the next use, and a new one made
            assert isinstance(await destination.send(publish(url)), Accepted)
            [second] = await hookline_connections(server)
            assert second != first
            assert await connections_made(server) == before + 2
            assert len(destination.pool) == 1
    finally:
        await destination.close()
    assert len(destination.pool) == 0


async def test_a_connection_error_drops_the_client_and_the_next_attempt_reconnects(
    tmp_path: Path,
) -> None:
    port = free_port()
    destination = RedisDestination(NetworkPolicy.development(), idle=60)
    url = f"redis://127.0.0.1:{port}/0?channel=restarted"
    try:
        async with private_redis(tmp_path, port):
            assert isinstance(await destination.send(publish(url)), Accepted)
        failed = await destination.send(publish(url))  # the server is gone
        assert isinstance(failed, Failure)
        assert failed.error.startswith(f"could not connect to redis at 127.0.0.1:{port}: ")
        assert len(destination.pool) == 0
        async with private_redis(tmp_path, port):
            assert isinstance(await destination.send(publish(url)), Accepted)
    finally:
        await destination.close()


async def test_rediss_verifies_the_server_certificate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """rediss:// is TLS: a certificate the machine does not trust is a failed attempt saying
    so; trusted (SSL_CERT_FILE), the same server takes the message."""
    self_signed_context(tmp_path)  # writes cert.pem and key.pem, for 127.0.0.1
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    port = free_port()
    tls = ["--port", "0", "--tls-port", str(port), "--tls-cert-file", str(cert)]
    tls += ["--tls-key-file", str(key), "--tls-auth-clients", "no"]
    client = Redis(host="127.0.0.1", port=port, ssl=True, ssl_ca_certs=str(cert))
    url = f"rediss://127.0.0.1:{port}/0?channel=secure"
    async with private_redis(tmp_path, free_port(), extra=tls, client=client):
        untrusted = RedisDestination(NetworkPolicy.development(), idle=60)
        try:
            refused = await untrusted.send(publish(url))
        finally:
            await untrusted.close()
        assert isinstance(refused, Failure)
        assert "TLS: the server's certificate is not trusted" in refused.error, refused.error

        monkeypatch.setenv("SSL_CERT_FILE", str(cert))
        trusted = RedisDestination(NetworkPolicy.development(), idle=60)
        try:
            accepted = await trusted.send(publish(url))
        finally:
            await trusted.close()
        assert accepted == Accepted("PUBLISH to secure reached 0 subscribers", accepted.latency_ms)


# --- seed 002's migration mode ----------------------------------------------------------------


async def test_seed_002_migration_phases(
    database_url: str, receiver: Receiver, shared: Redis, tmp_path: Path
) -> None:
    """Phase 1, dual publishing: one model registration reaches the webhook (seed 002's own
    verifier) and the Redis channel, with the same body, without HOOKLINE_DESTINATIONS naming
    redis. Phase 2, ENABLE_REDIS_FALLBACK=false: the Redis webhook is removed. Phase 3, the
    Redis variables gone: nothing changes."""
    path = tmp_path / "hookline.toml"
    path.write_text(catalog("002"))
    channel = unique("seed-002")
    webhook_env = {
        "WEBHOOK_URL": receiver.url("/api/models/ready"),
        "WEBHOOK_SECRET": SEED_002_SECRET,
        "WEBHOOK_SIGNATURE_HEADER": "X-Hokusai-Signature",
    }
    redis_env = {"REDIS_URL": "redis://127.0.0.1:6379/0", "REDIS_CHANNEL": channel}
    model = example(catalog("002"), "model.registered")
    settings = make_settings(database_url, config=path, max_request_timeout=30)  # seed 002's 30 s
    assert "redis" not in settings.destination_kinds

    phase_1 = {**webhook_env, **redis_env, "ENABLE_REDIS_FALLBACK": "true"}
    async with (
        Subscription(shared, channel) as subscription,
        running(settings, environ=phase_1) as hl,
    ):
        hooks = api.ok_object(await hl.client.get("/api/v1/webhooks"))["data"]
        by_name = {h["name"]: h for h in hooks}
        assert sorted(by_name) == ["ENABLE_REDIS_FALLBACK", "WEBHOOK_URL"]
        redis_hook = by_name["ENABLE_REDIS_FALLBACK"]
        assert redis_hook["url"] == f"redis://127.0.0.1:6379/0?channel={channel}"
        assert (redis_hook["managed_by"], redis_hook["format"]) == ("env", "data")
        assert redis_hook["tenant_id"] == by_name["WEBHOOK_URL"]["tenant_id"]

        sent = await api.send(hl.client, "model.registered", model)
        [request] = await receiver.wait_for(1, "/api/models/ready")
        assert seed_002_receiver(request, SEED_002_SECRET) == model
        published = await subscription.message()
        assert published == request.body  # the very payload the webhook got
        deliveries = await api.settled(hl.client, sent["id"], count=2)
        assert {d["status"] for d in deliveries} == {"succeeded"}

    phase_2 = {**webhook_env, **redis_env, "ENABLE_REDIS_FALLBACK": "false"}
    async with running(settings, environ=phase_2) as hl:
        assert [str(c) for c in hl.node.declared.changes] == [
            f"remove webhook {redis_hook['id']} (env:ENABLE_REDIS_FALLBACK)"
        ]
        hooks = api.ok_object(await hl.client.get("/api/v1/webhooks"))["data"]
        assert [h["name"] for h in hooks] == ["WEBHOOK_URL"]
        sent = await api.send(hl.client, "model.registered", model)
        [delivery] = await api.settled(hl.client, sent["id"])
        assert delivery["status"] == "succeeded"
        # redis is no longer enabled: the fallback enabled it, HOOKLINE_DESTINATIONS does not.
        refused = await hl.client.post(
            "/api/v1/webhooks",
            json={"tenant_id": hooks[0]["tenant_id"], "url": f"{SHARED_URL}?channel=c"},
        )
        assert refused.status_code == 422
        assert "redis destinations are not enabled" in refused.json()["detail"]

    async with running(settings, environ=webhook_env) as hl:  # phase 3
        assert hl.node.declared.changes == []


async def test_a_declared_password_is_kept_sealed_and_compared_at_every_start(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    first = "redis://:first-pass-1@127.0.0.1:6379/0"
    second = "redis://:second-pass-2@127.0.0.1:6379/0"
    shown = "ENABLE_REDIS_FALLBACK redis://:****@127.0.0.1:6379/0?channel=hookline.events"
    base = {"WEBHOOK_URL": "https://a.example/ready", "ENABLE_REDIS_FALLBACK": "true"}
    settings = make_settings(database_url, max_request_timeout=30)
    seen = []
    for server in (first, first, second):
        node = Hookline(settings, environ={**base, "REDIS_URL": server}, run_worker=False)
        await node.start()
        try:
            hooks = await node.service.webhooks.managed("env")
            redis_hook = hooks["env:ENABLE_REDIS_FALLBACK"]
            assert redis_hook.url == "redis://:****@127.0.0.1:6379/0?channel=hookline.events"
            url = f"{server}?channel=hookline.events"
            assert await node.service.webhooks.has_url(redis_hook.id, url)
            seen.append([str(c).replace(redis_hook.id, "wh") for c in node.declared.changes])
        finally:
            await node.stop()
    assert seen[0][-1] == f"create webhook {shown}"
    assert seen[1] == []  # the same password: nothing to change
    assert seen[2] == [f"update webhook wh ({shown}): url"]
    assert "first-pass-1" not in caplog.text
    assert "second-pass-2" not in caplog.text
