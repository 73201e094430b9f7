"""OpenTelemetry traces: with OTEL_EXPORTER_OTLP_ENDPOINT set, a span per send (a child of the
send request's `traceparent`) and per attempt (a child of the send's span), exported over
OTLP/HTTP to a real collector on loopback, and the attempt's `traceparent` on the delivery;
unset, no span, no header, nothing stored."""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import standardwebhooks
from aiohttp import web
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from hookline import tracing
from hookline.errors import ConfigurationError
from tests.support.databases import query
from tests.support.flow import settled, webhook_for
from tests.support.harness import make_settings, running
from tests.support.receiver import Received, Receiver, Reply

SENDER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
SENDER_SPAN = "00f067aa0ba902b7"
TRACEPARENT = f"00-{SENDER_TRACE}-{SENDER_SPAN}-01"
STATUS_ERROR = 2  # opentelemetry.proto.trace.v1.Status.STATUS_CODE_ERROR


@dataclass(frozen=True)
class Span:
    name: str
    trace_id: str
    span_id: str
    parent_id: str
    attributes: dict[str, Any]
    status: int
    service: str
    links: list[tuple[str, str]]


def _value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    return getattr(value, kind) if kind else None


class Collector:
    """An OTLP/HTTP trace collector: what an exporter POSTs to /v1/traces, decoded."""

    def __init__(self) -> None:
        self.spans: list[Span] = []
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/v1/traces", self._export)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _export(self, request: web.Request) -> web.Response:
        assert request.content_type == "application/x-protobuf"
        export = ExportTraceServiceRequest.FromString(await request.read())
        for resource_spans in export.resource_spans:
            resource = {a.key: _value(a.value) for a in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    self.spans.append(
                        Span(
                            name=span.name,
                            trace_id=span.trace_id.hex(),
                            span_id=span.span_id.hex(),
                            parent_id=span.parent_span_id.hex(),
                            attributes={a.key: _value(a.value) for a in span.attributes},
                            status=span.status.code,
                            service=resource["service.name"],
                            links=[(k.trace_id.hex(), k.span_id.hex()) for k in span.links],
                        )
                    )
        return web.Response(
            body=ExportTraceServiceResponse().SerializeToString(),
            content_type="application/x-protobuf",
        )

    def named(self, name: str) -> list[Span]:
        return [s for s in self.spans if s.name == name]


@pytest.fixture
async def collector() -> AsyncIterator[Collector]:
    server = Collector()
    await server.start()
    yield server
    await server.stop()


def header(received: Received, name: str) -> str | None:
    return next((v for k, v in received.headers.items() if k.lower() == name), None)


def parent_of(traceparent: str) -> tuple[str, str]:
    """The trace id and the parent span id a `traceparent` header names."""
    version, trace_id, span_id, flags = traceparent.split("-")
    assert version == "00"
    assert int(flags, 16) & 1  # sampled
    return trace_id, span_id


async def test_a_send_and_each_attempt_are_spans_of_the_senders_trace(
    database_url: str, receiver: Receiver, collector: Collector
) -> None:
    receiver.script("/hook", Reply(503), Reply(200))
    environ = {"OTEL_EXPORTER_OTLP_ENDPOINT": collector.url, "OTEL_SERVICE_NAME": "hooks-eu"}
    async with running(make_settings(database_url), environ=environ) as hl:
        _, hook = await webhook_for(hl.api, receiver, "/hook")
        response = await hl.client.post(
            "/api/v1/events",
            json={"type": "order.filled", "data": {"order": 7}},
            headers={"traceparent": TRACEPARENT, "tracestate": "vendor=abc"},
        )
        assert response.status_code == 202, response.text
        event_id = response.json()["id"]
        [delivery] = await settled(hl.api, event_id)
        assert delivery.status == "succeeded"
        assert delivery.attempt_count == 2
        [[stored]] = await query(database_url, f"SELECT trace FROM events WHERE id = '{event_id}'")
    # Leaving `running` stopped hookline, which exported its last spans.

    [send] = collector.named("hookline send")
    assert (send.trace_id, send.parent_id) == (SENDER_TRACE, SENDER_SPAN)
    assert send.attributes["hookline.event.id"] == event_id
    assert send.attributes["hookline.event.deliveries"] == 1
    assert send.service == "hooks-eu"
    assert json.loads(stored) == {
        "traceparent": f"00-{SENDER_TRACE}-{send.span_id}-01",
        "tracestate": "vendor=abc",
    }

    attempts = sorted(
        collector.named("hookline attempt"), key=lambda s: s.attributes["hookline.attempt.number"]
    )
    assert [a.attributes["hookline.attempt.number"] for a in attempts] == [1, 2]
    for attempt in attempts:
        assert (attempt.trace_id, attempt.parent_id) == (SENDER_TRACE, send.span_id)
        assert attempt.attributes["hookline.delivery.id"] == delivery.id
        assert attempt.attributes["hookline.webhook.id"] == hook.id
        assert attempt.attributes["hookline.destination.kind"] == "http"
    first, second = attempts
    assert first.attributes["http.response.status_code"] == 503
    assert first.attributes["hookline.delivery.outcome"] == "retrying"
    assert first.status == STATUS_ERROR
    assert second.attributes["http.response.status_code"] == 200
    assert second.attributes["hookline.delivery.outcome"] == "succeeded"
    assert second.status != STATUS_ERROR

    # Each request carried its own attempt span as the parent, and still verifies.
    requests = receiver.at("/hook")
    assert [parent_of(header(r, "traceparent") or "") for r in requests] == [
        (SENDER_TRACE, a.span_id) for a in attempts
    ]
    assert [header(r, "tracestate") for r in requests] == ["vendor=abc", "vendor=abc"]
    verifier = standardwebhooks.Webhook(hook.secret)
    for request in requests:
        assert verifier.verify(request.body, request.headers)["data"] == {"order": 7}


async def test_without_an_endpoint_nothing_is_traced(sqlite_url: str, receiver: Receiver) -> None:
    receiver.script("/hook", Reply(200))
    async with running(make_settings(sqlite_url), environ={}) as hl:
        assert not hl.node.tracing.enabled
        await webhook_for(hl.api, receiver, "/hook")
        response = await hl.client.post(
            "/api/v1/events",
            json={"type": "order.filled", "data": {"order": 7}},
            headers={"traceparent": TRACEPARENT},
        )
        event_id = response.json()["id"]
        await settled(hl.api, event_id)
        [[stored]] = await query(sqlite_url, f"SELECT trace FROM events WHERE id = '{event_id}'")
    [request] = receiver.at("/hook")
    assert header(request, "traceparent") is None
    assert stored is None


def test_the_endpoint_follows_opentelemetrys_variables() -> None:
    assert tracing.traces_endpoint({}) is None
    assert tracing.traces_endpoint({"OTEL_EXPORTER_OTLP_ENDPOINT": " "}) is None
    base = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel:4318/"}
    assert tracing.traces_endpoint(base) == "http://otel:4318/v1/traces"
    full = {**base, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://otel:4318/custom"}
    assert tracing.traces_endpoint(full) == "http://otel:4318/custom"
    assert tracing.traces_endpoint({**full, "OTEL_SDK_DISABLED": "TRUE"}) is None
    assert not tracing.from_environment({**base, "OTEL_SDK_DISABLED": "true"}).enabled


def test_an_endpoint_without_opentelemetry_installed_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "hookline.otel", None)  # importing it now fails
    with pytest.raises(ConfigurationError, match=r"pip install 'hookline\[otel\]'"):
        tracing.from_environment({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel:4318"})


async def test_a_batch_attempt_is_a_child_of_one_send_and_links_the_others(
    sqlite_url: str, receiver: Receiver, collector: Collector
) -> None:
    receiver.script("/batch", Reply(200))
    environ = {"OTEL_EXPORTER_OTLP_ENDPOINT": collector.url}
    async with running(make_settings(sqlite_url), environ=environ) as hl:
        await webhook_for(
            hl.api, receiver, "/batch", batch={"max_events": 2, "max_wait_ms": 600_000}
        )
        sent = [
            (await hl.client.post("/api/v1/events", json={"type": "order.filled", "data": {}}))
            for _ in range(2)
        ]
        for response in sent:
            await settled(hl.api, response.json()["id"])
    sends = {s.attributes["hookline.event.id"]: s for s in collector.named("hookline send")}
    [attempt] = collector.named("hookline attempt")
    assert attempt.attributes["hookline.batch.size"] == 2
    leader = sends[attempt.attributes["hookline.event.id"]]
    [other] = [s for s in sends.values() if s is not leader]
    assert (attempt.trace_id, attempt.parent_id) == (leader.trace_id, leader.span_id)
    assert attempt.links == [(other.trace_id, other.span_id)]
    [request] = receiver.at("/batch")
    assert parent_of(header(request, "traceparent") or "") == (attempt.trace_id, attempt.span_id)
