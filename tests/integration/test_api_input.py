"""What the HTTP API takes in: plain, storable JSON only (one rule, every body, every place),
strict booleans and numbers, path and query values the database can hold, uids that cannot be
mistaken for ids, and a clear answer to the wrong Authorization scheme. Each on both stores."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.support import api
from tests.support.harness import Running
from tests.support.receiver import Receiver

PROBLEM = "application/problem+json"


@dataclass
class Error:
    loc: list[str | int]
    msg: str


@dataclass
class Invalid:
    detail: str
    errors: list[Error]


def invalid(response: httpx.Response, status: int = 422) -> Invalid:
    """A problem body whose `errors` are spelled as pydantic and FastAPI spell them."""
    assert response.status_code == status, f"{response.status_code}: {response.text}"
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert (body["type"], body["status"]) == ("about:blank", status)
    assert body["title"]
    assert body["detail"]
    errors = [Error(**e) for e in body["errors"]]
    assert errors
    for error in errors:
        assert isinstance(error.loc, list), body
        assert error.loc[0] in ("body", "query", "path", "header"), body
        assert isinstance(error.msg, str), body
    return Invalid(body["detail"], errors)


@dataclass
class World:
    """What the tables' requests refer to; nothing else may be written by them."""

    tenant: str
    webhook: str
    receiver_url: str

    def fill(self, text: str) -> str:
        return (
            text.replace("TENANT", self.tenant)
            .replace("WEBHOOK", self.webhook)
            .replace("RECEIVER", self.receiver_url)
        )


async def make_world(hookline: Running, receiver: Receiver) -> World:
    tenant = await api.tenant(hookline.client, "Acme", uid="acme")
    await api.event_type(hookline.client, "order.filled")
    hook = await api.webhook(hookline.client, tenant["id"], receiver.url("/hook"))
    return World(tenant["id"], hook["id"], receiver.url("/new"))


async def nothing_was_written(hookline: Running, world: World) -> None:
    client = hookline.client
    assert [t["id"] for t in api.ok(await client.get("/api/v1/tenants"))["data"]] == [world.tenant]
    types = api.ok(await client.get("/api/v1/event-types", params={"include_archived": True}))
    assert [(t["name"], t["schema"], t["description"]) for t in types["data"]] == [
        ("order.filled", None, "")
    ]
    [hook] = api.ok(await client.get("/api/v1/webhooks"))["data"]
    assert (hook["id"], hook["name"], hook["description"], hook["filter"], hook["headers"]) == (
        world.webhook,
        "",
        "",
        None,
        {},
    )
    assert api.ok(await client.get("/api/v1/events"))["data"] == []
    assert api.ok(await client.get(f"/api/v1/tenants/{world.tenant}/keys"))["data"] == []
    assert api.ok(await client.get("/api/v1/tenants/acme"))["uid"] == "acme"


