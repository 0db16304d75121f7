"""What /health/ready of `iaj serve` says before the service started, and when its relay is
stuck (broker.service.health); with a real SQLite database and no Kafka."""

from __future__ import annotations

import time
from pathlib import Path
from typing import cast

from aiokafka import AIOKafkaProducer

from broker.service.health import service_readiness
from broker.service.municipal import MunicipalService
from broker.service.relay import OutboxRelay
from broker.settings import ServiceSettings


def service(tmp_path: Path) -> MunicipalService:
    return MunicipalService(
        ServiceSettings(
            _env_file=None,
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'iaj.db'}",
            relay_stuck_seconds=30,
        )
    )


async def test_before_start_up_it_is_not_ready_and_says_why(tmp_path: Path) -> None:
    svc = service(tmp_path)
    try:
        state = await service_readiness(svc, limit_seconds=1)
    finally:
        await svc.engine.dispose()
    assert not state.ready
    assert state.checks == {
        "service": "starting",
        "database": "ok",
        "kafka": "not connected yet",
        "outbox_relay": "not started",
    }
    assert state.as_json()["status"] == "not ready"


async def test_a_halted_service_says_so(tmp_path: Path) -> None:
    svc = service(tmp_path)
    svc.halted = True
    try:
        state = await service_readiness(svc, limit_seconds=1)
    finally:
        await svc.engine.dispose()
    assert state.checks["service"].startswith("halted")


async def test_a_relay_without_a_successful_pass_for_too_long_is_stuck(tmp_path: Path) -> None:
    svc = service(tmp_path)
    producer = cast("AIOKafkaProducer", None)  # never used: nothing to send
    relay = OutboxRelay(svc.sessions, producer, batch_size=1, interval_seconds=1)
    svc.relay = relay
    try:
        assert (await service_readiness(svc, limit_seconds=1)).checks["outbox_relay"] == "ok"
        relay.last_success = time.monotonic() - 31
        stuck = (await service_readiness(svc, limit_seconds=1)).checks["outbox_relay"]
    finally:
        await svc.engine.dispose()
    assert stuck.startswith("no successful pass for 31 s (limit 30 s)")


async def test_an_unreachable_database_is_not_ready(tmp_path: Path) -> None:
    svc = MunicipalService(
        ServiceSettings(
            _env_file=None,
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'no-such-folder' / 'iaj.db'}",
        )
    )
    try:
        state = await service_readiness(svc, limit_seconds=1)
    finally:
        await svc.engine.dispose()
    assert state.checks["database"].startswith("unreachable ("), state.checks
