"""Traces, for those who run OpenTelemetry.

When `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set, hookline
exports a span for every send (`hookline send`, a child of the `traceparent` the send request
carried) and for every attempt (`hookline attempt`, a child of its send's span, however much
later it runs and in whichever process), over OTLP/HTTP. Each attempt's request carries that
attempt span's `traceparent` (and `tracestate`), so the receiver's own spans join the trace.
The send's trace context is stored with the event (`events.trace`) for its attempts.

Unset (the default), nothing here imports OpenTelemetry: the spans below are no-ops, no header
is added and nothing is stored. `hookline.otel` holds the OpenTelemetry side (the `otel` extra).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING

from hookline.errors import ConfigurationError

if TYPE_CHECKING:
    from hookline.deliver import Finished, Job
    from hookline.models import SentEvent

ENDPOINT = "OTEL_EXPORTER_OTLP_ENDPOINT"  # the collector's base URL: /v1/traces is added
TRACES_ENDPOINT = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"  # the full URL, if not the usual path
CARRIED = ("traceparent", "tracestate")  # W3C Trace Context: what a request carries


class SendSpan:
    """The span of one send; this one records nothing."""

    trace: str | None = None  # its context, as JSON, to store with the event

    def sent(self, event: SentEvent) -> None:
        """The send was committed (or replayed an earlier one): the span ends."""

    def failed(self, error: BaseException) -> None:
        """The send was refused, or could not be stored: the span ends in error."""


class AttemptSpan:
    """The span of one attempt; this one records nothing and adds no header."""

    headers: Mapping[str, str] = MappingProxyType({})

    def finished(self, done: Finished) -> None:
        """The attempt ended as `done` says: the span ends."""


class Tracing:
    """No traces: what hookline does unless an OTLP endpoint is configured."""

    enabled = False

    def send(self, event_type: str, carried: Mapping[str, str]) -> SendSpan:
        """A span for a send of `event_type`; `carried`: the request's trace headers."""
        return SendSpan()

    def attempt(self, job: Job) -> AttemptSpan:
        return AttemptSpan()

    def close(self) -> None:
        """Export what is left (blocking: run it off the event loop)."""


def carried_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The W3C trace headers among a request's (a case-insensitive mapping)."""
    return {name: headers[name] for name in CARRIED if name in headers}


def traces_endpoint(environ: Mapping[str, str]) -> str | None:
    """Where spans go, as OpenTelemetry's own variables say; None: no traces."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    full = environ.get(TRACES_ENDPOINT, "").strip()
    if full:
        return full
    base = environ.get(ENDPOINT, "").strip()
    return f"{base.rstrip('/')}/v1/traces" if base else None


def from_environment(environ: Mapping[str, str]) -> Tracing:
    """Traces as `environ` configures them: OTLP/HTTP to its endpoint, or none."""
    endpoint = traces_endpoint(environ)
    if endpoint is None:
        return Tracing()
    try:
        from hookline.otel import OtelTracing
    except ImportError:
        raise ConfigurationError(
            f"{ENDPOINT} is set, so hookline would export traces, but OpenTelemetry is not "
            "installed: pip install 'hookline[otel]' (or unset the variable)"
        ) from None
    return OtelTracing(endpoint, service_name=environ.get("OTEL_SERVICE_NAME") or "hookline")
