"""Event type schemas end to end (issue 10, security items 2, 3, 7 and 9): what is refused when a
schema is saved, through the HTTP API and the embedded API; that nothing is ever fetched; that a
stored schema hookline cannot use breaks only its own type; and that a crafted event cannot
freeze the server."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator

from hookline import schemas
from hookline.errors import InvalidInput
from hookline.models import EventTypeCreate, EventTypeUpdate
from hookline.store import Database
from hookline.store import event_types as event_type_rows
from tests.support.harness import ADMIN_HEADERS, ADMIN_KEY, Running, ServeProcess, free_port
from tests.support.receiver import Receiver

Schema = dict[str, Any]
STORED_AT = datetime(2026, 1, 1, tzinfo=UTC)
HANG_GUARD = 10.0  # seconds: far more than any answer takes; only a frozen server gets near it


def nested(levels: int, keyword: str = "not") -> Schema:
    schema: Schema = {}
    for _ in range(levels):
        schema = {keyword: schema}
    return schema


def outside(url: str) -> list[tuple[Schema, str]]:
    """Schemas that would make a validator reach `url`, and the place the refusal names."""
    return [
        ({"$ref": url}, "schema.$ref"),
        ({"properties": {"price": {"$ref": f"{url}#/$defs/p"}}}, "schema.properties.price.$ref"),
        ({"$defs": {"m": {"$ref": url}}, "items": {"$ref": "#/$defs/m"}}, "schema.$defs.m.$ref"),
        ({"$id": url, "$ref": "other.json"}, "schema.$ref"),
        ({"properties": {"a": {"$id": url, "$ref": "#"}}}, "schema.properties.a.$id"),
        ({"$schema": url, "type": "object"}, "schema.$schema"),
        ({"$dynamicRef": url}, "schema.$dynamicRef"),
        ({"$ref": "#/x-shared", "x-shared": {"$ref": url}}, "schema.$ref"),
        ({"allOf": [{"$ref": "file:///etc/passwd"}]}, "schema.allOf[0].$ref"),
    ]


async def refusal(response: httpx.Response) -> str:
    assert response.status_code == 422, f"{response.status_code}: {response.text}"
    return str(response.json()["detail"])


async def embedded_refusal(running: Running, name: str, schema: Schema) -> str:
    service = running.node.service.event_types
    with pytest.raises(InvalidInput) as created:
        await service.create(EventTypeCreate.model_validate({"name": name, "schema": schema}))
    with pytest.raises(InvalidInput) as updated:
        await service.update("order.filled", EventTypeUpdate.model_validate({"schema": schema}))
    assert created.value.detail == updated.value.detail
    return created.value.detail


async def test_a_schema_reaching_outside_itself_is_refused_and_nothing_is_fetched(
    hookline: Running, receiver: Receiver
) -> None:
    client = hookline.client
    kept = {"type": "object"}
    await client.post("/api/v1/event-types", json={"name": "order.filled", "schema": kept})
    for number, (schema, where) in enumerate(outside(receiver.url("/schema.json"))):
        name = f"remote.n{number}"
        created = await client.post("/api/v1/event-types", json={"name": name, "schema": schema})
        assert (await refusal(created)).startswith(f"{where}: "), (schema, created.text)
        assert (await client.get(f"/api/v1/event-types/{name}")).status_code == 404
        changed = await client.patch("/api/v1/event-types/order.filled", json={"schema": schema})
        assert (await refusal(changed)).startswith(f"{where}: ")
        assert (await embedded_refusal(hookline, name, schema)).startswith(f"{where}: ")
    stored = await client.get("/api/v1/event-types/order.filled")
    assert stored.json()["schema"] == kept
    sent = await client.post("/api/v1/events", json={"type": "order.filled", "data": {"n": 1}})
    assert sent.status_code == 202, sent.text
    assert receiver.requests == []


# Bad schemas, where the answer names them, and what it says. The first rows are JSON any body
# could carry (the HTTP layer may refuse them first, in its own words); the rest are schemas.
JSON_LEVEL: list[tuple[Schema, str, str]] = [
    ({"minimum": 2**64}, "schema.minimum", "64 bits"),
    ({"const": -(2**63) - 1}, "schema.const", "64 bits"),
    ({"maximum": float("nan")}, "schema.maximum", "not a JSON number"),
    ({"exclusiveMinimum": float("-inf")}, "schema.exclusiveMinimum", "not a JSON number"),
    ({"enum": ["\udfff"]}, "schema.enum[0]", "surrogate"),
    (nested(300), "schema.not.not", "nested more than 64 levels deep"),
]
SCHEMA_LEVEL: list[tuple[Schema, str, str]] = [
    ({"$ref": "#"}, "schema.$ref", "leads back to a schema that contains it"),
    (
        {"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"},
        "schema.$defs.b.$ref",
        "leads back to a schema that contains it",
    ),
    ({"properties": {"x": {"$ref": "#"}}}, "schema.properties.x.$ref", "recursive"),
    ({"$ref": "#/$defs/gone"}, "schema.$ref", "does not point at anything in this schema"),
    (nested(40), "schema" + ".not" * 33, "nested more than 32 levels deep"),
    (nested(62), "schema" + ".not" * 33, "nested more than 32 levels deep"),  # 64 in a body
    (nested(31, "items") | {"allOf": [nested(40)]}, "schema.allOf[0]", "more than 32 levels"),
    (
        {
            "$defs": {f"d{i}": {"anyOf": [{"$ref": f"#/$defs/d{i + 1}"}] * 20} for i in range(5)}
            | {"d5": {}},
            "$ref": "#/$defs/d0",
        },
        "schema.$defs.d",
        "more than 10000 subschemas",
    ),
    ({"pattern": "^(\\w)\\1$"}, "schema.pattern", "RE2 syntax"),
    ({"patternProperties": {"(?<=a)b": {}}}, "schema.patternProperties", "RE2 syntax"),
    ({"unevaluatedProperties": False}, "schema.unevaluatedProperties", "additionalProperties"),
    ({"type": "nonsense"}, "schema.type", "not a valid JSON Schema"),
    ({"$schema": "http://json-schema.org/draft-03/schema#"}, "schema.$schema", "draft 2020-12"),
]


async def raw_json(
    client: httpx.AsyncClient, method: str, url: str, body: Schema
) -> httpx.Response:
    """As Python's json writes it: NaN and Infinity included, which httpx refuses to send."""
    content = json.dumps(body)
    headers = {"content-type": "application/json"}
    return await client.request(method, url, content=content, headers=headers)


