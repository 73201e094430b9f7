"""Delivery statistics (seed 000): GET /api/v1/stats counts the attempts recorded per webhook
in a window (test sends not counted), with totals, tenant keys seeing their own."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hookline.client import HooklineAPIError
from tests.support import api
from tests.support.databases import query
from tests.support.harness import Running, make_settings, running
from tests.support.receiver import Receiver, Reply

FIELDS = ("total", "succeeded", "failed", "success_rate", "latency_p50_ms", "latency_p95_ms")


@pytest.fixture
async def hookline(database_url: str) -> AsyncIterator[Running]:
    """hookline whose circuit breaker stays out of the way of a dozen failures in a row."""
    settings = make_settings(database_url, circuit_breaker_failure_threshold=100)
    async with running(settings) as app:
        yield app


def nearest_rank(values: list[int], percentile: float) -> int:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(percentile * len(ordered)) - 1)]


def expected(rows: list[tuple[Any, ...]]) -> dict[str, Any]:
    """The statistics of attempts given as (error, latency_ms) rows: no error is a success."""
    total = len(rows)
    ok = sum(1 for error, _ in rows if error is None)
    latencies = [int(latency) for _, latency in rows]
    return {
        "total": total,
        "succeeded": ok,
        "failed": total - ok,
        "success_rate": round(ok / total, 4),
        "latency_p50_ms": nearest_rank(latencies, 0.5),
        "latency_p95_ms": nearest_rank(latencies, 0.95),
    }


async def recorded(database_url: str, webhook_id: str) -> list[tuple[Any, ...]]:
    return await query(
        database_url,
        "SELECT error, latency_ms FROM attempts "
        f"WHERE webhook_id = '{webhook_id}' AND trigger != 'test'",
    )


async def stats(client: Any, **params: str) -> dict[str, Any]:
    return api.ok_object(await client.get("/api/v1/stats", params=params))


async def traffic(hl: Running, receiver: Receiver) -> dict[str, dict[str, Any]]:
    """Two tenants: acme's webhooks /ok (200), /down (500) and /flaky (500 then 200 twice);
    globex's /other (200). Three events each, all settled."""
    await api.event_type(hl.client, "order.filled")
    acme = await api.tenant(hl.client, "Acme")
    globex = await api.tenant(hl.client, "Globex")
    receiver.script("/down", *[Reply(500)] * 20)
    receiver.script("/flaky", Reply(500), Reply(200), Reply(500), Reply(200), Reply(500))
    hooks = {
        path: await api.webhook(hl.client, tenant["id"], receiver.url(f"/{path}"), name=path)
        for tenant, path in ((acme, "ok"), (acme, "down"), (acme, "flaky"), (globex, "other"))
    }
    sent = [
        (await api.send(hl.client, "order.filled", {"n": n}, tenant["id"]))["id"]
        for n in range(3)
        for tenant in (acme, globex)
    ]
    for event_id, count in zip(sent, [3, 1] * 3, strict=True):
        await api.settled(hl.client, event_id, count=count)
    return hooks


async def test_statistics_match_the_attempts_recorded(
    hookline: Running, receiver: Receiver, database_url: str
) -> None:
    hooks = await traffic(hookline, receiver)
    tested = api.ok_object(await hookline.client.post(f"/api/v1/webhooks/{hooks['ok']['id']}/test"))
    assert tested["status_code"] == 200  # recorded as a test attempt: not counted

    answer = await stats(hookline.client, since="24h")
    by_id = {row["webhook_id"]: row for row in answer["webhooks"]}
    assert set(by_id) == {hook["id"] for hook in hooks.values()}
    everything: list[tuple[Any, ...]] = []
    for name, hook in hooks.items():
        rows = await recorded(database_url, hook["id"])
        everything += rows
        row = by_id[hook["id"]]
        assert {k: row[k] for k in FIELDS} == expected(rows), name
        assert (row["name"], row["url"], row["tenant_id"]) == (
            name,
            hook["url"],
            hook["tenant_id"],
        )
    assert by_id[hooks["ok"]["id"]]["total"] == 3  # the test send is not among them
    assert by_id[hooks["down"]["id"]]["succeeded"] == 0
    assert by_id[hooks["down"]["id"]]["total"] >= 3  # retried
    assert 0 < by_id[hooks["flaky"]["id"]]["success_rate"] < 1
    assert answer["totals"] == expected(everything)
    assert len(everything) == sum(row["total"] for row in answer["webhooks"])

    typed = await hookline.api.stats(since="24h")  # the typed client reads the same
    assert typed.totals.model_dump() == answer["totals"]
    # The dashboard's overview reads the totals alone.
    totals = await hookline.node.service.stats.totals("24h", tenant=None)
    assert totals.model_dump() == answer["totals"]
    globex = hooks["other"]["tenant_id"]
    own = await hookline.node.service.stats.totals("24h", tenant=globex)
    assert own.model_dump() == (await stats(hookline.client, tenant_id=globex))["totals"]


