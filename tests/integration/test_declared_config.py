"""Declared configuration end to end: a HOOKLINE_CONFIG file and the seeds' environment
variables are reconciled at every start, and what they declare is changed there only."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from pathlib import Path

import pytest
import standardwebhooks

from hookline.errors import ConfigurationError
from hookline.node import Hookline
from tests.support import api
from tests.support.harness import make_settings, running
from tests.support.receiver import Receiver

SECRET_1 = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SECRET_2 = "whsec_" + "C2FVsBQIhrscChlQIMV+b5sSYspob7oD"


def config_file(receiver: Receiver, *, version: int) -> str:
    path = "/alerts" if version == 1 else "/alerts-v2"
    text = f"""
[[event_types]]
name = "order.filled"
description = "An order was filled (v{version})"
group = "orders"
schema = {{ type = "object", required = ["symbol"] }}
examples = [{{ symbol = "BTCUSDT", price = 45000 }}]

[[webhooks]]
tenant_id = "acme"
name = "alerts"
url = "{receiver.url(path)}"
event_types = ["order.filled"]
secret = "${{ACME_SECRET}}"
headers = {{ X-Team = "risk" }}
"""
    if version == 1:
        text += f"""
[[tenants]]
uid = "acme"
name = "Acme Trading"
max_webhooks = 5

