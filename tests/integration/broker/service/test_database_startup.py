"""`iaj serve` started before its database: it waits, says why, and starts when it can."""

from __future__ import annotations

import asyncio

import pytest

from broker.service.municipal import MunicipalService
from broker.settings import ServiceSettings
from devtools.embedded_kafka import free_port
from devtools.local_postgres import LocalPostgres
from handlers.db.faults import is_transient
from tests.support.signing import partner_keys_dir

pytestmark = pytest.mark.integration


def _settings(clean_kafka: str, port: int, **overrides: float) -> ServiceSettings:
    settings = ServiceSettings(
        partner_keys_dir=partner_keys_dir(),
        kafka_bootstrap=clean_kafka,
        database_url=f"postgresql+asyncpg://postgres@127.0.0.1:{port}/postgres",
    )
    return settings.model_copy(update=overrides)


async def test_the_service_waits_for_a_database_that_comes_up_later(clean_kafka: str) -> None:
    port = free_port()
    service = MunicipalService(_settings(clean_kafka, port))
    starting = asyncio.create_task(service.start())
    server = LocalPostgres(port=port)
    try:
        async with asyncio.timeout(60):
            while not service.readiness.startswith("waiting for the database"):  # noqa: ASYNC110
                await asyncio.sleep(0.05)
        assert not starting.done(), "it waits instead of exiting"
        await asyncio.to_thread(server.start)
        await asyncio.wait_for(starting, 60)
        assert service.readiness == "ready"
    finally:
        if starting.done() and not starting.exception():
            await service.stop()
        else:
            starting.cancel()
            await service.engine.dispose()
        await asyncio.to_thread(server.stop)


async def test_the_wait_has_a_limit(clean_kafka: str) -> None:
    service = MunicipalService(_settings(clean_kafka, free_port(), database_startup_seconds=1.0))
    try:
        with pytest.raises(Exception) as raised:  # noqa: PT011 - which one is the driver's
            await asyncio.wait_for(service.start(), 30)
    finally:
        await service.engine.dispose()
    assert is_transient(raised.value), "a database that is not there, not a bug"
    assert service.readiness.startswith("waiting for the database")
