"""The operations endpoints of both processes: `GET /metrics` (Prometheus text format),
`GET /health/live` and `GET /health/ready`, served by FastStream's ASGI application on uvicorn.

Shared by `iaj serve` (broker.service.faststream_app) and `iaj-adapter run`
(partner_adapters.runtime); what "ready" means is each side's own (a `ReadinessCheck`).
The endpoints carry counts, ages and reasons only: never a name, an id of a person or content.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from faststream.asgi import AsgiFastStream, AsgiResponse, get
from faststream.asgi.response import JSONResponse
from faststream.asgi.types import ASGIApp
from faststream.kafka import KafkaBroker
from prometheus_client import REGISTRY, CollectorRegistry, make_asgi_app

__all__ = [
    "LIVE_PATH",
    "METRICS_PATH",
    "READY_PATH",
    "OpsServer",
    "Readiness",
    "ReadinessCheck",
    "consumer_check",
    "consumer_lag",
    "kafka_check",
    "ops_routes",
    "ops_server",
]

METRICS_PATH = "/metrics"
LIVE_PATH = "/health/live"
READY_PATH = "/health/ready"

OK = "ok"


@dataclass(frozen=True)
class Readiness:
    """Each check by name: "ok", or why not, in an operator's words."""

    checks: Mapping[str, str] = field(default_factory=dict)

    @property
    def ready(self) -> bool:
        return all(value == OK for value in self.checks.values())

    def as_json(self) -> dict[str, Any]:
        return {
            "status": "ready" if self.ready else "not ready",
            "checks": dict(self.checks),
            "reasons": [f"{name}: {why}" for name, why in self.checks.items() if why != OK],
        }


ReadinessCheck = Callable[[], Awaitable[Readiness]]


def ops_routes(
    readiness: ReadinessCheck, registry: CollectorRegistry = REGISTRY
) -> list[tuple[str, ASGIApp]]:
    """The three routes, for `AsgiFastStream(asgi_routes=...)`."""

    @get(include_in_schema=False)
    async def live(scope: Any) -> AsgiResponse:
        """200 while the process runs and its event loop answers."""
        return JSONResponse({"status": "live"})

    @get(include_in_schema=False)
    async def ready(scope: Any) -> AsgiResponse:
        """200 when the process can do its work; 503 with the reasons otherwise."""
        state = await readiness()
        return JSONResponse(state.as_json(), status_code=200 if state.ready else 503)

    return [(METRICS_PATH, make_asgi_app(registry)), (LIVE_PATH, live), (READY_PATH, ready)]


class OpsServer(uvicorn.Server):
    """uvicorn, except for SIGINT/SIGTERM: they stop the server (and with it the application's
    lifespan, which stops the service gracefully), and are not raised again afterwards, so
    the process exits with its own code, as it did before it served HTTP."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        loop = asyncio.get_running_loop()
        handled = (signal.SIGINT, signal.SIGTERM)
        for sig in handled:
            loop.add_signal_handler(sig, self.handle_exit, sig, None)
        try:
            yield
        finally:
            for sig in handled:
                loop.remove_signal_handler(sig)


def ops_server(app: AsgiFastStream, host: str, port: int) -> OpsServer:
    """uvicorn serving `app` (its lifespan runs the application), logging through our own
    logging configuration (no access log: a scrape every 15 s is not news)."""
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        lifespan="on",
        server_header=False,
    )
    return OpsServer(config)


async def kafka_check(broker: KafkaBroker, limit_seconds: float) -> str:
    """Does a Kafka broker answer (FastStream's ping: describe the cluster) within `limit_seconds`,
    and has the broker's consumer joined its group and been assigned partitions?"""
    try:
        reached = await broker.ping(limit_seconds)
    except Exception as exc:
        return f"unreachable ({type(exc).__name__})"
    if not reached:
        return f"no broker answered within {limit_seconds:g} s"
    return consumer_check(broker)


def consumer_check(broker: KafkaBroker) -> str:
    """Says "ok" once every consumer of `broker` has been assigned partitions."""
    consumers = [getattr(s, "consumer", None) for s in broker.subscribers]
    if not consumers or any(c is None for c in consumers):
        return "consumer not started"
    if any(not c.assignment() for c in consumers if c is not None):
        return "consumer not assigned any partition yet (joining its group)"
    return OK


async def consumer_lag(broker: KafkaBroker, limit_seconds: float = 1.0) -> dict[str, int]:
    """Per topic: messages this process's consumers have not consumed yet, over the
    partitions assigned to them (the last known high watermark minus the position). Cheap:
    both come from the consumer itself, no request to the cluster. A partition whose high
    watermark is not known yet (nothing fetched) is left out."""
    lag: dict[str, int] = {}
    for subscriber in broker.subscribers:
        consumer = getattr(subscriber, "consumer", None)
        if consumer is None:
            continue
        for partition in consumer.assignment():
            high = consumer.highwater(partition)
            if high is None:
                continue
            try:
                async with asyncio.timeout(limit_seconds):
                    position = await consumer.position(partition)
            except Exception:  # not known now (rebalancing): left out this time
                continue
            lag[partition.topic] = lag.get(partition.topic, 0) + max(int(high) - int(position), 0)
    return lag
