"""The operations endpoints (kafka_access.ops) as an ASGI application, without a network."""

from __future__ import annotations

import json
from collections.abc import MutableMapping
from typing import Any

from faststream.asgi import AsgiFastStream
from faststream.kafka import KafkaBroker
from prometheus_client import CollectorRegistry, Counter

from kafka_access.ops import LIVE_PATH, METRICS_PATH, OK, READY_PATH, Readiness, ops_routes


async def get(app: AsgiFastStream, path: str) -> tuple[int, dict[str, str], bytes]:
    scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "query_string": b"",
        "headers": [],
    }
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    start, body = sent[0], sent[1]
    headers = {k.decode().lower(): v.decode() for k, v in start["headers"]}
    return start["status"], headers, body["body"]


def app_with(checks: dict[str, str], registry: CollectorRegistry) -> AsgiFastStream:
    async def readiness() -> Readiness:
        return Readiness(checks)

    return AsgiFastStream(KafkaBroker(), asgi_routes=ops_routes(readiness, registry))


async def test_live_answers_while_the_process_runs() -> None:
    status, _, body = await get(app_with({"database": "down"}, CollectorRegistry()), LIVE_PATH)
    assert status == 200
    assert json.loads(body) == {"status": "live"}


async def test_ready_is_200_when_every_check_is_ok() -> None:
    app = app_with({"database": OK, "kafka": OK}, CollectorRegistry())
    status, headers, body = await get(app, READY_PATH)
    assert status == 200
    assert headers["content-type"] == "application/json"
    assert json.loads(body) == {
        "status": "ready",
        "checks": {"database": OK, "kafka": OK},
        "reasons": [],
    }


async def test_ready_is_503_with_the_reasons_otherwise() -> None:
    app = app_with({"database": "unreachable (OSError)", "kafka": OK}, CollectorRegistry())
    status, _, body = await get(app, READY_PATH)
    assert status == 503
    answer = json.loads(body)
    assert answer["status"] == "not ready"
    assert answer["reasons"] == ["database: unreachable (OSError)"]


async def test_metrics_are_the_registrys_in_prometheus_text_format() -> None:
    registry = CollectorRegistry()
    Counter("iaj_example_total", "an example", registry=registry).inc(3)
    status, headers, body = await get(app_with({}, registry), METRICS_PATH)
    assert status == 200
    assert headers["content-type"].startswith("text/plain")
    assert "iaj_example_total 3.0" in body.decode()


async def test_other_paths_are_not_found() -> None:
    status, _, _ = await get(app_with({}, CollectorRegistry()), "/health")
    assert status == 404
