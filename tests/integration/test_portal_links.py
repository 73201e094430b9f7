"""Portal links (POST /api/v1/tenants/{id}/portal): a sealed grant for one tenant that works
until it expires, on HOOKLINE_PUBLIC_URL or the request's origin; anything else is refused."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

import httpx
import pytest
from pydantic import ValidationError

from hookline.config import Settings
from hookline.errors import Unauthorized
from hookline.service.portal import PATH
from hookline.vault import Vault, generate_key
from tests.support import api
from tests.support.harness import Running, make_settings, running


@pytest.fixture
async def hl(sqlite_url: str) -> AsyncIterator[Running]:
    async with running(make_settings(sqlite_url)) as app:
        yield app


async def link(hl: Running, tenant: str, status: int = 200, **body: object) -> dict[str, str]:
    response = await hl.client.post(f"/api/v1/tenants/{tenant}/portal", json=body)
    return api.ok_object(response, status)


def token_of(url: str) -> str:
    return url.partition(PATH)[2]


async def test_a_link_signs_into_its_tenant_until_it_expires(hl: Running) -> None:
    tenant = await api.tenant(hl.client, "Acme", uid="acme")
    made = await link(hl, "acme")  # by uid; an hour by default
    assert made["url"].startswith(f"{hl.base_url}{PATH}")
    expires_at = datetime.fromisoformat(made["expires_at"]).timestamp()
    assert expires_at == pytest.approx(hl.clock() + 3600, abs=5)

    grant = await hl.node.service.portal.open(token_of(made["url"]))
    assert (grant.tenant_id, grant.read_only) == (tenant["id"], False)
    looking = await link(hl, tenant["id"], expires_in=10, read_only=True)
    assert (await hl.node.service.portal.open(token_of(looking["url"]))).read_only

    hl.advance(11)
    with pytest.raises(Unauthorized, match="expired"):
        await hl.node.service.portal.open(token_of(looking["url"]))
    assert (await hl.node.service.portal.open(token_of(made["url"]))).tenant_id == tenant["id"]
    hl.advance(3600)
    with pytest.raises(Unauthorized, match="expired"):
        await hl.node.service.portal.open(token_of(made["url"]))


async def test_a_link_that_is_not_one_of_ours_is_refused(hl: Running) -> None:
    tenant = await api.tenant(hl.client, "Acme")
    token = token_of((await link(hl, tenant["id"]))["url"])
    flipped = token[:40] + ("A" if token[40] != "A" else "B") + token[41:]
    other_installation = Vault([generate_key()]).seal(
        f'{{"p":"hookline.portal","t":"{tenant["id"]}","r":false,"e":9e12}}'
    )
    a_sealed_secret = hl.node.vault.seal("whsec_notaportalgrant")
    sealed_garbage = hl.node.vault.seal('{"p":"hookline.portal","t":1}')
    for bad in (flipped, token[:-5], other_installation, a_sealed_secret, sealed_garbage, "", "é"):
        with pytest.raises(Unauthorized, match="not a portal link of this hookline"):
            await hl.node.service.portal.open(bad)


async def test_a_deleted_tenants_link_is_refused(hl: Running) -> None:
    tenant = await api.tenant(hl.client, "Acme")
    token = token_of((await link(hl, tenant["id"]))["url"])
    assert (await hl.client.delete(f"/api/v1/tenants/{tenant['id']}")).status_code == 204
    with pytest.raises(Unauthorized, match="no longer exists"):
        await hl.node.service.portal.open(token)


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"expires_in": 9}, "expires_in"),
        ({"expires_in": 7 * 86_400 + 1}, "expires_in"),
        ({"expires_in": "3600"}, "expires_in"),
        ({"read_only": "yes"}, "read_only"),
        ({"expires": 60}, "expires"),
    ],
)
async def test_a_link_outside_the_bounds_is_a_clear_422(
    hl: Running, body: dict[str, object], where: str
) -> None:
    tenant = await api.tenant(hl.client, "Acme")
    response = await hl.client.post(f"/api/v1/tenants/{tenant['id']}/portal", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["loc"] == ["body", where]


async def test_a_tenant_key_makes_links_for_its_own_tenant_only(hl: Running) -> None:
    acme = await api.tenant(hl.client, "Acme")
    globex = await api.tenant(hl.client, "Globex")
    key = api.ok_object(await hl.client.post(f"/api/v1/tenants/{acme['id']}/keys"), 201)["key"]
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=hl.base_url, headers=headers) as acme_client:
        own = await acme_client.post(f"/api/v1/tenants/{acme['id']}/portal", json={})
        refused = await acme_client.post(f"/api/v1/tenants/{globex['id']}/portal", json={})
    assert api.ok_object(own)["url"].startswith(hl.base_url)
    assert refused.status_code == 404
    missing = await hl.client.post("/api/v1/tenants/ten_nope/portal", json={})
    assert missing.status_code == 404


async def test_links_are_made_on_the_public_url(sqlite_url: str) -> None:
    settings = make_settings(sqlite_url, public_url="https://hooks.example.com/")
    async with running(settings) as hl:
        tenant = await api.tenant(hl.client, "Acme")
        made = await link(hl, tenant["id"])
    assert made["url"].startswith(f"https://hooks.example.com{PATH}")


@pytest.mark.parametrize(
    "bad",
    ["ftp://hooks.example.com", "hooks.example.com", "https://x.com/?a=1", "https://x.com/#f"],
)
def test_a_public_url_that_is_not_one_is_refused_at_start(bad: str) -> None:
    with pytest.raises(ValidationError, match="HOOKLINE_PUBLIC_URL must be"):
        Settings(_env_file=None, public_url=bad)