# Every place a JSON value comes in: (method, path, a body with AT where the value goes).
AT = "@value@"
HOOK = {"tenant_id": "TENANT", "url": "RECEIVER"}
PLACES: list[tuple[str, str, dict[str, Any]]] = [
    ("POST", "/api/v1/events", {"type": "order.filled", "data": {"price": AT}}),
    ("POST", "/api/v1/events", {"type": "order.filled", "data": {"legs": [1, AT]}}),
    ("POST", "/api/v1/events", {"type": "order.filled", "data": {}, "idempotency_key": AT}),
    ("POST", "/api/v1/events", {"type": "order.filled", "data": {}, "tenant_id": AT}),
    ("POST", "/api/v1/webhooks/WEBHOOK/test", {"data": {"price": AT}}),
    ("POST", "/api/v1/webhooks", {**HOOK, "filter": {"data.price": {"$gte": AT}}}),
    ("POST", "/api/v1/webhooks", {**HOOK, "headers": {"X-Team": AT}}),
    ("POST", "/api/v1/webhooks", {**HOOK, "name": AT}),
    ("POST", "/api/v1/webhooks", {"tenant_id": AT, "url": "RECEIVER"}),
    ("PATCH", "/api/v1/webhooks/WEBHOOK", {"description": AT}),
    ("PATCH", "/api/v1/webhooks/WEBHOOK", {"filter": {"data.side": {"$in": [AT]}}}),
    ("POST", "/api/v1/webhooks/WEBHOOK/rotate-secret", {"secret": AT}),
    ("POST", "/api/v1/webhooks/WEBHOOK/recover", {"since": AT}),
    ("POST", "/api/v1/tenants", {"name": AT}),
    ("POST", "/api/v1/tenants", {"name": "Globex", "uid": AT}),
    ("PATCH", "/api/v1/tenants/TENANT", {"uid": AT}),
    ("POST", "/api/v1/tenants/TENANT/keys", {"name": AT}),
    ("POST", "/api/v1/event-types", {"name": "price.above", "schema": {"maximum": AT}}),
    ("POST", "/api/v1/event-types", {"name": "price.below", "description": AT}),
    ("PATCH", "/api/v1/event-types/order.filled", {"schema": {"examples": [AT]}}),
]


def place_of(template: object, here: tuple[str | int, ...] = ("body",)) -> list[str | int]:
    """Where AT is in `template`, as pydantic spells a place."""
    if template == AT:
        return list(here)
    children: list[tuple[str | int, object]] = []
    if isinstance(template, dict):
        children = list(template.items())
    elif isinstance(template, list):
        children = list(enumerate(template))
    for key, child in children:
        if AT in json.dumps(child):
            return place_of(child, (*here, key))
    raise AssertionError(f"no {AT} in {template}")


# JSON that is not plain, storable JSON: each is refused wherever it appears.
NOT_PLAIN = {
    "NaN": "NaN",
    "Infinity": "Infinity",
    "-Infinity": "-Infinity",
    "1e400 (overflows to infinity)": "1e400",
    "-1e400": "-1e400",
    "2**64": "18446744073709551616",
    "-(2**63) - 1": "-9223372036854775809",
    "NUL in a string": '"fill\\u0000ed"',
    "lone high surrogate": '"\\ud800"',
    "lone low surrogate": '"x\\udfffy"',
    "NUL in a key": '{"a\\u0000": 1}',
    "lone surrogate in a key": '{"\\udc00": 1}',
    "nested 100 deep": "[" * 100 + "]" * 100,
    "nested 255 deep": '{"a": ' * 255 + "1" + "}" * 255,
}


async def test_json_that_is_not_plain_is_refused_everywhere_naming_the_place(
    hookline: Running, receiver: Receiver
) -> None:
    world = await make_world(hookline, receiver)
    for (method, path, template), (name, value) in itertools.product(PLACES, NOT_PLAIN.items()):
        body = world.fill(json.dumps(template)).replace(json.dumps(AT), value)
        response = await hookline.client.request(
            method,
            world.fill(path),
            content=body.encode(),
            headers={"content-type": "application/json"},
        )
        where = f"{name} in {method} {path} {body[:200]}"
        problem = invalid(response)
        [error] = problem.errors
        place = place_of(template)
        assert error.loc[: len(place)] == place, where
        assert error.msg, where
        assert error.msg in problem.detail, where
    await nothing_was_written(hookline, world)


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ('{"type": "order.filled", "data": ' + "[" * 200_000 + "]" * 200_000 + "}", "nested"),
        ('{"type": "order.filled", "data": {"n": ' + "9" * 5000 + "}}", "64 bits"),
    ],
    ids=["deeper than the parser goes", "an integer of 5000 digits"],
)
async def test_a_body_the_parser_cannot_read_is_a_4xx(
    hookline: Running, body: str, says: str
) -> None:
    await api.event_type(hookline.client, "order.filled")
    response = await hookline.client.post(
        "/api/v1/events", content=body.encode(), headers={"content-type": "application/json"}
    )
    problem = invalid(response)
    assert says in problem.detail
    assert [e.loc for e in problem.errors] == [["body"]]
    assert api.ok(await hookline.client.get("/api/v1/events"))["data"] == []


