"""The trace a processing belongs to (OpenTelemetry API only: the processes install the SDK,
see `kafka_access.tracing`; without it these are no-ops, and a consumed `traceparent` is
passed on unchanged).

Outbox rows store the trace context of the transaction that wrote them, so the relay
publishes the message in that trace even after a restart; processing log entries keep the
trace id, which links the Logboek Dataverwerkingen to the traces.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind

__all__ = ["consumed", "current_trace_headers", "current_trace_id"]


def _tracer() -> trace.Tracer:
    # Looked up at each use, not at import: the provider installed now (or none) decides.
    return trace.get_tracer("iaj.handlers")


def current_trace_headers() -> dict[str, str]:
    """The current trace context as W3C headers (`traceparent`), or nothing outside a trace."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


def current_trace_id() -> str | None:
    """The current trace's id, 32 hex digits, or None outside a trace."""
    span_context = trace.get_current_span().get_span_context()
    return format(span_context.trace_id, "032x") if span_context.is_valid else None


@contextmanager
def consumed(
    topic: str, headers: Mapping[str, str], message_id: str | None = None
) -> Iterator[None]:
    """Processing one consumed message: a span in the trace its `traceparent` header carries
    (else in the current one). What is written meanwhile joins that trace."""
    parent = propagate.extract(dict(headers)) if "traceparent" in headers else None
    attributes = {"messaging.system": "kafka", "messaging.destination.name": topic}
    if message_id:
        attributes["messaging.message.id"] = message_id
    with _tracer().start_as_current_span(
        f"{topic} process", context=parent, kind=SpanKind.CONSUMER, attributes=attributes
    ):
        yield
