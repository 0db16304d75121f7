"""The outbox relay: publishes what transactions decided, marks it sent after the broker acks.

At-least-once: if the process dies between the broker's acknowledgement and marking the rows
sent, the rows are published again on restart, with the same message id, so consumers can
recognise the repeat.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import Any, cast

from aiokafka import AIOKafkaProducer
from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    wait_exponential,
)

from broker.service.metrics import RELAY_PUBLISH_SECONDS, count_published
from contracts.messages import utc_now
from handlers.db.faults import log_retry
from handlers.db.in_lists import padded
from handlers.db.tables import OutboxRow
from kafka_access.tracing import producer_span

__all__ = ["OutboxRelay"]

log = logging.getLogger(__name__)

# Built once, with Core (no ORM bookkeeping): a pass runs every few hundred milliseconds.
_OUTBOX = cast(Table, OutboxRow.__table__)
_UNSENT = (
    select(
        _OUTBOX.c.id,
        _OUTBOX.c.message_id,
        _OUTBOX.c.topic,
        _OUTBOX.c.key,
        _OUTBOX.c.payload,
        _OUTBOX.c.headers,
    )
    .where(_OUTBOX.c.sent_at.is_(None))
    .order_by(_OUTBOX.c.id)
    .limit(bindparam("limit"))
)
# Several service instances may relay side by side without sending a row twice.
_UNSENT_LOCKED = _UNSENT.with_for_update(skip_locked=True)
_MARK_SENT = (
    update(_OUTBOX)
    .where(_OUTBOX.c.id.in_(bindparam("ids", expanding=True)))
    .values(sent_at=bindparam("sent_at"), payload=b"")
)


class OutboxRelay:
    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        producer: AIOKafkaProducer,
        *,
        batch_size: int,
        interval_seconds: float,
    ) -> None:
        self._sessions = session_factory
        self._producer = producer
        self._batch_size = batch_size
        self._interval = interval_seconds
        self._wake = asyncio.Event()
        # When a pass last succeeded (time.monotonic()), whether or not it had anything to
        # send: readiness says the relay is stuck when this grows old (broker.service.health).
        self.last_success = time.monotonic()

    def wake(self) -> None:
        """Something was written to the outbox: publish now instead of at the next tick."""
        self._wake.set()

    async def publish_pending(self) -> int:
        """One pass: publish up to one batch of unsent rows. Returns how many were sent."""
        async with self._sessions() as session:
            postgresql = session.get_bind().dialect.name == "postgresql"
            query = _UNSENT_LOCKED if postgresql else _UNSENT
            rows = (await session.execute(query, {"limit": self._batch_size})).all()
            if not rows:
                self.last_success = time.monotonic()
                return 0
            started = time.perf_counter()
            # Each in the trace its row was written in (its stored `traceparent`).
            spans = [producer_span(row.topic, row.headers) for row in rows]
            try:
                acked, failure = await self._send_all(rows, [h for _, h in spans])
            finally:
                for span, _ in spans:
                    span.end()
            RELAY_PUBLISH_SECONDS.observe(time.perf_counter() - started)
            if acked:
                # One statement for the batch, and only for what the broker acknowledged: a
                # row whose send failed stays unsent and is published again by the next pass.
                # Kafka holds the message now; question sets carry names, so we keep no copy.
                await session.execute(
                    _MARK_SENT, {"ids": padded([row.id for row in acked]), "sent_at": utc_now()}
                )
                await session.commit()
        _log_published(acked)
        for row in acked:
            count_published(row.topic, row.headers.get("message_type", ""))
        if failure is not None:
            raise failure  # the run loop retries with backoff
        self.last_success = time.monotonic()
        return len(rows)

    async def _send_all(
        self, rows: Sequence[Any], headers: Sequence[dict[str, str]]
    ) -> tuple[list[Any], BaseException | None]:
        """Hand the whole batch to the producer, then wait for the broker's acks together
        (`send` returns once the record is queued; its future resolves on the ack).

        Returns the rows acknowledged, in order, and the first failure, if any."""
        futures: list[asyncio.Future[Any]] = []
        failure: BaseException | None = None
        for row, row_headers in zip(rows, headers, strict=True):
            try:
                futures.append(
                    await self._producer.send(
                        row.topic,
                        value=row.payload,
                        key=row.key or None,
                        headers=[(k, v.encode()) for k, v in row_headers.items()],
                    )
                )
            except Exception as exc:  # not queued (e.g. too large): it and the rest wait
                failure = exc
                break
        outcomes = await asyncio.gather(*futures, return_exceptions=True)
        acked = []
        for row, outcome in zip(rows, outcomes, strict=False):
            if isinstance(outcome, BaseException):
                failure = failure or outcome
            else:
                acked.append(row)
        return acked, failure

    async def run(self, stop: asyncio.Event) -> None:
        """Relay until `stop` is set; then one last pass so nothing decided is left waiting."""
        # Any failure of a pass (broker away, database busy) is retried with backoff: the rows
        # stay unsent until a pass succeeds, so nothing is lost, and the relay never dies.
        retrying = AsyncRetrying(
            retry=retry_if_exception_type(Exception),
            # At most 5 s apart: a broker back after a restart is used within seconds.
            wait=wait_exponential(multiplier=0.2, max=5),
            before_sleep=log_retry(log, "outbox relay"),
            reraise=True,
        )
        while not stop.is_set():
            self._wake.clear()  # a wake-up during the pass below triggers the next pass
            sent: int = await retrying(self.publish_pending)
            if sent < self._batch_size:
                await self._sleep(stop)
        await retrying(self._drain)

    async def _drain(self) -> None:
        while await self.publish_pending() == self._batch_size:
            pass

    async def _sleep(self, stop: asyncio.Event) -> None:
        waiters = [asyncio.ensure_future(e.wait()) for e in (self._wake, stop)]
        try:
            await asyncio.wait(waiters, timeout=self._interval, return_when="FIRST_COMPLETED")
        finally:
            for w in waiters:
                w.cancel()


def _log_published(rows: Sequence[Any]) -> None:
    """One line per message published: question sets, results, notices (ids, never content)."""
    for row in rows:
        partner = row.headers.get("partner") or _partner_of(row.topic)
        key = row.key.decode("utf-8", "replace") if row.key else None
        log.info(
            "published %s %s to %s",
            row.headers.get("message_type") or "message",
            row.message_id,
            row.topic,
            extra={
                "event": "published",
                "topic": row.topic,
                "message_type": row.headers.get("message_type"),
                "message_id": row.message_id,
                "partner": partner,
                # Messages of a round are keyed by its id (contracts.topics.message_key).
                "round_id": key,
                "correlation_id": row.headers.get("correlation_id"),
            },
        )


def _partner_of(topic: str) -> str | None:
    prefix, _, last = topic.rpartition(".")
    return last if prefix in {"iaj.questions", "iaj.refusals", "iaj.answers"} else None
