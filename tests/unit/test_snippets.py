"""The verification code shown with a secret works: for every kind of scheme it is run, as a
receiver would paste it, against headers hookline's own signer made, and it accepts them and
refuses a changed body."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import pytest
import standardwebhooks

from hookline import schemes, signing
from hookline.ui.snippets import for_scheme

BODY = b'{"id":"evt_1","type":"order.filled","data":{"n":1.5}}'
MESSAGE = schemes.Message(
    id="evt_1", webhook_id="wh_7", event_type="order.filled", at=1_764_000_000.25, body=BODY
)
CUSTOM_SECRET = "a-shared-secret-of-enough-length"


def run(code: str, body: bytes, headers: dict[str, str]) -> Any:
    namespace: dict[str, Any] = {"body": body, "headers": headers}
    exec(compile(code, "<snippet>", "exec"), namespace)
    return namespace["verify"](body, headers) if "verify" in namespace else namespace["payload"]


@pytest.mark.parametrize(
    "signature",
    [
        {"preset": "github"},
        {"preset": "stripe"},
        {"preset": "shopify"},
        {"header": "X-Signature"},
        {"header": "X-Sig", "value": "t={timestamp};s={signature}", "signed": "{timestamp}.{body}"},
        {
            "header": "X-Sig",
            "signed": "{id}:{timestamp}:{body}",
            "encoding": "base64",
            "timestamp_unit": "ms",
            "headers": {"X-Event-Id": "{id}", "X-Sent-At": "{timestamp}"},
        },
        {"header": "X-Sig", "signed": "{webhook_id}.{body}", "value": "v1={signature}"},
        {"header": "X-Sig", "value": "{timestamp}.{signature}", "signed": "{timestamp}{body}"},
    ],
)
def test_an_hmac_schemes_snippet_verifies_what_hookline_signs(signature: dict[str, Any]) -> None:
    scheme = schemes.expand(signature)
    headers = schemes.headers(scheme, [schemes.key(scheme, CUSTOM_SECRET)], MESSAGE)
    snippet = for_scheme(scheme, CUSTOM_SECRET, webhook_id=MESSAGE.webhook_id)
    assert run(snippet.code, BODY, headers) is True
    assert run(snippet.code, BODY.replace(b"1.5", b"2.5"), headers) is False
    other = schemes.headers(scheme, [b"another-secret-of-enough-length"], MESSAGE)
    assert run(snippet.code, BODY, other) is False


def test_a_scheme_that_signs_what_it_never_sends_says_so() -> None:
    scheme = schemes.expand({"header": "X-Sig", "signed": "{event_type}.{body}"})
    snippet = for_scheme(scheme, CUSTOM_SECRET, webhook_id="wh_7")
    assert snippet.code == ""
    assert "{event_type}" in snippet.intro


def test_the_standard_webhooks_snippet_verifies_with_the_library() -> None:
    secret = signing.generate_secret()
    now = replace(MESSAGE, at=time.time())  # the library checks the timestamp on its own clock
    headers = schemes.headers(None, [schemes.key(None, secret)], now)
    snippet = for_scheme(None, secret, webhook_id="wh_7")
    assert run(snippet.code, BODY, headers)["type"] == "order.filled"
    with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError):
        run(snippet.code, BODY.replace(b"1.5", b"2.5"), headers)


def test_the_ed25519_snippet_verifies_with_the_public_key_only() -> None:
    scheme = schemes.expand({"preset": "ed25519"})
    secret = schemes.check_secret(scheme, None)
    headers = schemes.headers(scheme, [schemes.key(scheme, secret)], MESSAGE)
    snippet = for_scheme(scheme, secret, webhook_id="wh_7")
    assert secret.removeprefix("whsk_") not in snippet.code  # the private key stays out
    assert run(snippet.code, BODY, headers) is True
    assert run(snippet.code, BODY.replace(b"1.5", b"2.5"), headers) is False