async def test_every_bad_schema_gets_a_422_that_says_what_to_fix(hookline: Running) -> None:
    client = hookline.client
    await client.post("/api/v1/event-types", json={"name": "order.filled"})
    for number, (schema, where, says) in enumerate(JSON_LEVEL + SCHEMA_LEVEL):
        name = f"bad.n{number}"
        embedded = await embedded_refusal(hookline, name, schema)
        assert embedded.startswith(f"{where}"), embedded
        assert says in embedded, embedded
        for response in (
            await raw_json(client, "POST", "/api/v1/event-types", {"name": name, "schema": schema}),
            await raw_json(client, "PATCH", "/api/v1/event-types/order.filled", {"schema": schema}),
        ):
            detail = await refusal(response)
            if (schema, where, says) in SCHEMA_LEVEL:
                assert detail == embedded
            else:
                assert where.split(".")[1].split("[")[0] in detail, detail
    assert (await client.get("/api/v1/event-types/order.filled")).json()["schema"] is None
    names = [t["name"] for t in (await client.get("/api/v1/event-types")).json()["data"]]
    assert names == ["order.filled"]


async def store_unchecked(db: Database, name: str, schema: Schema) -> None:
    """Write a schema as an older hookline could have stored it, past every check."""
    async with db.write() as conn:
        if await event_type_rows.update_one(conn, name, {"schema": schema}) is None:
            await event_type_rows.insert_one(
                conn,
                {
                    "name": name,
                    "description": "",
                    "schema": schema,
                    "archived": False,
                    "created_at": STORED_AT,
                    "updated_at": STORED_AT,
                },
            )