# Path and query values with a NUL, which no database column can hold (PostgreSQL refuses it),
# and bytes that are not UTF-8 (read as U+FFFD, which is harmless).
NUL_TEXT = ["%00", "a%00b", "%00%ED%A0%80"]
NOT_UTF8 = ["%ED%A0%80", "%C0%80", "%FF"]
PARAMETER_PLACES = [
    ("GET", "/api/v1/events/@"),
    ("GET", "/api/v1/events/@/deliveries"),
    ("GET", "/api/v1/tenants/@"),
    ("GET", "/api/v1/tenants/@/keys"),
    ("DELETE", "/api/v1/tenants/@"),
    ("GET", "/api/v1/webhooks/@"),
    ("GET", "/api/v1/webhooks/@/stats"),
    ("GET", "/api/v1/webhooks/@/deliveries"),
    ("POST", "/api/v1/webhooks/@/test"),
    ("GET", "/api/v1/deliveries/@"),
    ("GET", "/api/v1/deliveries/@/attempts"),
    ("POST", "/api/v1/deliveries/@/retry"),
    ("GET", "/api/v1/event-types/@"),
    ("DELETE", "/api/v1/event-types/@"),
    ("DELETE", "/api/v1/tenants/TENANT/keys/@"),
    ("GET", "/api/v1/events?type=@"),
    ("GET", "/api/v1/events?tenant_id=@"),
    ("GET", "/api/v1/webhooks?tenant_id=@"),
    ("GET", "/api/v1/webhooks/WEBHOOK/deliveries?event_type=@"),
    ("GET", "/api/v1/tenants?cursor=@"),
]


async def test_path_and_query_values_a_database_cannot_hold_are_a_4xx(
    hookline: Running, receiver: Receiver
) -> None:
    world = await make_world(hookline, receiver)
    for (method, template), text in itertools.product(PARAMETER_PLACES, NUL_TEXT + NOT_UTF8):
        url = hookline.base_url + world.fill(template).replace("@", text)
        response = await hookline.client.request(method, httpx.URL(url))
        where = f"{text} in {method} {template}: {response.text}"
        assert response.status_code < 500, where
        if text in NUL_TEXT:
            assert 400 <= response.status_code < 500, where
            assert "NUL" in response.json()["detail"] or response.status_code == 400, where
        if response.status_code >= 400:
            assert response.headers["content-type"] == PROBLEM, where
    await nothing_was_written(hookline, world)


# --- strict booleans and numbers --------------------------------------------------------------

STRICT_FIELDS: list[tuple[str, str, dict[str, Any], str, list[Any]]] = [
    ("POST", "/api/v1/tenants", {"name": "Globex"}, "max_webhooks", ["5", 5.0, 5.5, True]),
    ("PATCH", "/api/v1/tenants/TENANT", {}, "max_webhooks", ["5", 5.0, False]),
    ("POST", "/api/v1/webhooks", HOOK, "is_active", ["yes", "true", 1, 0, None]),
    ("POST", "/api/v1/webhooks", HOOK, "rate_limit_per_minute", ["10", 10.0, True]),
    ("POST", "/api/v1/webhooks", HOOK, "max_in_flight", ["2", 2.0, True]),
    ("PATCH", "/api/v1/webhooks/WEBHOOK", {}, "is_active", ["no", "false", 0]),
    ("PATCH", "/api/v1/webhooks/WEBHOOK", {}, "rate_limit_per_minute", ["10", 1.5]),
    ("PATCH", "/api/v1/event-types/order.filled", {}, "archived", ["yes", 1, "true"]),
    ("POST", "/api/v1/webhooks/WEBHOOK/rotate-secret", {}, "grace_seconds", ["3600", 3600.0, True]),
]


