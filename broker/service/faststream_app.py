"""The FastStream application behind `iaj serve`: the service run until SIGINT/SIGTERM.

Separate from `broker.service.municipal` because only `iaj serve` runs the service this way;
the tests, the demo and the benchmark start and stop `MunicipalService` themselves.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from faststream import FastStream
from faststream.asgi import AsgiFastStream
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from prometheus_client import REGISTRY

from broker.service.health import service_readiness
from broker.service.municipal import MunicipalService
from broker.settings import ServiceSettings
from kafka_access.ops import OpsServer, ops_routes, ops_server

__all__ = ["OpsApp", "build_app", "build_ops_app", "run_service"]

# The service logs under one name, as it did when it was one module: filters and alerts on it
# keep matching.
log = logging.getLogger("broker.service.municipal")


def run_service(settings: ServiceSettings) -> bool:
    """Run until SIGINT/SIGTERM. Returns False when the service halted because the database
    stayed unreachable, so `iaj serve` can exit non-zero and its supervisor restart it."""
    if settings.ops_port == 0:
        app, service = build_app(settings)
        asyncio.run(app.run())
        return not service.halted
    ops = build_ops_app(settings)
    asyncio.run(ops.serve())
    return not ops.service.halted


def build_app(settings: ServiceSettings) -> tuple[FastStream, MunicipalService]:
    """The FastStream application behind `iaj serve` (handles SIGINT/SIGTERM gracefully)."""
    service = MunicipalService(settings)
    app = FastStream(service.broker, logger=log)
    service.on_halt = app.exit

    # FastStream starts the broker itself; our start() would start it twice.
    async def startup() -> None:
        broker_start = service.broker.start
        service.broker.start = _noop  # type: ignore[method-assign]
        try:
            await service.start()
        finally:
            service.broker.start = broker_start  # type: ignore[method-assign]

    async def shutdown() -> None:
        await service.stop()

    app.on_startup(startup)
    app.after_shutdown(shutdown)
    return app, service


async def _noop() -> None:
    return None


class _ServiceStartsItsBroker(AsgiFastStream):
    """FastStream's ASGI application, except that it leaves starting the broker to the
    service: `MunicipalService.start` starts it once the database is there, in the
    background, so /health/live and /health/ready answer while the service waits for it."""

    async def _start_broker(self) -> None:
        return None


class OpsApp:
    """`iaj serve` with its operations endpoints (IAJ_OPS_PORT): the service, run by the
    lifespan of FastStream's ASGI application, which uvicorn serves with /metrics,
    /health/live and /health/ready (kafka_access.ops, broker.service.health)."""

    def __init__(self, settings: ServiceSettings) -> None:
        self.service = service = MunicipalService(settings)
        # Per-message consume and publish metrics (faststream_*) beside the service's own.
        service.broker.add_middleware(
            KafkaPrometheusMiddleware(registry=REGISTRY, app_name="iaj-municipal")
        )
        self.asgi = _ServiceStartsItsBroker(
            service.broker,
            asgi_routes=ops_routes(lambda: service_readiness(service), REGISTRY),
            logger=log,
        )
        self.server: OpsServer = ops_server(self.asgi, settings.ops_host, settings.ops_port)
        self.startup_error: BaseException | None = None
        self._starting: asyncio.Task[None] | None = None
        service.on_halt = self._exit
        self.asgi.on_startup(self._start_in_background)
        self.asgi.after_shutdown(self._stop)

    async def serve(self) -> None:
        """Until SIGINT/SIGTERM or a halt; raises what made start-up fail (as `build_app`'s
        application does), after the server stopped."""
        await self.server.serve()
        if self.startup_error is not None:
            raise self.startup_error

    def _exit(self) -> None:
        self.server.should_exit = True

    async def _start_in_background(self) -> None:
        async def start() -> None:
            try:
                await self.service.start()
            except asyncio.CancelledError:
                raise
            except BaseException as exc:
                log.critical("start-up failed: %s", type(exc).__name__)
                self.startup_error = exc
                self._exit()

        self._starting = asyncio.create_task(start(), name="service-start-up")

    async def _stop(self) -> None:
        if self._starting is not None and not self._starting.done():
            self._starting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._starting
        await self.service.stop()


def build_ops_app(settings: ServiceSettings) -> OpsApp:
    """The service behind `iaj serve` with /metrics and /health/* on IAJ_OPS_PORT."""
    return OpsApp(settings)