async def test_the_window_counts_only_attempts_since_it_began(
    hookline: Running, receiver: Receiver, database_url: str
) -> None:
    hooks = await traffic(hookline, receiver)
    hookline.advance(3 * 3600)
    before_late = hookline.clock()
    sent = await api.send(hookline.client, "order.filled", {"n": 9}, hooks["other"]["tenant_id"])
    await api.settled(hookline.client, sent["id"])

    recent = await stats(hookline.client, since="90m")
    assert [row["webhook_id"] for row in recent["webhooks"]] == [hooks["other"]["id"]]
    assert recent["totals"]["total"] == 1
    assert recent["totals"]["succeeded"] == 1

    instant = datetime.fromtimestamp(before_late - 1, UTC).isoformat()
    assert (await stats(hookline.client, since=instant))["totals"]["total"] == 1
    day = await stats(hookline.client, since="1d")
    all_rows = await query(database_url, "SELECT count(*) FROM attempts WHERE trigger != 'test'")
    assert day["totals"]["total"] == all_rows[0][0] > 1
    since = datetime.fromisoformat(recent["since"])
    until = datetime.fromisoformat(recent["until"])
    assert until - since == timedelta(minutes=90)

    hookline.advance(120)
    nothing = await stats(hookline.client, since="1m")
    assert nothing["webhooks"] == []
    assert nothing["totals"] == dict.fromkeys(FIELDS, None) | {
        "total": 0,
        "succeeded": 0,
        "failed": 0,
    }


async def test_tenant_keys_see_their_own_statistics(hookline: Running, receiver: Receiver) -> None:
    hooks = await traffic(hookline, receiver)
    acme, globex = hooks["ok"]["tenant_id"], hooks["other"]["tenant_id"]
    key = api.ok_object(await hookline.client.post(f"/api/v1/tenants/{globex}/keys"), 201)["key"]
    async with hookline.client_for(key) as tenant_client:
        own = await tenant_client.stats()
        assert [row.webhook_id for row in own.webhooks] == [hooks["other"]["id"]]
        assert own.totals.total == own.webhooks[0].total == 3
        with pytest.raises(HooklineAPIError) as refused:
            await tenant_client.stats(tenant_id=acme)
    assert refused.value.status == 404  # another tenant does not exist for a tenant key

    chosen = await stats(hookline.client, tenant_id=acme)
    assert {row["webhook_id"] for row in chosen["webhooks"]} == {
        hooks[name]["id"] for name in ("ok", "down", "flaky")
    }
    everyone = await stats(hookline.client)
    assert everyone["totals"]["total"] == chosen["totals"]["total"] + own.totals.total


@pytest.mark.parametrize("since", ["yesterday", "0h", "24", "-5m", "5y", "2026-13-01"])
async def test_a_window_it_cannot_read_is_a_clear_422(hookline: Running, since: str) -> None:
    response = await hookline.client.get("/api/v1/stats", params={"since": since})
    assert response.status_code == 422, response.text
    body = response.json()
    assert "90m, 24h or 7d" in body["detail"]
    assert body["errors"][0]["loc"] == ["query", "since"]


async def test_the_dashboards_timeline_counts_deliveries_as_they_finished(
    hookline: Running, receiver: Receiver, database_url: str
) -> None:
    hooks = await traffic(hookline, receiver)
    rows = await query(
        database_url,
        "SELECT webhook_id, status, count(*) FROM deliveries "
        "WHERE status IN ('succeeded', 'failed') GROUP BY webhook_id, status",
    )
    finished = {(webhook_id, status): int(n) for webhook_id, status, n in rows}
    stats_of = hookline.node.service.stats

    hour = await stats_of.timelines(
        [hook["id"] for hook in hooks.values()], window=3600, buckets=60, tenant=None
    )
    for hook in hooks.values():
        line = hour[hook["id"]]
        assert len(line.succeeded) == len(line.failed) == 60
        assert line.total_succeeded == finished.get((hook["id"], "succeeded"), 0)
        assert line.total_failed == finished.get((hook["id"], "failed"), 0)
    assert hour["*"].total_succeeded == sum(n for (_, s), n in finished.items() if s == "succeeded")
    assert hour["*"].total_failed == sum(n for (_, s), n in finished.items() if s == "failed")
    assert hour["*"].total_failed > 0
    # Everything finished within seconds: in the last bucket or the one before it.
    assert all(n == 0 for n in hour["*"].succeeded[:-2])
    assert hour["*"].end - 60 <= hookline.clock() < hour["*"].end

    globex = hooks["other"]["tenant_id"]
    own = await stats_of.timeline(window=3600, buckets=60, tenant=globex)
    assert (own.total_succeeded, own.total_failed) == (3, 0)
    one = await stats_of.timeline(window=3600, buckets=4, tenant=None, webhook=hooks["down"]["id"])
    assert (one.total_succeeded, one.total_failed) == (0, 3)
    hidden = await stats_of.timeline(
        window=3600, buckets=4, tenant=globex, webhook=hooks["ok"]["id"]
    )
    assert (hidden.total_succeeded, hidden.total_failed) == (0, 0)  # another tenant's

    hookline.advance(2 * 3600)
    later = await stats_of.timeline(window=3600, buckets=60, tenant=None)
    assert (later.total_succeeded, later.total_failed) == (0, 0)
    day = await stats_of.timeline(window=86_400, buckets=24, tenant=None)
    assert (day.total_succeeded, day.total_failed) == (
        hour["*"].total_succeeded,
        hour["*"].total_failed,
    )
