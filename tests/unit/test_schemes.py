"""Signature schemes as tables: what `expand` stores or refuses (and why), the headers a scheme
produces, and which secrets a scheme takes."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from hookline import schemes, signing
from hookline.errors import InvalidInput

BODY = b'{"symbol":"BTC/USDT","price":45000}'
MESSAGE = schemes.Message("evt_1", "wh_1", "order.filled", 1_738_384_200.25, BODY)
SECRET = "your_shared_secret_here"
OLD_SECRET = "an_older_secret_still_valid"


def hexmac(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def b64mac(secret: str, message: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


EXPANDED = [
    (
        {"header": "X-Webhook-Signature"},
        {
            "header": "X-Webhook-Signature",
            "value": "{signature}",
            "signed": "{body}",
            "encoding": "hex",
            "timestamp_unit": "s",
            "headers": {},
        },
    ),
    (
        {"preset": "github"},
        {
            "header": "X-Hub-Signature-256",
            "value": "sha256={signature}",
            "signed": "{body}",
            "encoding": "hex",
            "timestamp_unit": "s",
            "headers": {},
        },
    ),
    (
        {"preset": "stripe"},
        {
            "header": "Stripe-Signature",
            "value": "t={timestamp},v1={signature}",
            "signed": "{timestamp}.{body}",
            "encoding": "hex",
            "timestamp_unit": "s",
            "headers": {},
        },
    ),
    (
        {"preset": "shopify"},
        {
            "header": "X-Shopify-Hmac-Sha256",
            "value": "{signature}",
            "signed": "{body}",
            "encoding": "base64",
            "timestamp_unit": "s",
            "headers": {},
        },
    ),
    (  # a preset's fields can be overridden or added to
        {"preset": "github", "headers": {"X-GitHub-Delivery": "{id}"}},
        {
            "header": "X-Hub-Signature-256",
            "value": "sha256={signature}",
            "signed": "{body}",
            "encoding": "hex",
            "timestamp_unit": "s",
            "headers": {"X-GitHub-Delivery": "{id}"},
        },
    ),
    (
        {
            "header": "x-signature",
            "signed": "{timestamp}{body}",
            "timestamp_unit": "ms",
            "headers": {"x-timestamp": "{timestamp}", "x-webhook-id": "{webhook_id}"},
        },
        {
            "header": "x-signature",
            "value": "{signature}",
            "signed": "{timestamp}{body}",
            "encoding": "hex",
            "timestamp_unit": "ms",
            "headers": {"x-timestamp": "{timestamp}", "x-webhook-id": "{webhook_id}"},
        },
    ),
]


@pytest.mark.parametrize(("given", "stored"), EXPANDED)
def test_a_scheme_is_stored_expanded(given: dict[str, Any], stored: dict[str, Any]) -> None:
    assert schemes.expand(given) == stored
    assert schemes.expand(stored) == stored  # expanding is idempotent: an answer can be sent back


def test_no_scheme_is_standard_webhooks() -> None:
    assert schemes.expand(None) is None


REFUSED: list[tuple[dict[str, Any], tuple[str, ...], list[str]]] = [
    ({}, ("signature", "header"), ["signature.header is required", '{"preset": "github"}']),
    ({"preset": "gitlab"}, ("signature", "preset"), ["unknown preset 'gitlab'", "'github'"]),
    (
        {"header": "X-Sig", "digest": "sha1"},
        ("signature", "digest"),
        ["unknown field 'digest'", "header, value, signed, encoding, timestamp_unit, headers"],
    ),
    ({"header": "X Sig"}, ("signature", "header"), ["not a valid HTTP header name"]),
    ({"header": 7}, ("signature", "header"), ["not a valid HTTP header name"]),
    ({"header": "Content-Type"}, ("signature", "header"), ["set by HTTP itself"]),
    ({"header": "host"}, ("signature", "header"), ["set by HTTP itself"]),
    (
        {"header": "X-Sig", "value": "sha256={sig}"},
        ("signature", "value"),
        ["unknown placeholder {sig}", "{timestamp}, {id}, {webhook_id}, {event_type}, {signature}"],
    ),
    (
        {"header": "X-Sig", "value": "sha256="},
        ("signature", "value"),
        ["must contain {signature}"],
    ),
    (
        {"header": "X-Sig", "value": "{body}{signature}"},
        ("signature", "value"),
        ["unknown placeholder {body}", "can only be signed"],
    ),
    (
        {"header": "X-Sig", "signed": "{timestamp}"},
        ("signature", "signed"),
        ["must contain {body}"],
    ),
    (
        {"header": "X-Sig", "signed": "{signature}{body}"},
        ("signature", "signed"),
        ["unknown placeholder {signature}", "only known in `value`"],
    ),
    (
        {"header": "X-Sig", "signed": "{timestamp!r}.{body}"},
        ("signature", "signed"),
        ["{timestamp!r} takes no format or conversion"],
    ),
    (
        {"header": "X-Sig", "signed": "{body"},
        ("signature", "signed"),
        ["a literal brace as {{ or }}"],
    ),
    (
        {"header": "X-Sig", "signed": "{}{body}"},
        ("signature", "signed"),
        ["unknown placeholder {}"],
    ),
    ({"header": "X-Sig", "encoding": "base32"}, ("signature", "encoding"), ["'hex', 'base64'"]),
    ({"header": "X-Sig", "timestamp_unit": "us"}, ("signature", "timestamp_unit"), ["'s', 'ms'"]),
    (
        {"header": "X-Sig", "headers": ["X-Id"]},
        ("signature", "headers"),
        ["must be an object"],
    ),
    (
        {"header": "X-Sig", "headers": {"X-Id": "{event_id}"}},
        ("signature", "headers", "X-Id"),
        ["unknown placeholder {event_id}", "{timestamp}, {id}, {webhook_id}, {event_type}"],
    ),
    (
        {"header": "X-Sig", "headers": {"X-Sig2": "{signature}"}},
        ("signature", "headers", "X-Sig2"),
        ["unknown placeholder {signature}"],
    ),
    (
        {"header": "X-Sig", "headers": {"x-sig": "{id}"}},
        ("signature", "headers", "x-sig"),
        ["named twice"],
    ),
    (
        {"header": "X-Sig", "headers": {"Content-Length": "{id}"}},
        ("signature", "headers", "Content-Length"),
        ["set by HTTP itself"],
    ),
    (
        {"header": "X-Sig", "headers": {"X-Id": "{id}\r\nX-Evil: 1"}},
        ("signature", "headers", "X-Id"),
        ["printable ASCII characters only"],
    ),
    (
        {"header": "X-Sig", "headers": {f"X-{n}": "{id}" for n in range(11)}},
        ("signature", "headers"),
        ["at most 10 headers"],
    ),
    (
        {"header": "X-Sig", "signed": "{body}" + "x" * 1100},
        ("signature", "signed"),
        ["at most 1024 characters"],
    ),
]


@pytest.mark.parametrize(("given", "loc", "says"), REFUSED)
def test_a_bad_scheme_is_refused_saying_what_to_fix(
    given: dict[str, Any], loc: tuple[str, ...], says: list[str]
) -> None:
    with pytest.raises(InvalidInput) as caught:
        schemes.expand(given)
    assert caught.value.loc == loc
    for words in says:
        assert words in caught.value.detail


SIGNED: list[tuple[dict[str, Any], dict[str, str]]] = [
    ({"header": "X-Webhook-Signature"}, {"X-Webhook-Signature": hexmac(SECRET, BODY)}),
    ({"preset": "github"}, {"X-Hub-Signature-256": "sha256=" + hexmac(SECRET, BODY)}),
    (
        {"preset": "stripe"},
        {"Stripe-Signature": "t=1738384200,v1=" + hexmac(SECRET, b"1738384200." + BODY)},
    ),
    ({"preset": "shopify"}, {"X-Shopify-Hmac-Sha256": b64mac(SECRET, BODY)}),
    (
        {
            "header": "x-signature",
            "signed": "{timestamp}{body}",
            "timestamp_unit": "ms",
            "headers": {"x-timestamp": "{timestamp}", "x-webhook-id": "{webhook_id}"},
        },
        {
            "x-signature": hexmac(SECRET, b"1738384200250" + BODY),
            "x-timestamp": "1738384200250",
            "x-webhook-id": "wh_1",
        },
    ),
    (
        {
            "header": "X-Webhook-Signature",
            "value": "sha256={signature}",
            "headers": {
                "X-Webhook-Event": "{event_type}",
                "X-Webhook-Timestamp": "{timestamp}",
                "X-Webhook-ID": "{id}",
            },
        },
        {
            "X-Webhook-Signature": "sha256=" + hexmac(SECRET, BODY),
            "X-Webhook-Event": "order.filled",
            "X-Webhook-Timestamp": "1738384200",
            "X-Webhook-ID": "evt_1",
        },
    ),
    (  # literal braces, and every placeholder in `signed`
        {
            "header": "X-Sig",
            "value": "{{v1}}={signature}",
            "signed": "{id}|{webhook_id}|{event_type}|{timestamp}|{body}",
        },
        {"X-Sig": "{v1}=" + hexmac(SECRET, b"evt_1|wh_1|order.filled|1738384200|" + BODY)},
    ),
]


@pytest.mark.parametrize(("given", "sent"), SIGNED)
def test_a_scheme_signs_the_secret_as_utf8_bytes(
    given: dict[str, Any], sent: dict[str, str]
) -> None:
    scheme = schemes.expand(given)
    keys = [schemes.key(scheme, SECRET)]
    assert schemes.headers(scheme, keys, MESSAGE) == sent


def test_a_custom_scheme_signs_a_whsec_secret_as_its_text() -> None:
    secret = signing.generate_secret()
    scheme = schemes.expand({"header": "X-Sig"})
    assert schemes.key(scheme, secret) == secret.encode()
    sent = schemes.headers(scheme, [schemes.key(scheme, secret)], MESSAGE)
    assert sent == {"X-Sig": hexmac(secret, BODY)}


def test_during_a_rotation_a_custom_scheme_sends_the_new_secrets_signature_only() -> None:
    scheme = schemes.expand({"preset": "github"})
    keys = [schemes.key(scheme, SECRET), schemes.key(scheme, OLD_SECRET)]  # newest first
    assert schemes.headers(scheme, keys, MESSAGE) == {
        "X-Hub-Signature-256": "sha256=" + hexmac(SECRET, BODY)
    }


def test_during_a_rotation_standard_webhooks_sends_one_signature_per_secret() -> None:
    new, old = signing.generate_secret(), signing.generate_secret()
    keys = [schemes.key(None, new), schemes.key(None, old)]
    sent = schemes.headers(None, keys, MESSAGE)
    assert sent["webhook-id"] == "evt_1"
    assert sent["webhook-timestamp"] == "1738384200"
    first, second = sent["webhook-signature"].split(" ")
    assert first == signing.sign(keys[0], "evt_1", 1738384200, BODY)
    assert second == signing.sign(keys[1], "evt_1", 1738384200, BODY)


CUSTOM = schemes.expand({"header": "X-Sig"})


@pytest.mark.parametrize(
    "secret",
    [
        "your_shared_secret_here",  # seed 002's example
        "VXJd8B9pQ_S-kq2mZ0wLr7",  # token_urlsafe-like (seeds 003, 004)
        "a secret with spaces !~",
        "k3J9-pQ_2mZxv8Lw",  # 16 characters
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",  # hookline's kind works for custom schemes
        "".join(hashlib.sha256(bytes([i])).hexdigest() for i in range(4)),  # 256 characters
    ],
)
def test_a_custom_scheme_takes_printable_secrets_of_16_to_256_characters(secret: str) -> None:
    assert schemes.check_secret(CUSTOM, secret) == secret


@pytest.mark.parametrize(
    ("secret", "says"),
    [
        ("short-secret", "16 to 256 printable ASCII characters; this one has 12"),
        ("k" * 300, "this one has 300"),
        ("secret-with-é-accent-letter", "printable ASCII characters (space to '~')"),
        ("secret-with\nnewline-inside", "such as a line break"),
        ("a" * 20, "must be random"),
        ("abababababababababab", "must be random"),
    ],
)
def test_a_custom_scheme_refuses_other_secrets_saying_the_rule(secret: str, says: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        schemes.check_secret(CUSTOM, secret)
    assert caught.value.loc == ("secret",)
    assert says in caught.value.detail


def test_a_missing_secret_is_generated_for_any_scheme() -> None:
    for scheme in (None, CUSTOM):
        secret = schemes.check_secret(scheme, None)
        assert secret.startswith("whsec_")
        assert schemes.check_secret(scheme, secret) == secret


def test_standard_webhooks_keeps_its_whsec_rules() -> None:
    with pytest.raises(InvalidInput) as caught:
        schemes.check_secret(None, "your_shared_secret_here")
    assert "whsec_" in caught.value.detail
    assert schemes.fits(None, signing.generate_secret())
    assert not schemes.fits(None, "your_shared_secret_here")
    assert schemes.fits(CUSTOM, "your_shared_secret_here")


# --- ed25519: Standard Webhooks v1a ---------------------------------------------------------

ED25519 = {"algorithm": "ed25519"}
SIGNING_KEY = "whsk_" + base64.b64encode(hashlib.sha256(b"test key").digest()).decode()


def v1a_verifies(public_key: str, sent: dict[str, str], body: bytes) -> bool:
    """A receiver holding the public key only, as the Standard Webhooks specification says."""
    message = f"{sent['webhook-id']}.{sent['webhook-timestamp']}.".encode() + body
    verifier = Ed25519PublicKey.from_public_bytes(
        base64.b64decode(public_key.removeprefix("whpk_"))
    )
    for signature in sent["webhook-signature"].split(" "):
        version, _, encoded = signature.partition(",")
        if version != "v1a":
            continue
        try:
            verifier.verify(base64.b64decode(encoded), message)
        except InvalidSignature:
            continue
        return True
    return False


def test_the_ed25519_preset_is_stored_as_its_algorithm() -> None:
    assert schemes.expand({"preset": "ed25519"}) == ED25519
    assert schemes.expand(ED25519) == ED25519


@pytest.mark.parametrize(
    ("given", "says"),
    [
        ({"algorithm": "rsa"}, "'rsa' is not known; 'ed25519' is"),
        ({"preset": "ed25519", "header": "X-Sig"}, "takes no 'header'"),
        ({"preset": "github", "algorithm": "ed25519"}, "is not known"),
    ],
)
def test_an_ed25519_scheme_takes_nothing_else(given: dict[str, Any], says: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        schemes.expand(given)
    assert says in caught.value.detail


def test_ed25519_signs_v1a_with_every_live_key_verifiable_by_the_public_key_alone() -> None:
    new, old = schemes.check_secret(ED25519, None), SIGNING_KEY
    assert new.startswith("whsk_")
    keys = [schemes.key(ED25519, new), schemes.key(ED25519, old)]
    sent = schemes.headers(ED25519, keys, MESSAGE)
    assert (sent["webhook-id"], sent["webhook-timestamp"]) == ("evt_1", "1738384200")
    assert [s[:4] for s in sent["webhook-signature"].split(" ")] == ["v1a,", "v1a,"]
    new_public, old_public = schemes.public_keys(ED25519, keys)
    assert new_public.startswith("whpk_")
    assert v1a_verifies(new_public, sent, BODY)
    assert v1a_verifies(old_public, sent, BODY)
    assert not v1a_verifies(new_public, sent, BODY + b" ")
    assert schemes.public_keys(None, [schemes.key(None, signing.generate_secret())]) == []


@pytest.mark.parametrize(
    ("secret", "says"),
    [
        ("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "'whsk_' followed by base64 of 32 bytes"),
        ("whsk_" + base64.b64encode(b"k" * 24).decode(), "holds 32 bytes"),
        ("whsk_" + base64.b64encode(bytes(32)).decode(), "must be random"),
    ],
)
def test_ed25519_takes_whsk_keys_only(secret: str, says: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        schemes.check_secret(ED25519, secret)
    assert says in caught.value.detail
    assert schemes.check_secret(ED25519, SIGNING_KEY) == SIGNING_KEY


def test_a_private_key_never_becomes_a_shared_secret() -> None:
    with pytest.raises(InvalidInput) as caught:
        schemes.check_secret(CUSTOM, SIGNING_KEY)
    assert "must never be shared" in caught.value.detail
    assert not schemes.fits(CUSTOM, SIGNING_KEY)
    assert not schemes.fits(None, SIGNING_KEY)
    assert schemes.fits(ED25519, SIGNING_KEY)
    assert not schemes.fits(ED25519, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
