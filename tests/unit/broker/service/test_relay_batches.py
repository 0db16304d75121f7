"""The outbox relay with a stand-in producer and a real SQLite database: a batch is handed to
the producer whole, its acks awaited together, and the acknowledged rows marked sent in one
statement; a row whose send failed stays unsent and goes out with the next pass."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any, cast

import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import event, select

from broker.service.relay import OutboxRelay
from handlers.db.engine import make_engine, make_session_factory
from handlers.db.migrate import upgrade
from handlers.db.tables import OutboxRow
from handlers.db.uow import UnitOfWork
from handlers.outbox import enqueue_raw
from tests.unit.handlers.builders import Sessions


class Producer:
    """Queues each record at once (a pending future, like aiokafka's `send`); acknowledges
    all of them when the relay waits, failing those whose value is in `fail`."""

    def __init__(self, fail: set[bytes] | None = None) -> None:
        self.fail = fail or set()
        self.sent: list[bytes] = []

    async def send(
        self, topic: str, *, value: bytes, key: Any, headers: Any
    ) -> asyncio.Future[Any]:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

        def ack() -> None:
            if value in self.fail:
                future.set_exception(ConnectionError("broker away"))
            else:
                self.sent.append(value)
                future.set_result(None)

        asyncio.get_running_loop().call_soon(ack)  # acknowledged later, not on queueing
        return future


@pytest.fixture
async def sessions() -> AsyncIterator[Sessions]:
    engine = make_engine("sqlite+aiosqlite:///:memory:")
    await upgrade(engine)
    yield make_session_factory(engine)
    await engine.dispose()


async def _write(sessions: Sessions, *payloads: bytes) -> None:
    async with UnitOfWork(sessions) as uow:
        for i, payload in enumerate(payloads):
            enqueue_raw(
                uow.session,
                "iaj.results",
                payload,
                message_id=f"m-{payload.decode()}-{i}",
                key=b"k",
                headers={},
            )
        await uow.commit()


async def _unsent(sessions: Sessions) -> list[bytes]:
    async with sessions() as session:
        rows = await session.scalars(select(OutboxRow).where(OutboxRow.sent_at.is_(None)))
        return [row.payload for row in rows]


async def test_a_batch_is_sent_whole_and_marked_sent_in_one_statement(sessions: Sessions) -> None:
    await _write(sessions, b"a", b"b", b"c")
    producer = Producer()
    relay = OutboxRelay(
        sessions, cast("AIOKafkaProducer", producer), batch_size=10, interval_seconds=1
    )
    engine = sessions.kw["bind"]
    statements: list[str] = []

    def on_execute(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement.split()[0])

    event.listen(engine.sync_engine, "before_cursor_execute", on_execute)
    try:
        assert await relay.publish_pending() == 3
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", on_execute)
    assert producer.sent == [b"a", b"b", b"c"]
    assert statements == ["SELECT", "UPDATE"]
    assert await _unsent(sessions) == []


async def test_a_failed_send_stays_unsent_and_the_acknowledged_ones_are_marked(
    sessions: Sessions,
) -> None:
    await _write(sessions, b"a", b"b", b"c")
    producer = Producer(fail={b"b"})
    relay = OutboxRelay(
        sessions, cast("AIOKafkaProducer", producer), batch_size=10, interval_seconds=1
    )
    with pytest.raises(ConnectionError):
        await relay.publish_pending()  # the run loop retries it with backoff
    assert producer.sent == [b"a", b"c"]
    assert await _unsent(sessions) == [b"b"]
    producer.fail.clear()
    assert await relay.publish_pending() == 1
    assert producer.sent == [b"a", b"c", b"b"]
    assert await _unsent(sessions) == []
