"""The event type catalog with JSON Schemas, and payload filters at fan-out (seeds 001, 3, 4)."""

from __future__ import annotations

from typing import Any

import pytest

from hookline import HooklineAPIError
from tests.support.flow import settled, webhook_for
from tests.support.harness import Running
from tests.support.receiver import Receiver

CASCADE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["symbol", "velocity_usd_per_hour"],
    "properties": {
        "symbol": {"type": "string"},
        "velocity_usd_per_hour": {"type": "number", "minimum": 0},
        "support_levels": {"type": "array", "items": {"type": "number"}},
    },
}


async def test_send_enforces_the_event_types_schema_and_names_the_failing_path(
    hookline: Running,
) -> None:
    api = hookline.api
    await api.event_types.create("LIQUIDATION_CASCADE", schema=CASCADE_SCHEMA)
    ok = await api.events.send(
        "LIQUIDATION_CASCADE", {"symbol": "BTC/USDT", "velocity_usd_per_hour": 1_500_000}
    )
    assert ok.id.startswith("evt_")
    cases: list[tuple[dict[str, Any], str]] = [
        ({"symbol": "BTC/USDT"}, "data: 'velocity_usd_per_hour' is a required property"),
        ({"symbol": 7, "velocity_usd_per_hour": 1}, "data.symbol: 7 is not of type 'string'"),
        (
            {"symbol": "x", "velocity_usd_per_hour": 1, "support_levels": [45000, "44500"]},
            "data.support_levels[1]: '44500' is not of type 'number'",
        ),
        ({"symbol": "x", "velocity_usd_per_hour": -1}, "data.velocity_usd_per_hour: -1 is less"),
    ]
    for data, message in cases:
        with pytest.raises(HooklineAPIError) as refused:
            await api.events.send("LIQUIDATION_CASCADE", data)
        assert refused.value.status == 422
        assert refused.value.detail.startswith(message), refused.value.detail
    assert len((await api.events.list()).data) == 1  # nothing half-written


async def test_event_types_can_be_changed_archived_and_restored(hookline: Running) -> None:
    api = hookline.api
    await api.event_types.create("price.above", description="old")
    changed = await api.event_types.update(
        "price.above", description="Price crossed above a target", schema={"type": "object"}
    )
    assert (changed.description, changed.json_schema) == (
        "Price crossed above a target",
        {"type": "object"},
    )
    cleared = await api.event_types.update("price.above", schema=None)
    assert cleared.json_schema is None

    await api.event_types.archive("price.above")
    assert (await api.event_types.list()).data == []
    archived = (await api.event_types.list(include_archived=True)).data
    assert [(t.name, t.archived) for t in archived] == [("price.above", True)]
    with pytest.raises(HooklineAPIError, match="is archived"):
        await api.events.send("price.above", {})

    await api.event_types.update("price.above", archived=False)
    assert (await api.events.send("price.above", {})).type == "price.above"


async def test_an_invalid_schema_is_refused(hookline: Running) -> None:
    with pytest.raises(HooklineAPIError) as refused:
        await hookline.api.event_types.create("x.y", schema={"type": "nonsense"})
    assert refused.value.status == 422
    assert refused.value.detail.startswith("schema.type: not a valid JSON Schema")
    with pytest.raises(HooklineAPIError):
        await hookline.api.event_types.get("x.y")


async def test_a_tenant_key_can_read_the_catalog_but_not_change_it(hookline: Running) -> None:
    tenant = await hookline.api.tenants.create("Acme")
    await hookline.api.event_types.create("price.above", description="Price above target")
    key = await hookline.api.tenants.create_key(tenant.id)
    async with hookline.client_for(key.key) as customer:
        names = [t.name for t in (await customer.event_types.list()).data]
        assert names == ["price.above"]  # seed 003: list_available_events
        with pytest.raises(HooklineAPIError) as refused:
            await customer.event_types.update("price.above", description="mine")
        assert refused.value.status == 403


async def test_filters_choose_what_a_webhook_receives(
    hookline: Running, receiver: Receiver
) -> None:
    api = hookline.api
    tenant, _ = await webhook_for(
        api,
        receiver,
        "/big-ethereum",
        event_type="exploit.detected",
        filter={
            "data.amount_usd": {"$gte": 100000},
            "data.chain": {"$iin": ["ethereum", "arbitrum"]},
        },
    )
    _, everything = await webhook_for(
        api, receiver, "/all", event_type="exploit.detected", tenant=tenant
    )
    exploits = [
        {"chain": "Ethereum", "protocol": "Uniswap", "amount_usd": 250000.0},
        {"chain": "Ethereum", "protocol": "Aave", "amount_usd": 5000.0},
        {"chain": "Solana", "protocol": "Mango", "amount_usd": 900000.0},
        {"chain": "Arbitrum", "protocol": "GMX", "amount_usd": 100000},
    ]
    sent = [await api.events.send("exploit.detected", e, tenant_id=tenant.id) for e in exploits]
    assert [s.deliveries for s in sent] == [2, 1, 1, 2]
    for event in sent:
        await settled(api, event.id, count=event.deliveries)
    got = {r.headers["webhook-id"] for r in receiver.at("/big-ethereum")}
    assert got == {sent[0].id, sent[3].id}
    assert len(receiver.at("/all")) == 4
    assert everything.filter is None


async def test_a_filter_can_be_changed_and_removed(hookline: Running, receiver: Receiver) -> None:
    api = hookline.api
    tenant, hook = await webhook_for(api, receiver, "/hooks", filter={"data.n": {"$gt": 5}})
    assert (await api.events.send("order.filled", {"n": 1}, tenant_id=tenant.id)).deliveries == 0
    await api.webhooks.update(hook.id, filter={"data.n": {"$lt": 5}})
    assert (await api.events.send("order.filled", {"n": 1}, tenant_id=tenant.id)).deliveries == 1
    removed = await api.webhooks.update(hook.id, filter=None)
    assert removed.filter is None
    assert (await api.events.send("order.filled", {"n": 9}, tenant_id=tenant.id)).deliveries == 1


async def test_a_bad_filter_is_refused_at_the_bad_operator(
    hookline: Running, receiver: Receiver
) -> None:
    tenant, hook = await webhook_for(hookline.api, receiver, "/hooks")
    for call in (
        hookline.api.webhooks.create(
            url=receiver.url("/x"), tenant_id=tenant.id, filter={"data.amount": {"$gtt": 5}}
        ),
        hookline.api.webhooks.update(hook.id, filter={"data.amount": {"$gtt": 5}}),
    ):
        with pytest.raises(HooklineAPIError) as refused:
            await call
        assert refused.value.status == 422
        assert refused.value.detail.startswith("filter.data.amount.$gtt: unknown operator '$gtt'")
    assert len((await hookline.api.webhooks.list()).data) == 1
    assert (await hookline.api.webhooks.get(hook.id)).filter is None
