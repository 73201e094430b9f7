"""Every list pages two ways, by opaque cursor or by number, and refuses what it does not
take: a cursor it did not hand out, the two ways mixed, a query parameter it does not know."""

from __future__ import annotations

import base64
import itertools
import re
from typing import Any

import httpx

from tests.support import api
from tests.support.harness import Running
from tests.support.receiver import Receiver

PROBLEM = "application/problem+json"

# Every list route, with the ids a world fills in.
LISTS = [
    "/api/v1/tenants",
    "/api/v1/tenants/{tenant_id}/keys",
    "/api/v1/event-types",
    "/api/v1/event-types?include_archived=true",
    "/api/v1/webhooks",
    "/api/v1/webhooks?tenant_id=acme",
    "/api/v1/webhooks/{webhook_id}/deliveries",
    "/api/v1/webhooks/{webhook_id}/deliveries?status=succeeded",
    "/api/v1/events",
    "/api/v1/events?type=order.filled&tenant_id=acme",
    "/api/v1/events/{event_id}/deliveries",
    "/api/v1/deliveries/{delivery_id}/attempts",
]


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, f"{response.status_code}: {response.text}"
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert body["detail"]
    return body


async def make_world(hookline: Running, receiver: Receiver) -> dict[str, str]:
    """Three of everything (one attempt per delivery)."""
    client = hookline.client
    acme = await api.tenant(client, "Acme", uid="acme")
    for name in ("Globex", "Initech"):
        await api.tenant(client, name)
    for name in ("first", "second", "third"):
        api.ok(await client.post(f"/api/v1/tenants/{acme['id']}/keys", json={"name": name}), 201)
    for name in ("order.filled", "order.canceled", "price.above"):
        await api.event_type(client, name)
    api.ok(await client.patch("/api/v1/event-types/price.above", json={"archived": True}))
    hooks = [await api.webhook(client, acme["id"], receiver.url(f"/{i}")) for i in range(3)]
    events = [await api.send(client, "order.filled", {"n": i}, "acme") for i in range(3)]
    for event in events:
        await api.settled(client, event["id"], count=3)
    [delivery, *_] = await api.deliveries(client, events[0]["id"])
    return {
        "tenant_id": acme["id"],
        "webhook_id": hooks[0]["id"],
        "event_id": events[0]["id"],
        "delivery_id": delivery["id"],
    }


def key_of(item: dict[str, Any]) -> str:
    return str(item.get("id", item.get("name")))


async def get(client: httpx.AsyncClient, url: str, **params: Any) -> Any:
    """GET `url` (which may carry a query of its own) with `params` added."""
    return api.ok(await client.get(httpx.URL(url).copy_merge_params(params)))


