"""Every error is a problem (RFC 9457) with `type, title, status, detail`; 400s and 422s list
`errors: [{loc, msg}]`; and each is served as the OpenAPI document declares it, for the
operation and status it came from."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import jsonschema
import pytest

from tests.support import api
from tests.support.harness import Running, make_settings, running
from tests.support.receiver import Receiver

PROBLEM = "application/problem+json"
PROBLEM_STATUSES = {"400", "401", "403", "404", "409", "413", "422", "429", "503"}


@pytest.fixture
async def small(database_url: str) -> AsyncIterator[Running]:
    """hookline with small limits, so that 413 and 429 are easy to reach: 2 requests/s per
    tenant key and 8 KiB bodies."""
    settings = make_settings(database_url, api_rate_limit=2, max_request_bytes=8192)
    async with running(settings) as app:
        yield app


def operation_of(document: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    for template, operations in document["paths"].items():
        pattern = re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"
        if re.match(pattern, path) and method.lower() in operations:
            operation: dict[str, Any] = operations[method.lower()]
            return operation
    raise AssertionError(f"{method} {path} is not in the OpenAPI document")


def served_as_declared(document: dict[str, Any], response: httpx.Response) -> dict[str, Any]:
    """The problem `response` is, checked against what the document declares for it."""
    request = response.request
    operation = operation_of(document, request.method, request.url.path)
    where = f"{request.method} {request.url.path} -> {response.status_code}: {response.text}"
    declared = operation["responses"].get(str(response.status_code))
    assert declared is not None, f"undeclared status: {where}"
    assert response.headers["content-type"] == PROBLEM, where
    schema = declared["content"][PROBLEM]["schema"]
    body: dict[str, Any] = response.json()
    jsonschema.validate(body, {**schema, "components": document["components"]})
    assert set(body) >= {"type", "title", "status", "detail"}, where
    assert body["status"] == response.status_code, where
    if response.status_code in (400, 422) and "errors" in body:
        for error in body["errors"]:
            assert error["loc"][0] in ("body", "query", "path", "header"), where
            assert error["msg"], where
    if response.status_code == 422:
        assert body["errors"], where
    return body


async def test_every_problem_is_served_as_declared(small: Running, receiver: Receiver) -> None:
    client = small.client
    document = api.ok(await client.get("/openapi.json"))
    acme = await api.tenant(client, "Acme", uid="acme")
    await api.event_type(client, "order.filled")
    hook = await api.webhook(client, acme["id"], receiver.url("/hook"))
    disabled = await api.webhook(client, acme["id"], receiver.url("/off"), is_active=False)
    keys = [
        api.ok(await client.post(f"/api/v1/tenants/{acme['id']}/keys", json={}), 201)["key"]
        for _ in range(4)  # one per request, so that only the burst meets the rate limit
    ]
    sent = await api.send(client, "order.filled", {}, "acme")
    [delivery] = await api.settled(client, sent["id"])
    hook_id, off_id = hook["id"], disabled["id"]

    answers = [
        # 400
        (400, await client.get("/api/v1/webhooks", params={"per_page": 5})),
        (400, await client.get("/api/v1/events", params={"cursor": "garbage"})),
        (400, await client.get("/api/v1/events", params={"cursor": "x", "page": 2})),
        (400, await client.post("/api/v1/tenants", content=b'{"name": ', headers=JSON)),
        (400, await client.post("/api/v1/tenants", content=b'{"name": "\xff"}', headers=JSON)),
        # 401
        (401, await client.get("/api/v1/events", headers={"Authorization": ""})),
        (401, await client.get("/api/v1/events", headers={"Authorization": "Basic eDp5"})),
        (401, await client.get("/api/v1/events", headers={"Authorization": "Bearer hl_nope"})),
        # 403
        (403, await client.get("/api/v1/tenants", headers=bearer(keys.pop()))),
        (
            403,
            await client.post(
                "/api/v1/events",
                json={"type": "order.filled", "data": {}},
                headers=bearer(keys.pop()),
            ),
        ),
        (
            403,
            await client.post(
                "/api/v1/webhooks",
                json={"url": receiver.url("/x"), "tenant_id": "ten_other"},
                headers=bearer(keys.pop()),
            ),
        ),
        # 404
        (404, await client.get("/api/v1/webhooks/wh_nope")),
        (404, await client.get("/api/v1/events", params={"tenant_id": "nobody"})),
        (
            404,
            await client.post(
                "/api/v1/events", json={"type": "order.filled", "data": {}, "tenant_id": "nobody"}
            ),
        ),
        (404, await client.delete(f"/api/v1/tenants/{acme['id']}/keys/key_nope")),
        # 409
        (409, await client.post("/api/v1/tenants", json={"name": "Again", "uid": "acme"})),
        (409, await client.post("/api/v1/event-types", json={"name": "order.filled"})),
        (
            409,
            await client.post(
                f"/api/v1/webhooks/{off_id}/recover", json={"since": "2026-01-01T00:00:00Z"}
            ),
        ),
        # 413
        (413, await client.post("/api/v1/tenants", json={"name": "x" * 10_000})),
        # 422: FastAPI's validation, hookline's own checks, and the JSON rule
        (422, await client.post("/api/v1/tenants", json={"name": "x", "max_webhooks": "5"})),
        (422, await client.post("/api/v1/tenants", json={"nom": "x"})),
        (422, await client.post("/api/v1/tenants", json={"name": "x", "uid": "hookline:x"})),
        (422, await client.post("/api/v1/events", json={"type": "order.fild", "data": {}})),
        (
            422,
            await client.post(
                "/api/v1/events",
                content=b'{"type": "order.filled", "data": {"a": NaN}}',
                headers=JSON,
            ),
        ),
        (
            422,
            await client.patch(
                f"/api/v1/webhooks/{hook_id}", json={"headers": {"bad header": "x"}}
            ),
        ),
        (422, await client.patch(f"/api/v1/webhooks/{hook_id}", json={"url": None})),
        (
            422,
            await client.get(f"/api/v1/webhooks/{hook_id}/deliveries", params={"status": "lost"}),
        ),
        (422, await client.get("/api/v1/events/%00")),
        (422, await client.get("/api/v1/tenants", params={"limit": 0})),
    ]
    [key] = keys
    async with httpx.AsyncClient(base_url=small.base_url, headers=bearer(key)) as customer:
        burst = [await customer.get(f"/api/v1/deliveries/{delivery['id']}") for _ in range(6)]
    answers += [(429, r) for r in burst if r.status_code != 200]  # 2 requests a second
    assert len(answers) >= 32
    for expected, response in answers:
        assert response.status_code == expected, f"{response.request.url}: {response.text}"
        served_as_declared(document, response)
    assert {status for status, _ in answers} == {400, 401, 403, 404, 409, 413, 422, 429}


JSON = {"content-type": "application/json"}


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_the_openapi_document_declares_every_problem_an_operation_can_answer(
    hookline: Running,
) -> None:
    document = api.ok(await hookline.client.get("/openapi.json"))
    schemas = document["components"]["schemas"]
    assert "HTTPValidationError" not in schemas
    assert "HTTPValidationError" not in str(document)
    assert {"Problem", "ValidationProblem", "ProblemError"} <= set(schemas)
    assert "errors" in schemas["ValidationProblem"]["required"]
    operations = [
        (f"{method.upper()} {path}", op)
        for path, ops in document["paths"].items()
        for method, op in ops.items()
    ]
    assert len(operations) >= 30
    for name, operation in operations:
        responses = operation["responses"]
        parameters = operation.get("parameters", [])
        expected = {"400", "503"}
        if not name.endswith(" /health"):
            expected |= {"401", "429"}
        if parameters or "requestBody" in operation:
            expected.add("422")
        if any(p["in"] == "path" for p in parameters):
            expected.add("404")
        if "requestBody" in operation:
            expected.add("413")
        assert expected <= set(responses), f"{name}: {sorted(expected - set(responses))}"
        for status, response in responses.items():
            if status in PROBLEM_STATUSES:
                schema = "ValidationProblem" if status == "422" else "Problem"
                assert response["content"] == {
                    PROBLEM: {"schema": {"$ref": f"#/components/schemas/{schema}"}}
                }, f"{name} {status}"
            else:
                assert status.startswith("2"), f"{name} declares {status}"
    admin_only = {
        "GET /api/v1/tenants",
        "POST /api/v1/tenants",
        "PATCH /api/v1/tenants/{tenant_id}",
        "DELETE /api/v1/tenants/{tenant_id}",
        "POST /api/v1/tenants/{tenant_id}/keys",
        "POST /api/v1/event-types",
        "PATCH /api/v1/event-types/{name}",
        "DELETE /api/v1/event-types/{name}",
    }
    for name, operation in operations:
        if name in admin_only:
            assert "403" in operation["responses"], name
