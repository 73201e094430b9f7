"""Prometheus metrics moving with real deliveries: counters where the facts are made, gauges read
from the store at scrape time, the token, per-webhook series off, a worker's own port."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest
import yaml
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families

from hookline.metrics import Metrics
from hookline.store import Database
from tests.support.clock import ShiftedClock
from tests.support.flow import settled, webhook_for
from tests.support.harness import (
    ADMIN_HEADERS,
    ADMIN_KEY,
    SECRET_KEY,
    Running,
    ServeProcess,
    free_port,
    make_settings,
    prepare_over_http,
    running,
)
from tests.support.receiver import Custom, Receiver, Reply

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
ROOT = Path(__file__).resolve().parents[2]
METRIC_NAME = re.compile(r"\b(?:hookline|webhook)_[a-z_]+\b")


def parse(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


async def scrape(app: Running, **headers: str) -> Samples:
    response = await app.client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return parse(response.text)


async def until(
    read: Callable[[], Awaitable[Samples]], check: Callable[[Samples], bool], timeout: float = 10
) -> Samples:
    """Scrape until `check` holds (counters move just after the commit the API reads)."""
    deadline = time.monotonic() + timeout
    while True:
        samples = await read()
        if check(samples):
            return samples
        if time.monotonic() > deadline:
            raise AssertionError(f"metrics never matched: {sorted(samples.items())}")
        await asyncio.sleep(0.05)


async def test_success_failure_and_retries_move_the_counters(
    hookline: Running, receiver: Receiver
) -> None:
    receiver.script("/ok", Reply(200))
    receiver.script("/bad", Reply(500))
    tenant, _ = await webhook_for(hookline.api, receiver, "/ok")
    await webhook_for(hookline.api, receiver, "/bad", tenant=tenant)
    before = await scrape(hookline)
    assert value(before, "hookline_deliveries_finished_total", outcome="succeeded") == 0
    assert value(before, "webhook_publish_success_total") == 0

    sent = await hookline.api.events.send("order.filled", {"n": 1}, tenant_id=tenant.id)
    finished = await settled(hookline.api, sent.id, count=2)
    assert sorted(d.status for d in finished) == ["failed", "succeeded"]

    samples = await until(
        lambda: scrape(hookline),
        lambda s: value(s, "webhook_publish_failure_total") == 1,
    )
    assert value(samples, "hookline_events_ingested_total", event_type="order.filled") == 1
    assert value(samples, "hookline_deliveries_finished_total", outcome="succeeded") == 1
    assert value(samples, "hookline_deliveries_finished_total", outcome="failed") == 1
    assert value(samples, "hookline_deliveries_finished_total", outcome="cancelled") == 0
    # 1 success; 4 failures to /bad (3 retries on the test schedule, then it gives up).
    assert value(samples, "hookline_attempts_total", outcome="succeeded", destination="http") == 1
    assert value(samples, "hookline_attempts_total", outcome="failed", destination="http") == 4
    assert value(samples, "hookline_retries_scheduled_total") == 3
    assert value(samples, "webhook_publish_success_total") == 1
    assert value(samples, "webhook_retry_count_total") == 3
    assert value(samples, "hookline_attempt_duration_seconds_count", destination="http") == 5
    assert value(samples, "hookline_store_up") == 1
    assert value(samples, "hookline_queue_depth", state="due") == 0


async def test_the_breaker_opening_and_closing_shows_per_webhook(
    database_url: str, receiver: Receiver
) -> None:
    recovery = 60.0
    settings = make_settings(
        database_url,
        retry_schedule=(0.1,) * 12,
        circuit_breaker_failure_threshold=3,
        circuit_breaker_recovery_time=recovery,
    )
    async with running(settings) as app:
        receiver.script("/flaky", Reply(500))
        tenant, hook = await webhook_for(app.api, receiver, "/flaky")
        start = await scrape(app)
        assert value(start, "hookline_circuit_breaker_state", webhook_id=hook.id) == 0
        assert value(start, "webhook_circuit_breaker_state", webhook_id=hook.id) == 0

        sent = await app.api.events.send("order.filled", {"n": 1}, tenant_id=tenant.id)
        opened = await until(
            lambda: scrape(app),
            lambda s: value(s, "hookline_circuit_breaker_state", webhook_id=hook.id) == 2,
        )
        assert value(opened, "webhook_circuit_breaker_state", webhook_id=hook.id) == 2
        assert value(opened, "hookline_circuits", state="open") == 1
        # The delivery waits for the probe: scheduled, not due.
        held = await until(
            lambda: scrape(app), lambda s: value(s, "hookline_queue_depth", state="scheduled") == 1
        )
        assert value(held, "hookline_queue_depth", state="due") == 0

        receiver.script("/flaky", Reply(200))
        app.advance(recovery)
        [done] = await settled(app.api, sent.id)
        assert done.status == "succeeded"
        closed = await until(
            lambda: scrape(app),
            lambda s: value(s, "webhook_circuit_breaker_state", webhook_id=hook.id) == 0,
        )
        assert value(closed, "hookline_circuit_breaker_state", webhook_id=hook.id) == 0
        assert value(closed, "hookline_circuits", state="open") == 0
        assert value(closed, "webhook_publish_success_total") == 1


async def test_a_webhook_disabled_by_410_is_counted(hookline: Running, receiver: Receiver) -> None:
    receiver.script("/gone", Reply(410))
    tenant, _ = await webhook_for(hookline.api, receiver, "/gone")
    assert value(await scrape(hookline), "hookline_webhooks_disabled") == 0
    sent = await hookline.api.events.send("order.filled", {"n": 1}, tenant_id=tenant.id)
    [done] = await settled(hookline.api, sent.id)
    assert done.status == "failed"
    samples = await until(
        lambda: scrape(hookline), lambda s: value(s, "hookline_webhooks_disabled") == 1
    )
    assert value(samples, "webhook_publish_failure_total") == 1
    assert value(samples, "webhook_retry_count_total") == 0


async def test_cancellations_are_counted_however_they_happen(
    database_url: str, receiver: Receiver
) -> None:
    """With their webhook disabled by the worker (a 410), deactivated through the API, or by
    hand (the API's cancel): each waiting delivery it stops is one `cancelled`."""
    answers = iter([500, 410])

    async def fail_then_go(request: web.Request) -> web.Response:
        return web.Response(status=next(answers))

    receiver.script("/gone", Custom(fail_then_go))
    receiver.script("/later", Reply(200))
    async with running(make_settings(database_url, retry_schedule=(3600.0,))) as app:
        tenant, _ = await webhook_for(app.api, receiver, "/gone", event_types=["order.filled"])
        _, later = await webhook_for(
            app.api,
            receiver,
            "/later",
            tenant=tenant,
            event_type="order.cancelled",
            event_types=["order.cancelled"],
        )

        # The first waits an hour for its retry when the second's 410 disables the webhook.
        waiting = await app.api.events.send("order.filled", {"n": 0}, tenant_id=tenant.id)
        await receiver.wait_for(1, "/gone")
        gone = await app.api.events.send("order.filled", {"n": 1}, tenant_id=tenant.id)
        [failed] = await settled(app.api, gone.id)
        assert failed.status == "failed"
        [stopped] = await settled(app.api, waiting.id)
        assert stopped.status == "cancelled"
        samples = await until(
            lambda: scrape(app),
            lambda s: value(s, "hookline_deliveries_finished_total", outcome="cancelled") == 1,
        )
        assert value(samples, "hookline_deliveries_finished_total", outcome="failed") == 1

        # Held back by the worker being stopped: one cancelled by hand, two with /later
        # deactivated through the API.
        worker = app.node.worker
        assert worker is not None
        await worker.stop()
        sent = [
            await app.api.events.send("order.cancelled", {"n": n}, tenant_id=tenant.id)
            for n in range(3)
        ]
        [by_hand] = (await app.api.events.deliveries(sent[0].id)).data
        assert (await app.api.deliveries.cancel(by_hand.id)).status == "cancelled"
        await app.api.webhooks.update(later.id, is_active=False)
        for event in sent:
            [stopped] = (await app.api.events.deliveries(event.id)).data
            assert stopped.status == "cancelled"
        samples = await scrape(app)
        assert value(samples, "hookline_deliveries_finished_total", outcome="cancelled") == 4
        assert value(samples, "hookline_deliveries_finished_total", outcome="succeeded") == 0
        assert receiver.at("/later") == []


async def test_queue_depth_oldest_due_and_heartbeats(hookline: Running, receiver: Receiver) -> None:
    tenant, _ = await webhook_for(hookline.api, receiver, "/hook")
    start = await scrape(hookline)
    assert value(start, "hookline_workers_alive") == 1
    assert value(start, "hookline_worker_heartbeat_age_seconds") is not None
    assert value(start, "hookline_oldest_due_age_seconds") == 0

    worker = hookline.node.worker
    assert worker is not None
    await worker.stop()  # nothing claims now: what is sent stays due
    for n in range(3):
        await hookline.api.events.send("order.filled", {"n": n}, tenant_id=tenant.id)
    hookline.clock.advance(100)  # more than 3 heartbeat intervals (10 s): no beat since
    samples = await scrape(hookline)
    assert value(samples, "hookline_queue_depth", state="due") == 3
    assert value(samples, "hookline_queue_depth", state="scheduled") == 0
    assert (value(samples, "hookline_oldest_due_age_seconds") or 0) >= 100
    assert value(samples, "hookline_events_ingested_total", event_type="order.filled") == 3
    assert value(samples, "hookline_workers_alive") == 0
    assert (value(samples, "hookline_worker_heartbeat_age_seconds") or 0) >= 100
    assert receiver.requests == []


async def test_a_token_guards_metrics(database_url: str) -> None:
    token = "metrics-token-0123456789"
    async with running(make_settings(database_url, metrics_token=token)) as app:
        async with httpx.AsyncClient(base_url=app.base_url) as bare:
            assert (await bare.get("/metrics")).status_code == 401
            wrong = await bare.get("/metrics", headers={"Authorization": "Bearer nope"})
            assert wrong.status_code == 401
            assert token not in wrong.text
            # The admin key is not the metrics token.
            assert (await bare.get("/metrics", headers=ADMIN_HEADERS)).status_code == 401
            right = await bare.get("/metrics", headers={"Authorization": f"Bearer {token}"})
            assert right.status_code == 200
            assert value(parse(right.text), "hookline_store_up") == 1
        schema = (await app.client.get("/openapi.json")).json()
        assert "/metrics" not in schema["paths"]


async def test_no_token_no_key_needed(hookline: Running) -> None:
    async with httpx.AsyncClient(base_url=hookline.base_url) as bare:
        response = await bare.get("/metrics")
    assert response.status_code == 200
    assert value(parse(response.text), "hookline_store_up") == 1


async def test_per_webhook_series_can_be_turned_off(database_url: str, receiver: Receiver) -> None:
    async with running(make_settings(database_url, metrics_per_webhook=False)) as app:
        await webhook_for(app.api, receiver, "/hook")
        samples = await scrape(app)
    names = {name for name, _ in samples}
    assert "hookline_circuit_breaker_state" not in names
    assert "webhook_circuit_breaker_state" not in names
    assert value(samples, "hookline_circuits", state="closed") == 1


async def test_a_scrape_with_the_database_down_answers_the_counters() -> None:
    # Nothing listens on this port: the database is "down".
    db = Database(f"postgresql://postgres@127.0.0.1:{free_port()}/postgres")
    metrics = Metrics(db, clock=ShiftedClock(), heartbeat_interval=10.0)
    metrics.retry_count.inc()
    try:
        samples = parse((await metrics.exposition()).decode())
    finally:
        await db.close()
    assert value(samples, "hookline_store_up") == 0
    assert value(samples, "webhook_retry_count_total") == 1
    assert not any(name.startswith("hookline_queue") for name, _ in samples)


@pytest.mark.slow
async def test_a_worker_serves_its_own_metrics_on_its_port(
    tmp_path: Path, database_url: str, receiver: Receiver
) -> None:
    env = {
        "HOOKLINE_DATABASE_URL": database_url,
        "HOOKLINE_ADMIN_KEY": ADMIN_KEY,
        "HOOKLINE_SECRET_KEY": SECRET_KEY,
        "HOOKLINE_POLL_INTERVAL": "0.2",
    }
    port = free_port()
    api = ServeProcess(env, log=tmp_path / "api.log", role="api")
    worker = ServeProcess(
        env, log=tmp_path / "worker.log", role="worker", args=("--metrics-port", str(port))
    )
    try:
        await asyncio.gather(asyncio.to_thread(api.start), asyncio.to_thread(worker.start))
        async with httpx.AsyncClient(base_url=api.base_url, headers=ADMIN_HEADERS) as client:
            tenant_id = await prepare_over_http(client, receiver)
            sent = await client.post(
                "/api/v1/events",
                json={"type": "order.filled", "data": {"n": 1}, "tenant_id": tenant_id},
            )
            assert sent.status_code == 202
        await receiver.wait_for(1, "/hook")

        async def read() -> Samples:
            async with httpx.AsyncClient() as scraper:
                response = await scraper.get(f"http://127.0.0.1:{port}/metrics")
            assert response.status_code == 200
            return parse(response.text)

        samples = await until(read, lambda s: value(s, "webhook_publish_success_total") == 1)
        assert value(samples, "hookline_store_up") == 1
        assert value(samples, "hookline_workers_alive") == 1
        # Ingest happened in the api process: the worker's own counter did not move.
        assert value(samples, "hookline_events_ingested_total", event_type="order.filled") is None
    finally:
        api.stop()
        worker.stop()


async def test_every_metric_the_rules_dashboard_and_docs_name_is_exported(
    hookline: Running, receiver: Receiver
) -> None:
    tenant, _ = await webhook_for(hookline.api, receiver, "/hook")
    sent = await hookline.api.events.send("order.filled", {"n": 1}, tenant_id=tenant.id)
    await settled(hookline.api, sent.id)
    await until(lambda: scrape(hookline), lambda s: value(s, "webhook_publish_success_total") == 1)
    response = await hookline.client.get("/metrics")
    families = list(text_string_to_metric_families(response.text))
    exported = {f.name for f in families} | {s.name for f in families for s in f.samples}

    rules = yaml.safe_load((ROOT / "deploy" / "prometheus-rules.yml").read_text())
    rule_exprs = [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    dashboard = json.loads((ROOT / "deploy" / "grafana-dashboard.json").read_text())
    panel_exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    assert rule_exprs
    assert panel_exprs
    for expr in rule_exprs + panel_exprs:
        for name in set(METRIC_NAME.findall(expr)) - {"webhook_id"}:  # a label
            assert name in exported, f"{name} (in {expr!r}) is not exported"

    docs = (ROOT / "docs" / "operations.md").read_text()
    documented = {
        match.group(1)
        for line in docs.splitlines()
        if (match := re.match(r"\| `((?:hookline|webhook)_[a-z_]+)`", line))
    }
    assert documented <= exported
    families_named = {f.name for f in families if not f.name.endswith("_created")}
    assert families_named <= {re.sub(r"_total$", "", n) for n in documented}
