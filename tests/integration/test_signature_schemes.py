"""Each seed's receiver keeps working unchanged: deliveries from a real node to a loopback
receiver, checked with the seed's own verifier (rewritten here from /shared/seeds/*.txt), and
with the documented verification of the github, stripe and shopify presets."""

from __future__ import annotations

import base64
import decimal
import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

import pytest
import standardwebhooks
import stripe
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from tests.support import api
from tests.support.harness import Running
from tests.support.receiver import Received, Receiver, Reply

# What a platform sends: nested, non-ASCII, and numbers a JavaScript receiver re-prints alike.
DATA: dict[str, Any] = {
    "symbol": "BTC/USDT",
    "severity": "CRITICAL",
    "title": "Cascade de liquidations détectée: BTC/USDT ✓",
    "data": {"velocity_usd_per_hour": 1234567, "ratio": 0.85, "levels": [45000, -3.5]},
}
SEED_SECRET = "your_shared_secret_here"  # a receiver's existing secret, brought to hookline


async def hook_with(
    hl: Running, receiver: Receiver, path: str, **fields: Any
) -> tuple[str, dict[str, Any]]:
    tenant = await api.tenant(hl.client)
    if "order.filled" not in {
        t["name"] for t in api.ok(await hl.client.get("/api/v1/event-types"))["data"]
    }:
        await api.event_type(hl.client, "order.filled")
    hook = await api.webhook(hl.client, tenant["id"], receiver.url(path), **fields)
    return tenant["id"], hook


async def one_delivery(
    hl: Running, receiver: Receiver, path: str, **fields: Any
) -> tuple[dict[str, Any], dict[str, Any], Received]:
    """A webhook with `fields`, one event sent to it, and the request that arrived."""
    tenant_id, hook = await hook_with(hl, receiver, path, **fields)
    sent = await api.send(hl.client, "order.filled", DATA, tenant_id)
    [request] = await receiver.wait_for(1, path)
    [delivery] = await api.settled(hl.client, sent["id"])
    assert delivery["status"] == "succeeded"
    return hook, sent, request


def node_headers(request: Received) -> dict[str, str]:
    """Headers as Express (and Flask, case-insensitively) hand them to a handler."""
    return {name.lower(): value for name, value in request.headers.items()}


def js_number(x: float) -> str:
    """A number as JavaScript prints it (ECMAScript Number::toString)."""
    if x == 0:
        return "0"
    sign = "-" if x < 0 else ""
    shortest = decimal.Decimal(repr(abs(x))).normalize().as_tuple()
    digits = "".join(map(str, shortest.digits))
    assert isinstance(shortest.exponent, int)
    k, n = len(digits), shortest.exponent + len(digits)
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return sign + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * -n + digits
    e = n - 1
    mantissa = digits if k == 1 else digits[0] + "." + digits[1:]
    return f"{sign}{mantissa}e{'+' if e >= 0 else '-'}{abs(e)}"


