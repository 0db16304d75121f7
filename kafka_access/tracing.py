"""OpenTelemetry tracing, for the service, the CLI and the adapter alike: off unless the
standard `OTEL_*` environment variables ask for it.

A W3C `traceparent` travels in the Kafka headers of every message of a round, so one trace
shows the round across the municipality's and the partners' processes. FastStream's
`KafkaTelemetryMiddleware` creates the spans where FastStream consumes or publishes; where
the code publishes with aiokafka itself (the outbox relay), `producer_span` does.

Spans carry ids, topics and counts only, like the logs: never message content.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from importlib.metadata import entry_points

from faststream.kafka.opentelemetry import KafkaTelemetryMiddleware
from opentelemetry import context, propagate, trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.trace import ProxyTracerProvider, Span, SpanKind

__all__ = [
    "configure_tracing",
    "continued_trace",
    "current_trace_headers",
    "operation_span",
    "producer_span",
    "telemetry_middlewares",
    "tracing_requested",
]


def _tracer() -> trace.Tracer:
    # Looked up at each use, not at import: the provider installed now (or none) decides.
    return trace.get_tracer("iaj")


# OTEL_TRACES_EXPORTER names that are not entry points of their own: `otlp` means the
# protocol of OTEL_EXPORTER_OTLP_PROTOCOL, and only http/protobuf is installed.
_ALIASES = {"otlp": "otlp_proto_http"}


def tracing_requested(environ: Mapping[str, str] | None = None) -> bool:
    """Tracing is on when OTEL_TRACES_EXPORTER names an exporter (not `none`), or an OTLP
    endpoint is set, and OTEL_SDK_DISABLED is not `true`. Otherwise it is off: nothing is
    exported, and no exporter tries to reach a collector that is not there."""
    env = os.environ if environ is None else environ
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporters = env.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporters:
        return exporters != "none"
    return bool(
        env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )


def configure_tracing(default_service_name: str, environ: Mapping[str, str] | None = None) -> bool:
    """Install the OpenTelemetry SDK as the global tracer provider when the OTEL_* variables
    ask for tracing (see `tracing_requested`); returns whether tracing is on.

    The SDK reads the rest of its configuration from the environment itself: the exporters'
    endpoints, headers and timeouts (OTEL_EXPORTER_OTLP_*), the sampler (OTEL_TRACES_SAMPLER),
    the batch processor (OTEL_BSP_*), the resource (OTEL_SERVICE_NAME,
    OTEL_RESOURCE_ATTRIBUTES). `default_service_name` names the process when neither sets
    `service.name`.
    """
    env = os.environ if environ is None else environ
    if not tracing_requested(env):
        return False
    if not isinstance(trace.get_tracer_provider(), ProxyTracerProvider):
        return True  # already installed (a test, or an earlier call)
    resource = Resource.create()
    if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        resource = resource.merge(Resource({SERVICE_NAME: default_service_name}))
    provider = TracerProvider(resource=resource)
    for processor in _processors(env.get("OTEL_TRACES_EXPORTER", "otlp")):
        provider.add_span_processor(processor)
    trace.set_tracer_provider(provider)  # flushed and shut down at exit by the SDK
    return True


def _processors(names: str) -> list[SpanProcessor]:
    found = {ep.name: ep for ep in entry_points(group="opentelemetry_traces_exporter")}
    processors: list[SpanProcessor] = []
    for raw in names.split(","):
        name = _ALIASES.get(raw.strip().lower(), raw.strip().lower())
        if not name or name == "none":
            continue
        if name not in found:
            raise ValueError(
                f"OTEL_TRACES_EXPORTER: no exporter '{raw.strip()}' is installed "
                f"(installed: otlp, {', '.join(sorted(found))})"
            )
        exporter: SpanExporter = found[name].load()()
        processors.append(BatchSpanProcessor(exporter))
    return processors


def telemetry_middlewares() -> tuple[KafkaTelemetryMiddleware, ...]:
    """FastStream's tracing middleware when tracing is on (an SDK tracer provider is
    installed), else nothing: a KafkaBroker takes these as its `middlewares`."""
    provider = trace.get_tracer_provider()
    if isinstance(provider, ProxyTracerProvider):
        return ()
    return (KafkaTelemetryMiddleware(tracer_provider=provider),)


def producer_span(topic: str, headers: Mapping[str, str]) -> tuple[Span, dict[str, str]]:
    """A span for publishing one record with aiokafka, in the trace its stored `headers`
    carry (else the current one), and the headers to send: with this span's `traceparent`.
    The caller ends the span once the broker acknowledged the record."""
    parent = propagate.extract(dict(headers)) if "traceparent" in headers else None
    span = _tracer().start_span(
        f"{topic} publish",
        context=parent,
        kind=SpanKind.PRODUCER,
        attributes={
            "messaging.system": "kafka",
            "messaging.operation": "publish",
            "messaging.destination.name": topic,
            "messaging.message.id": headers.get("message_id", ""),
            "messaging.message.conversation_id": headers.get("correlation_id", ""),
        },
    )
    sent = dict(headers)
    propagate.inject(sent, context=trace.set_span_in_context(span, parent))
    return span, sent


@contextmanager
def operation_span(name: str) -> Iterator[Span]:
    """A span that starts a trace where an operator acts (`iaj round open`): what is written
    meanwhile (the outbox rows) carries it on."""
    with _tracer().start_as_current_span(name, kind=SpanKind.PRODUCER) as span:
        yield span


@contextmanager
def continued_trace(headers: Mapping[str, object]) -> Iterator[None]:
    """Within a consumer that is not traced itself (tracing off, so no middleware made a
    span): the consumed record's trace context as the current one, so what is published
    meanwhile passes its `traceparent` on unchanged and the round's trace stays whole. Inside
    a span already (tracing on), nothing changes."""
    if trace.get_current_span().get_span_context().is_valid or "traceparent" not in headers:
        yield
        return
    carrier = {k: v.decode() if isinstance(v, bytes) else str(v) for k, v in headers.items()}
    token = context.attach(propagate.extract(carrier))
    try:
        yield
    finally:
        context.detach(token)


def current_trace_headers() -> dict[str, str]:
    """The current trace context as W3C headers (`traceparent`), or nothing outside a trace."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier
