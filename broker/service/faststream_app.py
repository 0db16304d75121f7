"""The FastStream application behind `iaj serve`: the service run until SIGINT/SIGTERM.

Separate from `broker.service.municipal` because only `iaj serve` runs the service this way;
the tests, the demo and the benchmark start and stop `MunicipalService` themselves.
"""

from __future__ import annotations

import asyncio
import logging

from faststream import FastStream

from broker.service.municipal import MunicipalService
from broker.settings import ServiceSettings

__all__ = ["build_app", "run_service"]

# The service logs under one name, as it did when it was one module: filters and alerts on it
# keep matching.
log = logging.getLogger("broker.service.municipal")


def run_service(settings: ServiceSettings) -> bool:
    """Run until SIGINT/SIGTERM. Returns False when the service halted because the database
    stayed unreachable, so `iaj serve` can exit non-zero and its supervisor restart it."""
    app, service = build_app(settings)
    asyncio.run(app.run())
    return not service.halted


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