[[webhooks]]
name = "ops"
url = "{receiver.url("/ops")}"
"""
    return text


async def test_a_file_is_reconciled_at_every_start_and_changed_there_only(
    database_url: str, receiver: Receiver, tmp_path: Path
) -> None:
    path = tmp_path / "hookline.toml"
    path.write_text(config_file(receiver, version=1))
    settings = make_settings(database_url, config=path)

    async with running(settings, environ={"ACME_SECRET": SECRET_1}) as hl:
        assert sorted(map(str, hl.node.declared.changes)) == [
            "create event type order.filled",
            "create tenant acme",
            "create tenant default",
            f"create webhook webhooks[0] {receiver.url('/alerts')}",
            f"create webhook webhooks[1] {receiver.url('/ops')}",
        ]
        # The one without a secret got one, shown once at start.
        [(where, ops_secret)] = hl.node.declared.secrets.items()
        assert where == f"webhooks[1] {receiver.url('/ops')}"
        assert ops_secret.startswith("whsec_")

        event_type = api.ok_object(await hl.client.get("/api/v1/event-types/order.filled"))
        assert (event_type["group"], event_type["managed_by"]) == ("orders", "file")
        acme = api.ok_object(await hl.client.get("/api/v1/tenants/acme"))
        assert (acme["name"], acme["max_webhooks"], acme["managed_by"]) == (
            "Acme Trading",
            5,
            "file",
        )
        hooks = api.ok_object(await hl.client.get("/api/v1/webhooks"))["data"]
        alerts = next(h for h in hooks if h["name"] == "alerts")
        assert (alerts["tenant_id"], alerts["managed_by"]) == (acme["id"], "file")
        default = api.ok_object(await hl.client.get("/api/v1/tenants/default"))
        assert default["managed_by"] is None

        sent = await api.send(hl.client, "order.filled", {"symbol": "ETHUSDT"}, "acme")
        [request] = await receiver.wait_for(1, "/alerts")
        payload = standardwebhooks.Webhook(SECRET_1).verify(request.body, request.headers)
        assert (payload["id"], request.headers["X-Team"]) == (sent["id"], "risk")
        broadcast = await api.send(hl.client, "order.filled", {"symbol": "SOLUSDT"})
        [request] = await receiver.wait_for(1, "/ops")
        assert (
            standardwebhooks.Webhook(ops_secret).verify(request.body, request.headers)["id"]
            == (broadcast["id"])
        )

        # Declared: the API says where to change it.
        for response in (
            await hl.client.patch(f"/api/v1/webhooks/{alerts['id']}", json={"name": "x"}),
            await hl.client.delete(f"/api/v1/webhooks/{alerts['id']}"),
            await hl.client.post(f"/api/v1/webhooks/{alerts['id']}/rotate-secret"),
            await hl.client.patch("/api/v1/event-types/order.filled", json={"description": "x"}),
            await hl.client.delete("/api/v1/event-types/order.filled"),
            await hl.client.patch("/api/v1/tenants/acme", json={"name": "x"}),
            await hl.client.delete("/api/v1/tenants/acme"),
        ):
            assert response.status_code == 409, response.text
            assert "managed in the configuration file HOOKLINE_CONFIG" in response.json()["detail"]

    path.write_text(config_file(receiver, version=2))
    async with running(settings, environ={"ACME_SECRET": SECRET_2}) as hl:
        changes = sorted(map(str, hl.node.declared.changes))
        assert changes == sorted(
            [
                "update event type order.filled: description",
                "release tenant acme",
                f"remove webhook {next(h['id'] for h in hooks if h['name'] == 'ops')} "
                f"(file:default:ops)",
                f"update webhook {alerts['id']} (webhooks[0] {receiver.url('/alerts-v2')}): url",
                f"rotate secret webhook {alerts['id']} (webhooks[0] {receiver.url('/alerts-v2')})",
            ]
        )
        assert hl.node.declared.secrets == {}
        hooks = api.ok_object(await hl.client.get("/api/v1/webhooks"))["data"]
        assert [(h["id"], h["url"]) for h in hooks] == [(alerts["id"], receiver.url("/alerts-v2"))]
        acme = api.ok_object(await hl.client.get("/api/v1/tenants/acme"))
        assert acme["managed_by"] is None  # released to the API, not deleted
        api.ok(await hl.client.patch("/api/v1/tenants/acme", json={"name": "Acme"}))

        sent = await api.send(hl.client, "order.filled", {"symbol": "ETHUSDT"}, "acme")
        [request] = await receiver.wait_for(1, "/alerts-v2")
        payload = standardwebhooks.Webhook(SECRET_2).verify(request.body, request.headers)
        assert payload["id"] == sent["id"]

    # Nothing changed since: nothing to do.
    async with running(settings, environ={"ACME_SECRET": SECRET_2}) as hl:
        assert hl.node.declared.changes == []

    # Gone from the configuration: its event types are archived and left to the API.
    async with running(make_settings(database_url), environ={}) as hl:
        assert sorted(map(str, hl.node.declared.changes)) == [
            "archive event type order.filled",
            f"remove webhook {alerts['id']} (file:acme:alerts)",
        ]
        event_type = api.ok_object(await hl.client.get("/api/v1/event-types/order.filled"))
        assert (event_type["archived"], event_type["managed_by"]) == (True, None)


async def test_the_seed_environment_declares_webhooks_of_the_default_tenant(
    database_url: str, receiver: Receiver
) -> None:
    env = {
        "WEBHOOKS_ALL": receiver.url("/all"),
        "WEBHOOKS_CASCADE": f"{receiver.url('/cascade-1')},{receiver.url('/cascade-2')}",
        "WEBHOOK_FORMAT": "standard",
    }
    async with running(make_settings(database_url)) as hl:
        # The event types the variables name come first (here through the API).
        for name, group in (("LIQUIDATION_CASCADE", "CASCADE"), ("FUNDING_ANOMALY", "FUNDING")):
            api.ok(
                await hl.client.post("/api/v1/event-types", json={"name": name, "group": group}),
                201,
            )
        mine = await api.tenant(hl.client, "Mine")
        made_by_api = await api.webhook(hl.client, mine["id"], receiver.url("/mine"))

    async with running(make_settings(database_url), environ=env) as hl:
        hooks = api.ok_object(await hl.client.get("/api/v1/webhooks"))["data"]
        declared = {h["url"]: h for h in hooks if h["managed_by"] == "env"}
        assert sorted(declared) == sorted(
            [receiver.url("/all"), receiver.url("/cascade-1"), receiver.url("/cascade-2")]
        )
        assert declared[receiver.url("/cascade-1")]["event_types"] == ["LIQUIDATION_CASCADE"]
        assert declared[receiver.url("/all")]["event_types"] == []
        default = api.ok_object(await hl.client.get("/api/v1/tenants/default"))
        assert {h["tenant_id"] for h in declared.values()} == {default["id"]}

        # Sent without a tenant: a broadcast reaches them.
        await api.send(hl.client, "LIQUIDATION_CASCADE", {"symbol": "BTC/USDT"})
        await api.send(hl.client, "FUNDING_ANOMALY", {"symbol": "ETH/USDT"})
        await receiver.wait_for(2, "/all")
        await receiver.wait_for(1, "/cascade-1")
        await receiver.wait_for(1, "/cascade-2")
        assert len(receiver.at("/cascade-1")) == 1

        response = await hl.client.patch(
            f"/api/v1/webhooks/{declared[receiver.url('/all')]['id']}", json={"name": "x"}
        )
        assert response.status_code == 409
        assert "managed in hookline's environment" in response.json()["detail"]

    # Gone from the environment: removed; what the API made stays.
    still = {"WEBHOOKS_ALL": receiver.url("/all"), "WEBHOOK_FORMAT": "standard"}
    async with running(make_settings(database_url), environ=still) as hl:
        hooks = api.ok_object(await hl.client.get("/api/v1/webhooks"))["data"]
        assert sorted(h["url"] for h in hooks) == sorted([receiver.url("/all"), made_by_api["url"]])
        assert [str(c).split(" (")[0].rsplit(" ", 1)[0] for c in hl.node.declared.changes] == [
            "remove webhook",
            "remove webhook",
        ]


async def test_a_variable_naming_no_group_or_type_stops_the_start(database_url: str) -> None:
    env = {"WEBHOOKS_CASCADE": "https://a.example"}
    node = Hookline(make_settings(database_url), environ=env, run_worker=False)
    try:
        with pytest.raises(ConfigurationError, match="WEBHOOKS_CASCADE matches no event type"):
            await node.start()
    finally:
        await node.stop()


async def test_event_type_examples_must_pass_its_schema(database_url: str) -> None:
    schema = {"type": "object", "properties": {"price": {"type": "number"}}}
    async with running(make_settings(database_url)) as hl:
        refused = await hl.client.post(
            "/api/v1/event-types",
            json={
                "name": "price.above",
                "schema": schema,
                "examples": [{"price": 1}, {"price": "high"}],
            },
        )
        assert refused.status_code == 422
        problem = refused.json()
        assert problem["errors"][0]["loc"] == ["body", "examples", 1]
        assert problem["detail"].startswith("examples[1]: data.price: 'high' is not of type")
        assert problem["detail"].endswith("change the example or the schema")

        made = api.ok_object(
            await hl.client.post(
                "/api/v1/event-types",
                json={
                    "name": "price.above",
                    "group": "PRICES",
                    "schema": schema,
                    "examples": [{"price": 1}],
                },
            ),
            201,
        )
        assert (made["group"], made["examples"], made["managed_by"]) == (
            "PRICES",
            [{"price": 1}],
            None,
        )
        # A new schema must accept the examples kept, and new examples the schema kept.
        stricter = {"type": "object", "required": ["symbol"]}
        refused = await hl.client.patch(
            "/api/v1/event-types/price.above", json={"schema": stricter}
        )
        assert refused.status_code == 422
        assert refused.json()["detail"].startswith("examples[0]")
        refused = await hl.client.patch(
            "/api/v1/event-types/price.above", json={"examples": [{"price": []}]}
        )
        assert refused.status_code == 422
        changed = api.ok_object(
            await hl.client.patch(
                "/api/v1/event-types/price.above",
                json={"group": "ALERTS", "examples": [{"price": 2}, {"price": 3.5}]},
            )
        )
        assert (changed["group"], changed["examples"]) == ("ALERTS", [{"price": 2}, {"price": 3.5}])


async def test_the_env_secret_is_set_changed_and_dropped_across_restarts(
    database_url: str, receiver: Receiver
) -> None:
    """WEBHOOK_SECRET signs X-Webhook-Signature; changed, the same webhook signs with the new
    one; removed, it is back to Standard Webhooks with a generated secret, shown once."""
    base = {"WEBHOOKS_ALL": receiver.url("/all"), "WEBHOOK_FORMAT": "standard"}
    webhook_ids = []
    for number, secret in enumerate(("first-shared-secret", "second-shared-secret", None), 1):
        env = base if secret is None else {**base, "WEBHOOK_SECRET": secret}
        async with running(make_settings(database_url), environ=env) as hl:
            if number == 1:
                await api.event_type(hl.client, "order.filled")
            [hook] = api.ok_object(await hl.client.get("/api/v1/webhooks"))["data"]
            webhook_ids.append(hook["id"])
            await api.send(hl.client, "order.filled", {"n": number})
            [*_, request] = await receiver.wait_for(number, "/all")
            if secret is not None:
                digest = hmac.new(secret.encode(), request.body, hashlib.sha256).hexdigest()
                assert request.headers["X-Webhook-Signature"] == digest
                assert hl.node.declared.secrets == {}
            else:
                [generated] = hl.node.declared.secrets.values()
                standardwebhooks.Webhook(generated).verify(request.body, request.headers)
                assert "X-Webhook-Signature" not in request.headers
    assert len(set(webhook_ids)) == 1


async def test_processes_starting_together_reconcile_in_turn(database_url: str) -> None:
    """api and worker processes on one PostgreSQL database start together: the declarations are
    applied once, and neither start fails on the other's rows."""
    if database_url.startswith("sqlite"):
        pytest.skip("several processes share PostgreSQL only")
    env = {"WEBHOOKS_ALL": "https://a.example,https://b.example", "WEBHOOK_FORMAT": "standard"}
    first = Hookline(make_settings(database_url), environ=env, run_worker=False)
    await first.start()  # the schema, so that the racing starts only reconcile
    await first.stop()
    env["WEBHOOKS_ALL"] += ",https://c.example"
    nodes = [Hookline(make_settings(database_url), environ=env, run_worker=False) for _ in "ab"]
    try:
        await asyncio.gather(*(node.start() for node in nodes))
        made = [str(c) for node in nodes for c in node.declared.changes]
        assert made == ["create webhook WEBHOOKS_ALL https://c.example"]
        hooks = await nodes[0].service.webhooks.managed("env")
        assert len(hooks) == 3
    finally:
        for node in nodes:
            await node.stop()
