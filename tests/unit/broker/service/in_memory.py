"""The municipal service with its consumer connected in memory: a fresh migrated SQLite file,
a stand-in producer for the relay, and log positions for hand-made records. Shared by the
consumer and structured-log tests of this package."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiokafka import ConsumerRecord
from faststream.kafka import TestKafkaBroker

from broker.service.municipal import MunicipalService
from broker.settings import ServiceSettings
from handlers.cases import NewCase
from handlers.db.migrate import upgrade
from tests.support.clock import today
from tests.support.signing import partner_keys_dir
from tests.unit.handlers.builders import POLICY, new_case

__all__ = ["Log", "Producer", "consume", "service", "youth"]


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[MunicipalService]:
    settings = ServiceSettings(
        partner_keys_dir=partner_keys_dir(),
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'iaj.db'}",
        kafka_bootstrap="127.0.0.1:1",  # never dialled: the test broker replaces the consumer
        create_topics=False,
        database_retry_seconds=1.0,
    )
    svc = MunicipalService(settings, POLICY)
    svc.producer = Producer()  # duck-typed: send and send_and_wait only
    await upgrade(svc.engine)
    try:
        async with TestKafkaBroker(svc.broker):
            yield svc
    finally:
        await svc.engine.dispose()


class Producer:
    """Stands in for the relay's AIOKafkaProducer: takes every record at once."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, dict[str, bytes]]] = []

    async def send_and_wait(self, topic: str, value: bytes, **_: Any) -> None:
        self.sent.append((topic, value, {}))

    async def send(
        self, topic: str, value: bytes, key: bytes | None, headers: list[tuple[str, bytes]]
    ) -> asyncio.Future[None]:
        self.sent.append((topic, value, dict(headers)))
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


class Log:
    def __init__(self) -> None:
        self._next: dict[str, int] = {}

    def record(
        self, topic: str, value: bytes, key: bytes = b"", headers: dict[str, str] | None = None
    ) -> Any:
        offset = self._next.get(topic, 0)
        self._next[topic] = offset + 1
        return ConsumerRecord(
            topic=topic,
            partition=0,
            offset=offset,
            timestamp=0,
            timestamp_type=0,
            key=key,
            value=value,
            checksum=None,
            serialized_key_size=len(key),
            serialized_value_size=len(value),
            headers=[(k, v.encode()) for k, v in (headers or {}).items()],
        )


async def consume(service: MunicipalService, records: list[Any]) -> None:
    (subscriber,) = service.broker.subscribers
    await subscriber.process_message(tuple(records))
    assert not service.halted


def youth() -> NewCase:
    return new_case(
        born=today().replace(year=today().year - 17) - dt.timedelta(days=40),
        informed_on=today() - dt.timedelta(days=7),
    )