async def test_booleans_and_numbers_are_strict(hookline: Running, receiver: Receiver) -> None:
    world = await make_world(hookline, receiver)
    for method, path, base, field, values in STRICT_FIELDS:
        filled = {k: world.fill(v) for k, v in base.items()}
        for value in values:
            response = await hookline.client.request(
                method, world.fill(path), json={**filled, field: value}
            )
            where = f"{field}={value!r} in {method} {path}"
            problem = invalid(response)
            assert [e.loc for e in problem.errors] == [["body", field]], where
            assert "must be" in problem.errors[0].msg, where
    await nothing_was_written(hookline, world)


async def test_strict_fields_still_take_their_own_types_and_iso_instants(
    hookline: Running, receiver: Receiver
) -> None:
    world = await make_world(hookline, receiver)
    client = hookline.client
    created = await api.webhook(
        client, world.tenant, receiver.url("/b"), is_active=False, rate_limit_per_minute=60
    )
    assert (created["is_active"], created["rate_limit_per_minute"]) == (False, 60)
    recovered = await client.post(
        f"/api/v1/webhooks/{world.webhook}/recover", json={"since": "2026-01-01T00:00:00Z"}
    )
    assert recovered.status_code == 202, recovered.text
    assert (await api.tenant(client, "Initech", max_webhooks=0))["max_webhooks"] == 0


# --- uids and ids share one space -----------------------------------------------------------


async def test_a_uid_may_not_look_like_a_tenant_id(hookline: Running) -> None:
    client = hookline.client
    first = await api.tenant(client, "Acme")
    second = await api.tenant(client, "Globex", uid="globex")
    shaped = [
        first["id"],  # another tenant's id
        second["id"],  # its own id
        "ten_" + "0" * 26,  # shaped like one
        "ten_01jd3k8q0m7x2c9v4b5n6p7r8s",
    ]
    for uid in shaped:
        for response in (
            await client.post("/api/v1/tenants", json={"name": "Mallory", "uid": uid}),
            await client.patch(f"/api/v1/tenants/{second['id']}", json={"uid": uid}),
        ):
            problem = invalid(response)
            assert problem.errors[0].loc == ["body", "uid"], uid
            assert "tenant id" in problem.detail
    assert api.ok(await client.get(f"/api/v1/tenants/{first['id']}"))["name"] == "Acme"
    assert api.ok(await client.get("/api/v1/tenants/globex"))["id"] == second["id"]
    assert len(api.ok(await client.get("/api/v1/tenants"))["data"]) == 2
    for fine in ("ten_short", "tenant_01jd3k8q0m7x2c9v4b5n6p7r8s", "user_42"):
        api.ok(await client.post("/api/v1/tenants", json={"name": fine, "uid": fine}), 201)


# --- the Authorization header ---------------------------------------------------------------


OTHER_SCHEMES = [
    "Basic YWRtaW46c2VjcmV0",
    "Token hl_0123456789abcdef",
    "hl_0123456789abcdef",
    "ApiKey hl_0123456789abcdef",
    "Digest username=admin",
]


async def test_another_authorization_scheme_is_told_to_use_bearer(hookline: Running) -> None:
    async with httpx.AsyncClient(base_url=hookline.base_url) as anonymous:
        for header in OTHER_SCHEMES:
            response = await anonymous.get("/api/v1/webhooks", headers={"Authorization": header})
            assert response.status_code == 401, response.text
            assert response.headers["content-type"] == PROBLEM
            detail = response.json()["detail"]
            assert "Bearer scheme" in detail, header
            assert "'Authorization: Bearer <key>'" in detail, header
            assert "missing" not in detail, header
            assert "hl_0123456789abcdef" not in detail, header  # never echoes a key
