"""A bring-your-own webhook secret without entropy is refused with 422, when a webhook is
created and when its secret is rotated; nothing is stored."""

from __future__ import annotations

import base64

import pytest

from tests.support import api
from tests.support.harness import Running
from tests.support.receiver import Receiver

WEAK = [
    "whsec_" + base64.b64encode(bytes(32)).decode(),  # the review's example: 32 zero bytes
    "whsec_" + base64.b64encode(b"ab" * 16).decode(),
    "whsec_" + base64.b64encode(bytes(range(32))).decode(),
]


@pytest.mark.parametrize("secret", WEAK)
async def test_a_secret_without_entropy_is_refused(
    hookline: Running, receiver: Receiver, secret: str
) -> None:
    tenant = await api.tenant(hookline.client)
    created = await hookline.client.post(
        "/api/v1/webhooks",
        json={"tenant_id": tenant["id"], "url": receiver.url("/"), "secret": secret},
    )
    assert created.status_code == 422, created.text
    assert created.headers["content-type"] == "application/problem+json"
    assert "secret: a webhook secret must be random" in created.json()["detail"]
    listed = api.ok(await hookline.client.get("/api/v1/webhooks"))
    assert listed["data"] == []

    hook = await api.webhook(hookline.client, tenant["id"], receiver.url("/"))
    rotated = await hookline.client.post(
        f"/api/v1/webhooks/{hook['id']}/rotate-secret", json={"secret": secret}
    )
    assert rotated.status_code == 422, rotated.text
    assert "a webhook secret must be random" in rotated.json()["detail"]
