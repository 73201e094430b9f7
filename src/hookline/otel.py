"""The OpenTelemetry side of `hookline.tracing`, imported only when traces are on.

hookline keeps a TracerProvider of its own (an embedding application's global one is left
alone), exports through a BatchSpanProcessor over OTLP/HTTP, and reads and writes W3C Trace
Context with OpenTelemetry's own propagator. The exporter takes the rest of its settings
(`OTEL_EXPORTER_OTLP_HEADERS`, `..._TIMEOUT`, `..._CERTIFICATE`, `OTEL_BSP_*`,
`OTEL_RESOURCE_ATTRIBUTES`, `OTEL_TRACES_SAMPLER`) from the process environment, as usual.
"""

from __future__ import annotations

from collections.abc import Mapping

import orjson
from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import SERVICE_NAME, SERVICE_VERSION, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import (
    Link,
    Span,
    SpanKind,
    Status,
    StatusCode,
    get_current_span,
    set_span_in_context,
)
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from hookline import __version__
from hookline.deliver import Finished, Job, attempt_error
from hookline.models import SentEvent
from hookline.schedule import Delivered, Disable, GiveUp, Retry
from hookline.tracing import AttemptSpan, SendSpan, Tracing
from hookline.transport import Response

PROPAGATOR = TraceContextTextMapPropagator()

# What the attempt's decision means for its delivery: `hookline.delivery.outcome`.
OUTCOMES = {Delivered: "succeeded", Retry: "retrying", GiveUp: "failed", Disable: "failed"}


def _carrier(span: Span) -> dict[str, str]:
    carrier: dict[str, str] = {}
    PROPAGATOR.inject(carrier, context=set_span_in_context(span))
    return carrier


def _stored_context(trace: str | None) -> Context | None:
    """The context a stored send's trace stands for (None: no parent)."""
    if trace is None:
        return None
    try:
        carrier = orjson.loads(trace)
    except orjson.JSONDecodeError:
        return None
    return PROPAGATOR.extract(carrier) if isinstance(carrier, dict) else None


class _Send(SendSpan):
    def __init__(self, span: Span) -> None:
        self._span = span
        self.trace = orjson.dumps(_carrier(span)).decode()

    def sent(self, event: SentEvent) -> None:
        self._span.set_attributes(
            {
                "hookline.event.id": event.id,
                "hookline.tenant.id": event.tenant_id or "",
                "hookline.event.deliveries": event.deliveries,
                "hookline.event.duplicate": event.duplicate,
            }
        )
        self._span.end()

    def failed(self, error: BaseException) -> None:
        self._span.record_exception(error)
        self._span.set_status(Status(StatusCode.ERROR, str(error)))
        self._span.end()


class _Attempt(AttemptSpan):
    def __init__(self, span: Span) -> None:
        self._span = span
        self.headers = _carrier(span)

    def finished(self, done: Finished) -> None:
        result, span = done.result, self._span
        span.set_attribute("hookline.delivery.outcome", OUTCOMES[type(done.decision)])
        span.set_attribute("hookline.attempt.latency_ms", result.latency_ms)
        if isinstance(result, Response):
            span.set_attribute("http.response.status_code", result.status_code)
        error = attempt_error(result)
        if error is not None:
            span.set_status(Status(StatusCode.ERROR, error))
        span.end()


class OtelTracing(Tracing):
    enabled = True

    def __init__(self, endpoint: str, *, service_name: str) -> None:
        resource = Resource.create({SERVICE_NAME: service_name, SERVICE_VERSION: __version__})
        self._provider = TracerProvider(resource=resource)
        self._provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
        self._tracer = self._provider.get_tracer("hookline", __version__)

    def send(self, event_type: str, carried: Mapping[str, str]) -> SendSpan:
        span = self._tracer.start_span(
            "hookline send",
            context=PROPAGATOR.extract(dict(carried)),
            kind=SpanKind.PRODUCER,
            attributes={"hookline.event.type": event_type},
        )
        return _Send(span)

    def attempt(self, job: Job) -> AttemptSpan:
        """A child of the send of the job's event; a batch's span links every other member's."""
        links = []
        for member in job.deliveries:
            context = _stored_context(member.trace)
            if member.event_id != job.event_id and context is not None:
                links.append(Link(get_current_span(context).get_span_context()))
        span = self._tracer.start_span(
            "hookline attempt",
            context=_stored_context(job.trace),
            kind=SpanKind.CLIENT,
            links=links,
            attributes={
                "hookline.delivery.id": job.delivery_id,
                "hookline.webhook.id": job.target.webhook_id,
                "hookline.tenant.id": job.tenant_id,
                "hookline.event.id": job.event_id,
                "hookline.event.type": job.event_type,
                "hookline.attempt.number": job.number,
                "hookline.attempt.trigger": job.trigger.value,
                "hookline.destination.kind": job.target.url.partition(":")[0].lower(),
                "hookline.batch.size": len(job.deliveries),
            },
        )
        return _Attempt(span)

    def close(self) -> None:
        self._provider.shutdown()
