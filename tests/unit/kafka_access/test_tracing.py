"""Tracing is off unless the standard OTEL_* variables ask for it; untraced, a consumed
`traceparent` is passed on unchanged."""

from __future__ import annotations

import pytest
from opentelemetry import trace
from opentelemetry.trace import ProxyTracerProvider

from kafka_access.tracing import (
    configure_tracing,
    producer_span,
    telemetry_middlewares,
    tracing_requested,
)

PARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


@pytest.mark.parametrize(
    ("environ", "on"),
    [
        ({}, False),
        ({"OTEL_SERVICE_NAME": "iaj-service"}, False),
        ({"OTEL_TRACES_EXPORTER": "otlp"}, True),
        ({"OTEL_TRACES_EXPORTER": "console"}, True),
        ({"OTEL_TRACES_EXPORTER": "none"}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, True),
        ({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_SDK_DISABLED": "true"}, False),
    ],
)
def test_tracing_is_on_only_when_the_otel_variables_ask(environ: dict[str, str], on: bool) -> None:
    assert tracing_requested(environ) is on


def test_off_by_default_installs_nothing() -> None:
    assert configure_tracing("iaj-service", environ={}) is False
    assert isinstance(trace.get_tracer_provider(), ProxyTracerProvider)
    assert telemetry_middlewares() == ()


def test_an_unknown_exporter_is_named_in_the_error() -> None:
    with pytest.raises(ValueError, match="zipkin"):
        configure_tracing("iaj-service", environ={"OTEL_TRACES_EXPORTER": "zipkin"})
    assert isinstance(trace.get_tracer_provider(), ProxyTracerProvider)


def test_untraced_the_relay_passes_the_stored_traceparent_on() -> None:
    span, headers = producer_span("iaj.questions.swt", {"traceparent": PARENT, "x": "1"})
    span.end()
    assert headers == {"traceparent": PARENT, "x": "1"}
    _, none = producer_span("iaj.results", {"correlation_id": "c"})
    assert none == {"correlation_id": "c"}