def stored_broken(closed_port: int) -> list[tuple[Schema, str]]:
    """Schemas an older hookline stored, and the place the refusal names. NaN is stored as null."""
    return [
        ({"properties": {"price": {"maximum": float("nan")}}}, "schema.properties.price.maximum"),
        ({"$ref": f"http://127.0.0.1:{closed_port}/s.json"}, "schema.$ref"),
        ({"pattern": "^(a)\\1$"}, "schema.pattern"),
        ({"type": "nonsense"}, "schema.type"),
        ({"properties": {"x": {"$ref": "#"}}}, "schema.properties.x.$ref"),
        (nested(100), "schema.not"),
    ]


async def test_a_stored_schema_hookline_cannot_use_breaks_only_its_own_type(
    hookline: Running, caplog: pytest.LogCaptureFixture
) -> None:
    client = hookline.client
    good = {"type": "object", "required": ["n"]}
    await client.post("/api/v1/event-types", json={"name": "good", "schema": good})
    await client.post("/api/v1/event-types", json={"name": "plain"})
    broken = stored_broken(free_port())
    for number, (schema, _) in enumerate(broken):
        await store_unchecked(hookline.node.db, f"broken.n{number}", schema)
    hookline.node.catalog.invalidate()

    async def send(event_type: str, data: Schema) -> httpx.Response:
        return await client.post("/api/v1/events", json={"type": event_type, "data": data})

    with caplog.at_level(logging.WARNING, logger="hookline.catalog"):
        for _ in range(2):
            assert (await send("good", {"n": 1})).status_code == 202
            assert (await send("plain", {})).status_code == 202
            assert (await refusal(await send("good", {}))).startswith("data: 'n' is a required")
            for number, (_, where) in enumerate(broken):
                name = f"broken.n{number}"
                detail = await refusal(await send(name, {"n": 1}))
                assert detail.startswith(
                    f"event type {name!r} has a schema hookline cannot use, so its events are "
                    f"refused until the schema is fixed with PATCH /api/v1/event-types/{name}: "
                    f"{where}"
                ), detail
                with pytest.raises(InvalidInput, match="has a schema hookline cannot use"):
                    await hookline.node.catalog.check(name, {"n": 1})  # the embedded path
            hookline.node.catalog.invalidate()
    logged = [r.getMessage() for r in caplog.records if r.name == "hookline.catalog"]
    assert len(logged) == len(broken), logged  # once each, however often it is reloaded
    for number, (_, where) in enumerate(broken):
        assert sum(f"'broken.n{number}'" in line and where in line for line in logged) == 1

    for number in range(len(broken)):
        name = f"broken.n{number}"
        fixed = await client.patch(f"/api/v1/event-types/{name}", json={"schema": good})
        assert fixed.status_code == 200, fixed.text
        assert (await send(name, {"n": 1})).status_code == 202


# -- Against a real `hookline serve` process: what it would fetch or freeze on happens there,
# -- not in the test's own event loop, so the test can watch it (and a hang guard can fire).


@asynccontextmanager
async def serving(database_url: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    env = {"HOOKLINE_DATABASE_URL": database_url, "HOOKLINE_ADMIN_KEY": ADMIN_KEY}
    process = ServeProcess(env, log=tmp_path / "serve.log")
    process.start()
    try:
        async with httpx.AsyncClient(
            base_url=process.base_url, headers=ADMIN_HEADERS, timeout=60
        ) as client:
            yield client
    finally:
        process.stop()


async def a_webhook(client: httpx.AsyncClient, receiver: Receiver) -> str:
    tenant = (await client.post("/api/v1/tenants", json={"name": "Acme"})).json()
    hook = await client.post(
        "/api/v1/webhooks", json={"tenant_id": tenant["id"], "url": receiver.url("/hook")}
    )
    assert hook.status_code == 201, hook.text
    return str(hook.json()["id"])


async def with_health(
    client: httpx.AsyncClient, request: Coroutine[Any, Any, httpx.Response]
) -> httpx.Response:
    """`request`'s answer, sent while /health is asked too: both must come back promptly."""
    answer, health = await asyncio.wait_for(
        asyncio.gather(request, client.get("/health")), timeout=HANG_GUARD
    )
    assert health.status_code == 200
    return answer


@pytest.mark.slow
async def test_a_stored_remote_reference_is_never_fetched(
    database_url: str, tmp_path: Path, receiver: Receiver
) -> None:
    async with serving(database_url, tmp_path) as client:
        hook = await a_webhook(client, receiver)
        db = Database(database_url)
        try:
            await store_unchecked(db, "remote.ref", {"$ref": receiver.url("/schema.json")})
            nested_ref = {"properties": {"a": {"$ref": receiver.url("/a.json#/x")}}}
            await store_unchecked(db, "remote.nested", nested_ref)
        finally:
            await db.close()
        answers = []
        for name in ("remote.ref", "remote.nested"):
            sent = client.post("/api/v1/events", json={"type": name, "data": {"a": 1}})
            answers.append((name, await with_health(client, sent)))
            test = client.post(
                f"/api/v1/webhooks/{hook}/test", json={"event_type": name, "data": {"a": 1}}
            )
            answers.append((name, await with_health(client, test)))
    assert [r.path for r in receiver.requests] == []
    for name, answer in answers:
        detail = await refusal(answer)
        assert detail.startswith(f"event type {name!r} has a schema hookline cannot use"), detail
        assert "refers outside this schema, and hookline never fetches schemas" in detail


async def test_the_validators_registry_never_fetches(receiver: Receiver) -> None:
    """Even a validator built past compile_schema's checks resolves nothing it does not hold."""
    schema = {"properties": {"a": {"$ref": receiver.url("/s.json")}}}
    validator = Draft202012Validator(schema, registry=schemas.NEVER_FETCH)
    with pytest.raises(InvalidInput) as refused:  # in a thread, so a fetch could be answered
        await asyncio.to_thread(schemas.check, validator, {"a": 1}, "order.filled")
    assert receiver.requests == []
    assert refused.value.detail == (
        f"the schema of event type 'order.filled' refers to {receiver.url('/s.json')!r}, which "
        "hookline never fetches; fix the schema with PATCH /api/v1/event-types/order.filled"
    )


# A type an innocent schema describes, and data crafted against it: Python's backtracking `re`
# takes 2**40 steps on each pattern row; the stock uniqueItems compares 20 000 objects pairwise.
INNOCENT: Schema = {
    "type": "object",
    "properties": {"word": {"pattern": "^(a+)+$"}, "tags": {"uniqueItems": True}},
    "patternProperties": {"^(b+)+$": {"type": "integer"}},
}
CRAFTED: list[tuple[Schema, int]] = [
    ({"word": "a" * 40 + "!"}, 422),
    ({"b" * 40 + "!": "not covered by the pattern"}, 202),
    ({"tags": [{"n": n} for n in range(20_000)]}, 202),
]


@pytest.mark.slow
async def test_a_crafted_event_cannot_freeze_the_server(
    database_url: str, tmp_path: Path, receiver: Receiver
) -> None:
    async with serving(database_url, tmp_path) as client:
        hook = await a_webhook(client, receiver)
        made = await client.post("/api/v1/event-types", json={"name": "word", "schema": INNOCENT})
        assert made.status_code == 201, made.text
        for data, status in CRAFTED:
            sent = client.post("/api/v1/events", json={"type": "word", "data": data})
            assert (await with_health(client, sent)).status_code == status
            test = client.post(
                f"/api/v1/webhooks/{hook}/test", json={"event_type": "word", "data": data}
            )
            assert (await with_health(client, test)).status_code == (422 if status == 422 else 200)
