"""The service's units of work: retried while the database fails for reasons of its own, and
the halt when it stays unusable.

Separate from the composition root (`broker.service.municipal`) because every write of the
service goes through here — consumed messages, dead letters, the deadline watch, rounds opened
from the CLI — and this is where its central rule lives: a message is acknowledged only after
what it caused was kept, so nothing is skipped while the database is down.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from aiokafka import AIOKafkaProducer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tenacity import AsyncRetrying, retry_if_exception, stop_after_delay, wait_exponential

from broker.service.relay import OutboxRelay
from broker.settings import ServiceSettings
from handlers.db.faults import is_transient, log_retry
from handlers.db.uow import DirectMessage, UnitOfWork

__all__ = ["ServiceHalted", "TransactingService"]

# The service logs under one name, as it did when it was one module: filters and alerts on it
# keep matching.
log = logging.getLogger("broker.service.municipal")
T = TypeVar("T")


class ServiceHalted(RuntimeError):
    """The database stayed unusable: the service stops rather than skip a message."""


class TransactingService:
    """The part of `MunicipalService` that runs units of work and halts it.

    `MunicipalService.__init__` sets the attributes declared here.
    """

    settings: ServiceSettings
    sessions: async_sessionmaker[AsyncSession]
    relay: OutboxRelay | None
    producer: AIOKafkaProducer | None
    halted: bool
    on_halt: Callable[[], None] | None

    async def _transact(self, work: Callable[[UnitOfWork], Awaitable[T]]) -> T:
        """Run `work` in a unit of work, retried on a fresh connection with backoff while
        the database fails for reasons of its own (`handlers.db.faults.is_transient`).

        The message is acknowledged only after this returns. If the database stays unusable
        for `database_retry_seconds`, the service halts without acknowledging, so the
        message is delivered again after the restart.
        """
        if self.halted:
            raise ServiceHalted("the service is halting; message left for redelivery")
        try:
            async for attempt in AsyncRetrying(
                retry=retry_if_exception(is_transient),
                stop=stop_after_delay(self.settings.database_retry_seconds),
                wait=wait_exponential(multiplier=0.1, max=5),
                before_sleep=log_retry(log, "database", logging.WARNING),
                reraise=True,
            ):
                with attempt:
                    async with UnitOfWork(self.sessions, self._publish_direct) as uow:
                        result = await work(uow)
                        if uow.committed_outbox:
                            self._wake_relay()
                        return result
        except Exception as exc:
            if not is_transient(exc):
                raise
            self._halt(exc)
            raise ServiceHalted("database unusable; message left for redelivery") from exc
        raise AssertionError("unreachable")  # pragma: no cover

    async def _publish_direct(self, message: DirectMessage) -> None:
        """Send bytes the database may not hold (a dead letter's), acknowledged by Kafka."""
        if self.producer is None:
            raise RuntimeError("the service's producer is not running")
        await self.producer.send_and_wait(
            message.topic,
            value=message.value,
            key=message.key or None,
            headers=[(k, v.encode()) for k, v in message.headers.items()],
        )

    def _halt(self, exc: BaseException) -> None:
        # The class name only: a driver's message may quote the statement's parameters.
        log.critical("halting without acknowledging: %s", type(exc).__name__)
        self.halted = True
        if self.on_halt is not None:
            self.on_halt()

    def _wake_relay(self) -> None:
        if self.relay is not None:
            self.relay.wake()