def js_stringify(value: Any) -> str:
    """JSON.stringify(value) as Node writes it: no spaces, keys in order, non-ASCII as is."""
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, int):
        return str(value) if abs(value) <= 2**53 else js_number(float(value))
    if isinstance(value, float):
        return js_number(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ",".join(js_stringify(v) for v in value) + "]"
    assert isinstance(value, dict)
    return (
        "{"
        + ",".join(
            json.dumps(k, ensure_ascii=False) + ":" + js_stringify(v) for k, v in value.items()
        )
        + "}"
    )


def test_js_stringify_prints_numbers_as_javascript_does() -> None:
    cases = {45000.0: "45000", 0.85: "0.85", 1e21: "1e+21", 1e-7: "1e-7", 0.00001: "0.00001"}
    for number, printed in cases.items():
        assert js_number(number) == printed
    assert js_stringify({"a": [1, "é", None, True]}) == '{"a":[1,"é",null,true]}'


# --- seed 000: X-Webhook-Signature, hex HMAC of the raw body (verify_webhook_signature) --------


def seed000_verify_webhook_signature(headers: Mapping[str, str], body: bytes, secret: str) -> bool:
    signature = headers.get("x-webhook-signature")  # request.headers.get('X-Webhook-Signature')
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return signature is not None and hmac.compare_digest(signature, expected)


async def test_seed_000_receivers_verify_x_webhook_signature(
    hookline: Running, receiver: Receiver
) -> None:
    hook, _, request = await one_delivery(
        hookline,
        receiver,
        "/webhooks/market-events",
        signature={"header": "X-Webhook-Signature"},
        secret=SEED_SECRET,
    )
    assert hook["secret"] == SEED_SECRET
    assert seed000_verify_webhook_signature(node_headers(request), request.body, SEED_SECRET)
    assert not seed000_verify_webhook_signature(
        node_headers(request), request.body, "another_secret_entirely"
    )
    assert "webhook-signature" not in node_headers(request)  # the scheme replaces Standard's


# --- seed 001: x-okd-signature over JSON.stringify(req.body); the replay-safe variant ---------


def seed001_verify_signature(headers: Mapping[str, str], body: bytes, secret: str) -> bool:
    """function verifySignature(req): express.json() parsed the body; JSON.stringify again."""
    signature = headers.get("x-okd-signature")
    payload = js_stringify(json.loads(body))
    expected = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
    return signature == expected


class SecureWebhookHandler:
    """Seed 001's SecureWebhookHandler (rate limiting left out): secrets by x-webhook-id,
    x-signature = hex HMAC of x-timestamp + JSON.stringify(body), a 5-minute window."""

    def __init__(self, secrets: Mapping[str, str]) -> None:
        self.secrets = dict(secrets)  # webhook_id -> secret

    def validate_request(self, headers: Mapping[str, str], body: bytes, now_ms: float) -> None:
        if not self.verify_signature(headers, body):
            raise ValueError("Invalid signature")
        if not self.verify_timestamp(headers["x-timestamp"], now_ms):
            raise ValueError("Request too old")

    def verify_timestamp(self, timestamp: str, now_ms: float) -> bool:
        max_age = 300000  # 5 minutes
        return abs(now_ms - int(timestamp)) <= max_age

    def verify_signature(self, headers: Mapping[str, str], body: bytes) -> bool:
        webhook_id = headers["x-webhook-id"]
        signature = headers["x-signature"]
        timestamp = headers["x-timestamp"]
        secret = self.secrets.get(webhook_id)
        if not secret:
            return False
        payload = timestamp + js_stringify(json.loads(body))
        expected = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
        given = bytes.fromhex(signature)  # Buffer.from(signature, 'hex')
        if len(given) != len(bytes.fromhex(expected)):
            raise ValueError("Input buffers must have the same byte length")  # timingSafeEqual
        return hmac.compare_digest(given, bytes.fromhex(expected))


SEED001_SECURE = {
    "header": "x-signature",
    "signed": "{timestamp}{body}",
    "timestamp_unit": "ms",
    "headers": {"x-timestamp": "{timestamp}", "x-webhook-id": "{webhook_id}"},
}


async def test_seed_001_receivers_verify_x_okd_signature_after_reparsing_the_body(
    hookline: Running, receiver: Receiver
) -> None:
    _, _, request = await one_delivery(
        hookline,
        receiver,
        "/webhook/okd-finance",
        signature={"header": "x-okd-signature"},
        secret="your-webhook-secret",
    )
    assert seed001_verify_signature(node_headers(request), request.body, "your-webhook-secret")
    assert not seed001_verify_signature(node_headers(request), request.body, "wrong-webhook-secret")


async def test_seed_001_secure_handler_finds_each_webhooks_secret_and_refuses_replays(
    hookline: Running, receiver: Receiver
) -> None:
    secrets = ["first-tenant-secret-1", "second-tenant-secret-2"]
    hooks = []
    for secret in secrets:
        tenant_id, hook = await hook_with(
            hookline, receiver, "/webhook/secure", signature=SEED001_SECURE, secret=secret
        )
        hooks.append(hook)
        await api.send(hookline.client, "order.filled", DATA, tenant_id)
    handler = SecureWebhookHandler({hook["id"]: hook["secret"] for hook in hooks})

    requests = await receiver.wait_for(2, "/webhook/secure")
    assert {node_headers(r)["x-webhook-id"] for r in requests} == {h["id"] for h in hooks}
    for request in requests:
        headers = node_headers(request)
        handler.validate_request(headers, request.body, now_ms=request.at * 1000)
        assert abs(int(headers["x-timestamp"]) - request.at * 1000) < 5_000  # milliseconds
        with pytest.raises(ValueError, match=r"^Request too old$"):  # replayed 6 minutes on
            handler.validate_request(headers, request.body, now_ms=request.at * 1000 + 360_000)
    other = SecureWebhookHandler({hooks[0]["id"]: secrets[1], hooks[1]["id"]: secrets[0]})
    assert not any(other.verify_signature(node_headers(r), r.body) for r in requests)


# --- seed 002: X-Hokusai-Signature (verify_webhook_signature, and the Node example) ----------


def seed002_verify_webhook_signature(payload: bytes, signature: str, secret: str) -> bool:
    expected_signature = hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()
    return hmac.compare_digest(signature, expected_signature)


async def test_seed_002_receivers_verify_x_hokusai_signature(
    hookline: Running, receiver: Receiver
) -> None:
    _, _, request = await one_delivery(
        hookline,
        receiver,
        "/api/models/ready",
        signature={"header": "X-Hokusai-Signature"},
        secret=SEED_SECRET,
    )
    signature = node_headers(request)["x-hokusai-signature"]
    assert seed002_verify_webhook_signature(request.body, signature, SEED_SECRET)
    node_payload = js_stringify(json.loads(request.body)).encode()  # the Node.js example
    assert seed002_verify_webhook_signature(node_payload, signature, SEED_SECRET)


# --- seed 003: X-Webhook-Signature: sha256=<hex>, with X-Webhook-Event/-Timestamp/-ID ---------

SEED003: dict[str, Any] = {
    "header": "X-Webhook-Signature",
    "value": "sha256={signature}",
    "headers": {
        "X-Webhook-Event": "{event_type}",
        "X-Webhook-Timestamp": "{timestamp}",
        "X-Webhook-ID": "{id}",
    },
}


def seed003_verify(headers: Mapping[str, str], body: bytes, secret: str) -> bool:
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(headers["x-webhook-signature"], expected)


async def test_seed_003_headers_carry_the_event_the_time_and_an_id_stable_across_retries(
    hookline: Running, receiver: Receiver
) -> None:
    receiver.script("/hooks/c034", Reply(500), Reply(200))
    tenant_id, hook = await hook_with(hookline, receiver, "/hooks/c034", signature=SEED003)
    assert hook["signature"] == {
        **SEED003,
        "signed": "{body}",
        "encoding": "hex",
        "timestamp_unit": "s",
    }
    secret = hook["secret"]  # generated: a whsec_ secret, used as its UTF-8 text
    assert secret.startswith("whsec_")
    sent = await api.send(hookline.client, "order.filled", DATA, tenant_id)

    requests = await receiver.wait_for(2, "/hooks/c034")
    for request in requests:
        headers = node_headers(request)
        assert seed003_verify(headers, request.body, secret)
        assert headers["x-webhook-event"] == "order.filled"
        assert headers["x-webhook-id"] == sent["id"]
        assert abs(int(headers["x-webhook-timestamp"]) - request.at) < 5  # seconds
    first, second = (node_headers(r)["x-webhook-timestamp"] for r in requests)
    assert int(first) <= int(second)
    [delivery] = await api.settled(hookline.client, sent["id"])
    assert (delivery["status"], delivery["attempt_count"]) == ("succeeded", 2)


# --- seed 004: X-Kamiyo-Signature (verify_webhook, and the Node example) ---------------------


def seed004_verify_webhook(headers: Mapping[str, str], body: bytes, secret: str) -> bool:
    signature = headers["x-kamiyo-signature"]
    payload = body.decode()  # request.get_data(as_text=True)
    expected = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(signature, expected)


async def test_seed_004_receivers_verify_x_kamiyo_signature(
    hookline: Running, receiver: Receiver
) -> None:
    secret = "VXJd8B9pQ_S4kq2mZ0wLr7Tn"
    _, _, request = await one_delivery(
        hookline,
        receiver,
        "/webhooks/kamiyo",
        signature={"header": "X-Kamiyo-Signature"},
        secret=secret,
    )
    headers = node_headers(request)
    assert seed004_verify_webhook(headers, request.body, secret)
    node_payload = js_stringify(json.loads(request.body))  # verifyWebhook(req, secret) in Node
    expected = hmac.new(secret.encode(), node_payload.encode(), hashlib.sha256).hexdigest()
    assert headers["x-kamiyo-signature"] == expected


# --- presets ---------------------------------------------------------------------------------


async def test_the_github_preset_verifies_as_github_documents(
    hookline: Running, receiver: Receiver
) -> None:
    hook, _, request = await one_delivery(
        hookline, receiver, "/github", signature={"preset": "github"}
    )
    assert hook["signature"]["header"] == "X-Hub-Signature-256"
    # docs.github.com, "Validating webhook deliveries": verify_signature(payload_body, ...)
    hash_object = hmac.new(hook["secret"].encode("utf-8"), request.body, hashlib.sha256)
    expected_signature = "sha256=" + hash_object.hexdigest()
    assert hmac.compare_digest(expected_signature, node_headers(request)["x-hub-signature-256"])


async def test_the_stripe_preset_verifies_with_stripes_library(
    hookline: Running, receiver: Receiver
) -> None:
    hook, sent, request = await one_delivery(
        hookline, receiver, "/stripe", signature={"preset": "stripe"}
    )
    header = node_headers(request)["stripe-signature"]
    event = stripe.Webhook.construct_event(request.body, header, hook["secret"], tolerance=300)
    assert event["id"] == sent["id"]
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(request.body, header, "whsec_another", tolerance=300)


async def test_the_shopify_preset_verifies_as_shopify_documents(
    hookline: Running, receiver: Receiver
) -> None:
    hook, _, request = await one_delivery(
        hookline, receiver, "/shopify", signature={"preset": "shopify"}
    )
    # shopify.dev, "Verify webhooks": base64 of the HMAC-SHA256 of the raw body
    digest = hmac.new(hook["secret"].encode("utf-8"), request.body, hashlib.sha256).digest()
    computed_hmac = base64.b64encode(digest)
    assert hmac.compare_digest(computed_hmac, request.headers["X-Shopify-Hmac-Sha256"].encode())


# --- rotation, changing schemes, and what is refused ------------------------------------------


async def test_a_custom_scheme_signs_with_the_new_secret_as_soon_as_it_is_rotated(
    hookline: Running, receiver: Receiver
) -> None:
    tenant_id, hook = await hook_with(
        hookline,
        receiver,
        "/rotated",
        signature={"header": "X-Webhook-Signature"},
        secret=SEED_SECRET,
    )
    new_secret = "the-receivers-next-secret"
    rotated = api.ok(
        await hookline.client.post(
            f"/api/v1/webhooks/{hook['id']}/rotate-secret",
            json={"secret": new_secret, "grace_seconds": 3600},
        )
    )
    assert rotated["secret"] == new_secret
    await api.send(hookline.client, "order.filled", DATA, tenant_id)
    [request] = await receiver.wait_for(1, "/rotated")
    headers = node_headers(request)
    assert seed000_verify_webhook_signature(headers, request.body, new_secret)
    assert not seed000_verify_webhook_signature(headers, request.body, SEED_SECRET)

    refused = await hookline.client.post(
        f"/api/v1/webhooks/{hook['id']}/rotate-secret", json={"secret": "too-short"}
    )
    assert refused.status_code == 422, refused.text
    assert "16 to 256 printable ASCII characters; this one has 9" in refused.json()["detail"]


async def test_a_webhook_changes_scheme_and_back_to_standard_webhooks_after_a_rotation(
    hookline: Running, receiver: Receiver
) -> None:
    tenant_id, hook = await hook_with(hookline, receiver, "/switch")
    patched = api.ok(
        await hookline.client.patch(
            f"/api/v1/webhooks/{hook['id']}", json={"signature": {"preset": "github"}}
        )
    )
    assert patched["signature"]["header"] == "X-Hub-Signature-256"
    await api.send(hookline.client, "order.filled", DATA, tenant_id)
    [first] = await receiver.wait_for(1, "/switch")
    expected = "sha256=" + hmac.new(hook["secret"].encode(), first.body, hashlib.sha256).hexdigest()
    assert node_headers(first)["x-hub-signature-256"] == expected

    mine = api.ok(
        await hookline.client.post(
            f"/api/v1/webhooks/{hook['id']}/rotate-secret",
            json={"secret": SEED_SECRET, "grace_seconds": 3600},
        )
    )
    assert mine["secret"] == SEED_SECRET
    back = await hookline.client.patch(f"/api/v1/webhooks/{hook['id']}", json={"signature": None})
    assert back.status_code == 422, back.text
    assert back.json()["detail"].startswith(
        "signature: Standard Webhooks signs with a 'whsec_...' secret and this webhook's secret "
        "is not one; first rotate the secret"
    )

    # rotated again (generated: whsec_), the rotated-out custom secret cannot sign Standard
    # Webhooks, so it stops signing at once
    fresh = api.ok(
        await hookline.client.post(
            f"/api/v1/webhooks/{hook['id']}/rotate-secret", json={"grace_seconds": 3600}
        )
    )
    standard = api.ok(
        await hookline.client.patch(f"/api/v1/webhooks/{hook['id']}", json={"signature": None})
    )
    assert standard["signature"] is None
    sent = await api.send(hookline.client, "order.filled", DATA, tenant_id)
    second = (await receiver.wait_for(2, "/switch"))[1]
    payload = standardwebhooks.Webhook(fresh["secret"]).verify(second.body, second.headers)
    assert payload["id"] == sent["id"]
    assert len(second.headers["webhook-signature"].split(" ")) == 1


async def test_bad_schemes_and_secrets_are_refused_with_what_to_fix(
    hookline: Running, receiver: Receiver
) -> None:
    tenant = await api.tenant(hookline.client)
    cases: list[tuple[dict[str, Any], str]] = [
        (
            {"signature": {"header": "X-Sig", "value": "sha256={sig}"}},
            "signature.value: unknown placeholder {sig}; the known ones here are {timestamp}, "
            "{id}, {webhook_id}, {event_type}, {signature}",
        ),
        ({"signature": {"preset": "gitlab"}}, "signature.preset: unknown preset 'gitlab'"),
        (
            {"signature": {"header": "X-Sig"}, "secret": "short"},
            "secret: with a custom signature scheme a secret is 16 to 256 printable ASCII "
            "characters; this one has 5",
        ),
        ({"secret": SEED_SECRET}, "secret: a webhook secret is 'whsec_' followed by base64"),
    ]
    for fields, detail in cases:
        refused = await hookline.client.post(
            "/api/v1/webhooks",
            json={"tenant_id": tenant["id"], "url": receiver.url("/"), **fields},
        )
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["detail"].startswith(detail), refused.json()["detail"]
    assert api.ok(await hookline.client.get("/api/v1/webhooks"))["data"] == []


# --- ed25519 (Standard Webhooks v1a): receivers hold the public key only -----------------------


def v1a_verify(public_keys: list[str], request: Received) -> bool:
    """A receiver verifying v1a as the Standard Webhooks specification describes it."""
    headers = node_headers(request)
    message = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + request.body
    for signature in headers["webhook-signature"].split(" "):
        version, _, encoded = signature.partition(",")
        for public_key in public_keys if version == "v1a" else []:
            raw = base64.b64decode(public_key.removeprefix("whpk_"))
            try:
                Ed25519PublicKey.from_public_bytes(raw).verify(base64.b64decode(encoded), message)
            except InvalidSignature:
                continue
            return True
    return False


async def test_an_ed25519_webhook_is_verified_with_the_public_key_the_api_serves(
    hookline: Running, receiver: Receiver
) -> None:
    tenant_id, hook = await hook_with(hookline, receiver, "/v1a", signature={"preset": "ed25519"})
    assert hook["signature"] == {"algorithm": "ed25519"}
    assert hook["secret"].startswith("whsk_")  # the private key: it stays with the platform
    url = f"/api/v1/webhooks/{hook['id']}/public-key"
    [public_key] = api.ok(await hookline.client.get(url))["public_keys"]
    assert public_key.startswith("whpk_")
    await api.send(hookline.client, "order.filled", DATA, tenant_id)
    [first] = await receiver.wait_for(1, "/v1a")
    assert v1a_verify([public_key], first)

    api.ok(
        await hookline.client.post(
            f"/api/v1/webhooks/{hook['id']}/rotate-secret", json={"grace_seconds": 3600}
        )
    )
    new_key, old_key = api.ok(await hookline.client.get(url))["public_keys"]
    assert old_key == public_key
    await api.send(hookline.client, "order.filled", DATA, tenant_id)
    second = (await receiver.wait_for(2, "/v1a"))[1]
    assert v1a_verify([old_key], second)  # receivers that did not switch yet
    assert v1a_verify([new_key], second)

    leave = await hookline.client.patch(
        f"/api/v1/webhooks/{hook['id']}", json={"signature": {"preset": "github"}}
    )
    assert leave.status_code == 422, leave.text
    assert "must never become a secret shared with a receiver" in leave.json()["detail"]


async def test_a_webhook_switched_to_ed25519_gets_a_key_pair_and_others_have_no_public_key(
    hookline: Running, receiver: Receiver
) -> None:
    tenant_id, hook = await hook_with(hookline, receiver, "/to-v1a")
    url = f"/api/v1/webhooks/{hook['id']}/public-key"
    none_yet = await hookline.client.get(url)
    assert none_yet.status_code == 409, none_yet.text
    assert '{"preset": "ed25519"}' in none_yet.json()["detail"]

    api.ok(
        await hookline.client.patch(
            f"/api/v1/webhooks/{hook['id']}", json={"signature": {"preset": "ed25519"}}
        )
    )
    [public_key] = (await hookline.api.webhooks.public_keys(hook["id"])).public_keys
    await api.send(hookline.client, "order.filled", DATA, tenant_id)
    [request] = await receiver.wait_for(1, "/to-v1a")
    assert v1a_verify([public_key], request)
    assert request.headers["webhook-signature"].count("v1a,") == 1