async def walk_by_cursor(client: httpx.AsyncClient, url: str, limit: int) -> list[str]:
    seen: list[str] = []
    cursor: str | None = None
    while True:
        page = await get(client, url, limit=limit, **({"cursor": cursor} if cursor else {}))
        assert set(page) == {"data", "next_cursor"}, url
        assert len(page["data"]) <= limit
        seen += [key_of(item) for item in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return seen


async def walk_by_number(client: httpx.AsyncClient, url: str, size: int) -> tuple[list[str], int]:
    seen: list[str] = []
    for number in itertools.count(1):
        page = await get(client, url, page=number, page_size=size)
        assert set(page) == {"data", "total", "page", "page_size"}, url
        assert (page["page"], page["page_size"]) == (number, size)
        if not page["data"]:
            assert number == -(-page["total"] // size) + 1, url  # just past the last page
            return seen, page["total"]
        assert len(page["data"]) == min(size, page["total"] - len(seen)), url
        seen += [key_of(item) for item in page["data"]]
    raise AssertionError("unreachable")


async def test_every_list_pages_by_cursor_and_by_number_to_the_same_items(
    hookline: Running, receiver: Receiver
) -> None:
    world = await make_world(hookline, receiver)
    served = api.ok(await hookline.client.get("/openapi.json"))["paths"]
    paged = {p for p, ops in served.items() if "get" in ops and _takes(ops["get"], "cursor")}
    assert paged == {template.split("?")[0] for template in LISTS}  # the table is complete
    for template in LISTS:
        url = template.format(**world)
        whole = [key_of(i) for i in api.ok(await hookline.client.get(url))["data"]]
        assert whole, url
        assert await walk_by_cursor(hookline.client, url, 2) == whole, url
        assert await walk_by_number(hookline.client, url, 2) == (whole, len(whole)), url
        assert await walk_by_number(hookline.client, url, 250) == (whole, len(whole)), url


def _takes(operation: dict[str, Any], name: str) -> bool:
    return any(p["name"] == name for p in operation.get("parameters", []))


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


async def test_a_cursor_this_api_did_not_hand_out_is_refused(
    hookline: Running, receiver: Receiver
) -> None:
    world = await make_world(hookline, receiver)
    client = hookline.client
    tenants = api.ok(await client.get("/api/v1/tenants", params={"limit": 1}))["next_cursor"]
    events = api.ok(await client.get("/api/v1/events", params={"limit": 1}))["next_cursor"]
    assert tenants
    assert events
    assert world["tenant_id"] not in tenants  # opaque
    forged = [
        "garbage",
        "",
        "====",
        "x" * 1000,
        world["tenant_id"],  # a key, not a cursor
        tenants + "==",  # a real cursor, spelled another way
        tenants[:-2],  # cut short
        _b64("1:tenants.id:" + world["tenant_id"]),  # hand-made, without the checksum
        base64.urlsafe_b64encode(bytes(range(256))).decode(),  # not text
    ]
    for cursor in forged:
        body = problem(await client.get("/api/v1/tenants", params={"cursor": cursor}), 400)
        assert "next_cursor" in body["detail"], cursor
        assert body["errors"] == [{"loc": ["query", "cursor"], "msg": body["detail"]}]
    for url, cursor in [
        ("/api/v1/tenants", events),  # another list's cursor
        ("/api/v1/webhooks", tenants),
        (f"/api/v1/events/{world['event_id']}/deliveries", events),
    ]:
        problem(await client.get(url, params={"cursor": cursor}), 400)
    api.ok(await client.get("/api/v1/tenants", params={"cursor": tenants}))  # the real one works


async def test_paging_by_cursor_and_by_number_do_not_mix(hookline: Running) -> None:
    client = hookline.client
    next_cursor = None
    for name in ("a", "b"):
        await api.tenant(client, name)
    next_cursor = api.ok(await client.get("/api/v1/tenants", params={"limit": 1}))["next_cursor"]
    for params in (
        {"cursor": next_cursor, "page": 2},
        {"cursor": next_cursor, "page_size": 5},
        {"limit": 5, "page": 1},
        {"limit": 5, "page_size": 5},
    ):
        body = problem(await client.get("/api/v1/tenants", params=params), 400)
        assert "either by cursor" in body["detail"], params
    for params in (
        {"page": 0},
        {"page": -1},
        {"page": "two"},
        {"page_size": 0},
        {"page_size": 251},
        {"limit": 251},
        {"limit": 0},
        {"page": 10**12},
    ):
        body = problem(await client.get("/api/v1/tenants", params=params), 422)
        [name] = params
        assert body["errors"][0]["loc"] == ["query", name], params
    beyond = api.ok(await client.get("/api/v1/tenants", params={"page": 9, "page_size": 1}))
    assert beyond == {"data": [], "total": 2, "page": 9, "page_size": 1}
    alone = api.ok(await client.get("/api/v1/tenants", params={"page_size": 1}))
    assert (alone["page"], alone["total"], len(alone["data"])) == (1, 2, 1)


async def test_an_unknown_query_parameter_is_refused_on_every_operation(
    hookline: Running,
) -> None:
    served = api.ok(await hookline.client.get("/openapi.json"))["paths"]
    operations = [(m, p, op) for p, ops in served.items() for m, op in ops.items()]
    assert len(operations) >= 30
    for method, path, operation in operations:
        url = re.sub(r"\{[^}]+\}", "x", path)
        response = await hookline.client.request(
            method, url, params={"per_page": 5, "limt": 5}, json={}
        )
        where = f"{method} {path}"
        body = problem(response, 400)
        assert "'limt', 'per_page'" in body["detail"], where
        takes = sorted(p["name"] for p in operation.get("parameters", []) if p["in"] == "query")
        if takes:
            assert f"it takes {', '.join(takes)}" in body["detail"], where
        else:
            assert "it takes no query parameters" in body["detail"], where
        assert [e["loc"] for e in body["errors"]] == [["query", "limt"], ["query", "per_page"]]
