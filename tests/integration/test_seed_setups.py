"""Done when: every seed's receivers take hookline's deliveries unchanged.

For each seed, hookline starts configured the seed's way (seeds 000 and 002: their environment
variables; 001, 003, 004: a HOOKLINE_CONFIG file, built on the seed's catalog in
examples/catalogs/), the seed's events are sent, and what arrives is checked with the seed's own
receiver logic, rewritten here: shape, headers, signature and, for seed 002, retry timing.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from tests.support import api
from tests.support.harness import Running, make_settings, running
from tests.support.receiver import Received, Receiver, Reply

ROOT = Path(__file__).resolve().parents[2]
CATALOGS = ROOT / "examples" / "catalogs"


def hex_hmac(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def js_stringify(body: bytes) -> bytes:
    """What `JSON.stringify(req.body)` gives back after express.json() parsed `body`."""
    return json.dumps(json.loads(body), separators=(",", ":"), ensure_ascii=False).encode()


def catalog(name: str) -> str:
    [path] = CATALOGS.glob(f"{name}-*.toml")
    return path.read_text()


def example(text: str, event_type: str) -> dict[str, Any]:
    import tomllib

    [declared] = [t for t in tomllib.loads(text)["event_types"] if t["name"] == event_type]
    first: dict[str, Any] = declared["examples"][0]
    return first


def seconds(stamp: str) -> float:
    return datetime.fromisoformat(stamp).timestamp()


# --- seed 000: WEBHOOKS_ALL and WEBHOOKS_CASCADE ----------------------------------------------

SEED_000_SECRET = "crypto-regime-shared-secret"


def seed_000_receiver(request: Received, secret: str) -> dict[str, Any]:
    """Seed 000's `verify_webhook_signature` and `handle_webhook`."""
    signature = request.headers.get("X-Webhook-Signature")
    assert signature is not None
    expected = hmac.new(secret.encode(), request.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(signature, expected)
    assert request.headers["Content-Type"].startswith("application/json")
    event: dict[str, Any] = json.loads(request.body)
    print(f"Received {event['event_type']} for {event['symbol']}")
    assert event["severity"] in ("CRITICAL", "WARNING", "INFO")
    return event


async def test_seed_000_environment(database_url: str, receiver: Receiver, tmp_path: Path) -> None:
    path = tmp_path / "hookline.toml"
    path.write_text(catalog("000"))
    env = {
        "WEBHOOKS_ALL": receiver.url("/all"),
        "WEBHOOKS_CASCADE": f"{receiver.url('/cascade-1')},{receiver.url('/cascade-2')}",
        "WEBHOOK_SECRET": SEED_000_SECRET,
    }
    cascade = example(catalog("000"), "LIQUIDATION_CASCADE")
    funding = example(catalog("000"), "FUNDING_ANOMALY")
    async with running(make_settings(database_url, config=path), environ=env) as hl:
        await api.send(hl.client, "LIQUIDATION_CASCADE", cascade)  # no tenant: a broadcast
        await api.send(hl.client, "FUNDING_ANOMALY", funding)
        everything = await receiver.wait_for(2, "/all")
        [first] = await receiver.wait_for(1, "/cascade-1")
        [second] = await receiver.wait_for(1, "/cascade-2")

    assert sorted(seed_000_receiver(r, SEED_000_SECRET)["source"] for r in everything) == [
        "CASCADE",
        "FUNDING",
    ]
    for request in (first, second):
        event = seed_000_receiver(request, SEED_000_SECRET)
        assert event == cascade  # the body is the event object itself
    assert len(receiver.at("/cascade-1")) == 1  # a FUNDING event is not a CASCADE one


# --- seed 002: WEBHOOK_* with the Hokusai header and its retry schedule ------------------------

SEED_002_SECRET = "your_shared_secret_here"


def seed_002_receiver(request: Received, secret: str) -> dict[str, Any]:
    """Seed 002's `verify_webhook_signature` (Python over the raw body, and Node over
    JSON.stringify of the parsed body) and its idempotency check's key."""
    signature = request.headers["X-Hokusai-Signature"]
    expected = hmac.new(secret.encode(), request.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(signature, expected)
    assert hmac.compare_digest(signature, hex_hmac(secret, js_stringify(request.body)))
    data: dict[str, Any] = json.loads(request.body)
    assert data["idempotency_key"]
    return data


async def recorded(hl: Running, delivery_id: str, number: int) -> tuple[dict[str, Any], float]:
    """Once attempt `number` is recorded: the delivery, and when that attempt was made."""
    while True:
        attempts = await api.attempts(hl.client, delivery_id)
        if len(attempts) >= number:
            delivery = api.ok_object(await hl.client.get(f"/api/v1/deliveries/{delivery_id}"))
            return delivery, seconds(attempts[number - 1]["created_at"])
        await asyncio.sleep(0.05)


async def test_seed_002_environment_with_its_retry_timing(
    database_url: str, receiver: Receiver, tmp_path: Path
) -> None:
    path = tmp_path / "hookline.toml"
    path.write_text(catalog("002"))
    env = {
        "WEBHOOK_URL": receiver.url("/api/models/ready"),
        "WEBHOOK_SECRET": SEED_002_SECRET,
        "WEBHOOK_SIGNATURE_HEADER": "X-Hokusai-Signature",
    }
    receiver.script("/api/models/ready", Reply(500))
    model = example(catalog("002"), "model.registered")
    # The seed's own circuit breaker (5 failures) would hold the sixth attempt: raise it so the
    # schedule alone decides here.
    settings = make_settings(
        database_url, config=path, max_request_timeout=30, circuit_breaker_failure_threshold=10
    )
    async with running(settings, environ=env) as hl:
        [hook] = api.ok_object(await hl.client.get("/api/v1/webhooks"))["data"]
        assert (hook["timeout"], hook["retry_schedule"]) == (30, [2, 4, 8, 16, 32])
        sent = await api.send(hl.client, "model.registered", model)
        [delivery] = await api.deliveries(hl.client, sent["id"])

        for number, delay in enumerate([2, 4, 8, 16, 32], start=1):
            current, attempted_at = await recorded(hl, delivery["id"], number)
            assert current["status"] == "pending"
            waits = seconds(current["next_attempt_at"]) - attempted_at
            assert 0.8 * delay - 0.5 <= waits <= 1.2 * delay + 0.5, (number, waits)
            hl.advance(seconds(current["next_attempt_at"]) - hl.clock() + 0.05)

        await receiver.wait_for(6, "/api/models/ready")
        failed = await api.delivery_when(hl.client, delivery["id"], "failed")
        assert failed["attempt_count"] == 6  # WEBHOOK_MAX_RETRIES=5 after the first

    for request in receiver.at("/api/models/ready"):
        assert seed_002_receiver(request, SEED_002_SECRET) == model


# --- seed 001: a file, x-okd-signature and its replay-safe variant ----------------------------

OKD_SECRET = "okd-webhook-secret-0123"
OKD_REPLAY_SECRET = "okd-replay-secret-4567"

SEED_001_WEBHOOKS = """
[[tenants]]
uid = "trader-42"
name = "Trader 42"

[[webhooks]]
tenant_id = "trader-42"
name = "orders"
url = "@ORDERS@"
event_types = ["order.filled", "order.canceled", "order.rejected"]
secret = "${OKD_SECRET}"
signature = { header = "x-okd-signature" }

[[webhooks]]
tenant_id = "trader-42"
name = "replay-safe"
url = "@REPLAY@"
event_types = ["order.filled"]
secret = "${OKD_REPLAY_SECRET}"

[webhooks.signature]
header = "x-signature"
signed = "{timestamp}{body}"
timestamp_unit = "ms"
headers = { x-timestamp = "{timestamp}", x-webhook-id = "{webhook_id}" }
"""


def seed_001_receiver(request: Received) -> dict[str, Any]:
    """Seed 001's express handler: verifySignature over JSON.stringify(req.body)."""
    payload = js_stringify(request.body)
    assert request.headers["x-okd-signature"] == hex_hmac(OKD_SECRET, payload)
    event: dict[str, Any] = json.loads(request.body)
    return event


def seed_001_secure_handler(request: Received, secrets: dict[str, str], now_ms: float) -> None:
    """Seed 001's SecureWebhookHandler: verifyTimestamp and verifySignature."""
    assert abs(now_ms - int(request.headers["x-timestamp"])) <= 300_000
    secret = secrets[request.headers["x-webhook-id"]]
    payload = request.headers["x-timestamp"].encode() + js_stringify(request.body)
    expected = hex_hmac(secret, payload)
    assert hmac.compare_digest(
        bytes.fromhex(request.headers["x-signature"]), bytes.fromhex(expected)
    )


async def test_seed_001_file(database_url: str, receiver: Receiver, tmp_path: Path) -> None:
    path = tmp_path / "hookline.toml"
    path.write_text(
        catalog("001")
        + SEED_001_WEBHOOKS.replace("@ORDERS@", receiver.url("/okd")).replace(
            "@REPLAY@", receiver.url("/secure")
        )
    )
    env = {"OKD_SECRET": OKD_SECRET, "OKD_REPLAY_SECRET": OKD_REPLAY_SECRET}
    filled = example(catalog("001"), "order.filled")
    async with running(make_settings(database_url, config=path), environ=env) as hl:
        hooks = api.ok_object(await hl.client.get("/api/v1/webhooks"))["data"]
        replay_id = next(h["id"] for h in hooks if h["name"] == "replay-safe")
        sent = await api.send(hl.client, "order.filled", filled, "trader-42")
        await api.send(
            hl.client, "order.canceled", example(catalog("001"), "order.canceled"), "trader-42"
        )
        orders = await receiver.wait_for(2, "/okd")
        [secure] = await receiver.wait_for(1, "/secure")
        now_ms = hl.clock() * 1000

    events = {e["type"]: e for e in map(seed_001_receiver, orders)}
    assert events["order.filled"]["data"] == filled
    assert events["order.filled"]["id"] == sent["id"]
    assert events["order.canceled"]["data"]["orderId"] == "test-125"
    seed_001_secure_handler(secure, {replay_id: OKD_REPLAY_SECRET}, now_ms)


# --- seed 003: a file, a template body and sha256= signatures with X-Webhook-* headers ---------

SEED_003_SECRET = "portfolio-alerts-secret-42"
SEED_003_WEBHOOK = '''
[[webhooks]]
tenant_id = "user-42"
name = "price alerts"
url = "@URL@"
event_types = ["price_above", "price_below"]
format = "template"
template = """{"id": {{ event.id | tojson }}, "event": {{ event.type | tojson }},
 "timestamp": {{ event.timestamp | tojson }}, "data": {{ data | tojson }}}"""
secret = "${SEED_003_SECRET}"
retry_schedule = [60, 300, 900]

[webhooks.signature]
header = "X-Webhook-Signature"
value = "sha256={signature}"

[webhooks.signature.headers]
X-Webhook-Event = "{event_type}"
X-Webhook-Timestamp = "{timestamp}"
X-Webhook-ID = "{id}"
'''


async def test_seed_003_file(database_url: str, receiver: Receiver, tmp_path: Path) -> None:
    path = tmp_path / "hookline.toml"
    path.write_text(catalog("003") + SEED_003_WEBHOOK.replace("@URL@", receiver.url("/alerts")))
    alert = example(catalog("003"), "price_above")
    async with running(
        make_settings(database_url, config=path), environ={"SEED_003_SECRET": SEED_003_SECRET}
    ) as hl:
        sent = await api.send(hl.client, "price_above", alert, "user-42")
        [request] = await receiver.wait_for(1, "/alerts")
        now = hl.clock()

    # Seed 003's headers and standard payload structure.
    body = json.loads(request.body)
    assert body == {
        "id": sent["id"],
        "event": "price_above",
        "timestamp": body["timestamp"],
        "data": alert,
    }
    assert request.headers["X-Webhook-Signature"] == "sha256=" + hex_hmac(
        SEED_003_SECRET, request.body
    )
    assert request.headers["X-Webhook-Event"] == "price_above"
    assert request.headers["X-Webhook-ID"] == sent["id"]
    assert abs(int(request.headers["X-Webhook-Timestamp"]) - now) < 60


# --- seed 004: a file, the exploit as `exploit`, X-Kamiyo-Signature, filters ------------------

KAMIYO_SECRET = "VXJd8B9pQ_S-kamiyo-secret"
SEED_004_WEBHOOKS = '''
[[tenants]]
uid = "team-acme"
name = "Acme (Team tier)"
max_webhooks = 5

[[webhooks]]
tenant_id = "team-acme"
name = "Production Alert System"
url = "@URL@"
event_types = ["exploit.detected"]
format = "template"
template = """{"event": {{ event.type | tojson }}, "timestamp": {{ event.unix }},
 "exploit": {{ data | tojson }}}"""
secret = "${KAMIYO_WEBHOOK_SECRET}"
signature = { header = "X-Kamiyo-Signature" }

[webhooks.filter]
"data.amount_usd" = { "$gte" = 100000 }
"data.chain" = { "$iin" = ["ethereum", "arbitrum"] }
'''


def seed_004_receiver(request: Received, secret: str) -> dict[str, Any]:
    """Seed 004's minimal Flask server."""
    signature = request.headers.get("X-Kamiyo-Signature", "")
    payload = request.body.decode()
    expected = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
    assert hmac.compare_digest(signature, expected)
    exploit: dict[str, Any] = json.loads(request.body)["exploit"]
    print(f"Exploit detected: {exploit['protocol']} on {exploit['chain']}")
    print(f"   Amount: ${exploit['amount_usd']:,.0f}")
    return exploit


async def test_seed_004_file(database_url: str, receiver: Receiver, tmp_path: Path) -> None:
    path = tmp_path / "hookline.toml"
    path.write_text(catalog("004") + SEED_004_WEBHOOKS.replace("@URL@", receiver.url("/kamiyo")))
    big = example(catalog("004"), "exploit.detected")
    small = {**big, "id": 790, "amount_usd": 5000.0}
    elsewhere = {**big, "id": 791, "chain": "Solana"}
    async with running(
        make_settings(database_url, config=path), environ={"KAMIYO_WEBHOOK_SECRET": KAMIYO_SECRET}
    ) as hl:
        for exploit in (small, elsewhere, big):
            await api.send(hl.client, "exploit.detected", exploit, "team-acme")
        [request] = await receiver.wait_for(1, "/kamiyo")

    assert seed_004_receiver(request, KAMIYO_SECRET) == big
    body = json.loads(request.body)
    assert body["event"] == "exploit.detected"
    assert isinstance(body["timestamp"], int)  # seconds since 1970, as seed 004 sends it
    assert abs(body["timestamp"] - time.time()) < 3600
    assert len(receiver.at("/kamiyo")) == 1
