import base64
import os

import pytest
import standardwebhooks
import svix.webhooks

from hookline import signing

# Published by the Standard Webhooks specification and every reference library.
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_BODY = b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_reproduces_the_specification_test_vector() -> None:
    key = base64.b64decode(SPEC_SECRET.removeprefix("whsec_"))
    assert signing.sign(key, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY) == SPEC_SIGNATURE


def test_verifies_the_specification_test_vector() -> None:
    headers = {
        "webhook-id": SPEC_ID,
        "webhook-timestamp": str(SPEC_TIMESTAMP),
        "webhook-signature": SPEC_SIGNATURE,
    }
    signing.verify(SPEC_SECRET, headers, SPEC_BODY, now=SPEC_TIMESTAMP + 10)


def test_generated_secrets_hold_32_random_bytes() -> None:
    first, second = signing.generate_secret(), signing.generate_secret()
    assert first.startswith("whsec_")
    assert len(signing.secret_key(first)) == 32
    assert first != second


def _headers(secret: str, body: bytes, timestamp: int, webhook_id: str = "evt_1") -> dict[str, str]:
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signing.signature_header(
            [signing.secret_key(secret)], webhook_id, timestamp, body
        ),
    }


def test_public_verifiers_accept_our_signatures() -> None:
    import time

    secret = signing.generate_secret()
    body = b'{"id":"evt_1","type":"price.above","data":{"price":50100}}'
    headers = _headers(secret, body, int(time.time()))
    assert standardwebhooks.Webhook(secret).verify(body, headers)["data"] == {"price": 50100}
    svix.webhooks.Webhook(secret).verify(body, headers)  # raises if it does not verify


def test_rotation_header_carries_a_signature_per_key_and_either_secret_verifies() -> None:
    old, new = signing.generate_secret(), signing.generate_secret()
    body = b"{}"
    header = signing.signature_header(
        [signing.secret_key(new), signing.secret_key(old)], "evt_1", 1000, body
    )
    assert len(header.split(" ")) == 2
    headers = {"webhook-id": "evt_1", "webhook-timestamp": "1000", "webhook-signature": header}
    signing.verify(new, headers, body, now=1000)
    signing.verify(old, headers, body, now=1000)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"webhook-signature": None}, "missing"),
        ({"webhook-timestamp": "soon"}, "not an integer"),
        ({"webhook-timestamp": "400"}, "away from this clock"),
        ({"webhook-id": "evt_other"}, "no signature matches"),
    ],
)
def test_verify_says_what_is_wrong(change: dict[str, str | None], message: str) -> None:
    secret = signing.generate_secret()
    headers: dict[str, str] = _headers(secret, b"{}", 1000)
    for name, value in change.items():
        if value is None:
            del headers[name]
        else:
            headers[name] = value
    with pytest.raises(signing.SignatureError, match=message):
        signing.verify(secret, headers, b"{}", now=1000)


def test_a_tampered_body_does_not_verify() -> None:
    secret = signing.generate_secret()
    headers = _headers(secret, b'{"amount":1}', 1000)
    with pytest.raises(signing.SignatureError):
        signing.verify(secret, headers, b'{"amount":2}', now=1000)


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        ("whsec_not base64!", "not valid base64"),
        ("whsec_" + base64.b64encode(b"short").decode(), "must hold 24 to 64 bytes"),
    ],
)
def test_malformed_secrets_are_refused_with_a_reason(secret: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        signing.secret_key(secret)


def _secret(key: bytes) -> str:
    return "whsec_" + base64.b64encode(key).decode()


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (bytes(32), "one byte \\(0x00\\) repeated 32 times"),
        (b"\xff" * 24, "one byte \\(0xff\\) repeated 24 times"),
        (b"a" * 64, "one byte \\(0x61\\) repeated 64 times"),
        (b"ab" * 16, "only 2 different byte values"),
        (b"0101100110101010011010100101011001", "only 2 different byte values"),
        (b"abcdefg" * 4, "only 7 different byte values"),
        (b"0123456789abcdef" * 2, "the same 16 bytes over and over"),
        (b"passwordPASSWORD1234" * 2, "the same 20 bytes over and over"),
        (bytes(range(32)), "counts up or down"),
        (bytes(range(200, 168, -1)), "counts up or down"),
        (bytes(range(0, 256, 8)), "counts up or down"),
    ],
)
def test_secrets_without_entropy_are_refused_with_a_reason(key: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=f"must be random, and this one is not: .*{message}"):
        signing.secret_key(_secret(key))


@pytest.mark.parametrize(
    "secret",
    [
        SPEC_SECRET,
        _secret(b"correct horse battery staple"),  # a passphrase: weak, but not without entropy
        _secret(bytes(range(23)) + b"\x00"),  # 24 bytes: the shortest accepted
        _secret(bytes(range(64, 0, -1))[:63] + b"\x07"),
    ],
)
def test_secrets_with_some_entropy_are_accepted(secret: str) -> None:
    assert signing.secret_key(secret) == base64.b64decode(secret.removeprefix("whsec_"))


def test_no_random_secret_is_ever_refused() -> None:
    for size in (24, 32, 64):
        for _ in range(2000):
            signing.secret_key(_secret(os.urandom(size)))


def test_a_weak_secret_stored_before_keeps_signing() -> None:
    """Deliveries read stored secrets with stored_key: a weak one an older hookline accepted
    still signs (until someone rotates it); only secrets coming in are refused."""
    assert signing.stored_key(_secret(bytes(32))) == bytes(32)
