"""The service's one Kafka consumer: answers and commands, in batches, acknowledged only once
kept; what cannot be processed is dead-lettered so it never stalls the consumer.

Separate from the composition root (`broker.service.municipal`): this is how messages are
taken from Kafka and what happens when processing fails, not what they cause. The use cases
themselves (`_on_answers`, `_on_command`) stay on `MunicipalService`.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractContextManager

from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaMessage, Topic

from broker.service.transactions import ServiceHalted, TransactingService
from contracts.enums import Partner
from contracts.messages import utc_now
from contracts.topics import COMMANDS as COMMANDS_TOPIC
from contracts.topics import answer_topic
from handlers.db.uow import UnitOfWork
from handlers.dead_letters import Delivery, dead_letter_failure
from handlers.tracing import consumed

__all__ = ["ConsumingService", "command_trace"]

# The service logs under one name, as it did when it was one module: filters and alerts on it
# keep matching.
log = logging.getLogger("broker.service.municipal")

# How long an idle answer consumer waits for a batch to fill: the latency added to a lone answer.
_BATCH_WAIT_MS = 20


async def _raw_bodies(msg: KafkaMessage) -> list[bytes]:
    # Our handlers parse the bytes themselves: a poison message must reach them, not fail
    # in a decoder before any handler can dead-letter it.
    return [bytes(body) for body in msg.body]


class ConsumingService(TransactingService, ABC):
    """The part of `MunicipalService` that consumes; `MunicipalService.__init__` sets the
    broker (and what `TransactingService` declares) and then calls `_subscribe`."""

    broker: KafkaBroker

    @abstractmethod
    async def _on_answers(
        self, uow: UnitOfWork, messages: list[tuple[bytes, Delivery]]
    ) -> None: ...

    @abstractmethod
    async def _on_command(self, uow: UnitOfWork, body: bytes, delivery: Delivery) -> None: ...

    @abstractmethod
    async def _on_commands(
        self, uow: UnitOfWork, messages: list[tuple[bytes, Delivery]]
    ) -> None: ...

    def _subscribe(self) -> None:
        # declare=False: topics are created by `create_topics` with the configured partitions
        # and replication, never by FastStream's defaults (one partition, one replica).
        topics = [Topic(t, declare=False) for t in [*map(answer_topic, Partner), COMMANDS_TOPIC]]

        # One consumer for answers and commands: a single group member per instance, so a
        # restart or a new instance costs one rebalance, not two. Messages come in batches:
        # one transaction (one commit) per batch of answers is what lets the service keep up
        # with 14 partners at once; so is one per batch of commands.
        @self.broker.subscriber(
            *topics,
            group_id=self.settings.consumer_group,
            ack_policy=AckPolicy.MANUAL,
            auto_offset_reset="earliest",
            decoder=_raw_bodies,
            session_timeout_ms=self.settings.consumer_session_timeout_ms,
            fetch_max_wait_ms=self.settings.consumer_fetch_max_wait_ms,
            heartbeat_interval_ms=self.settings.consumer_heartbeat_interval_ms,
            batch=True,
            max_records=self.settings.answer_batch_size,
            batch_timeout_ms=_BATCH_WAIT_MS,
        )
        async def on_messages(bodies: list[bytes], msg: KafkaMessage) -> None:
            # Acknowledging commits the consumer's position on every partition: after any
            # failure this batch must not be acknowledged, and neither may any batch after
            # it (that ack would commit past this one). So every failure that reaches here
            # halts the service; the batch is delivered again after the restart.
            try:
                await self._consume(list(zip(bodies, _deliveries(msg), strict=True)))
            except ServiceHalted:
                raise
            except Exception as exc:
                self._halt(exc)
                raise ServiceHalted("unexpected failure; batch left for redelivery") from exc
            await msg.ack()

    async def _consume(self, messages: list[tuple[bytes, Delivery]]) -> None:
        answers = [m for m in messages if m[1].topic != COMMANDS_TOPIC]
        if answers:
            await self._consume_answers(answers)
        commands = [m for m in messages if m[1].topic == COMMANDS_TOPIC]
        if commands:
            await self._consume_commands(commands)

    async def _consume_commands(self, messages: list[tuple[bytes, Delivery]]) -> None:
        """Carry out a batch of commands in one transaction (a rejected one is undone alone
        and dead-lettered). If the batch fails for a reason that is not the database's,
        nothing of it was kept: its commands are processed again one by one."""
        try:
            await self._transact(lambda uow: self._on_commands(uow, messages))
        except ServiceHalted:
            raise  # not acknowledged: delivered again after restart
        except Exception:
            log.warning(
                "a batch of %d command(s) failed; processing them one by one",
                len(messages),
                exc_info=True,
            )
            for body, delivery in messages:
                with command_trace(delivery):
                    await self._consume_one(body, delivery, self._on_command)

    async def _consume_answers(self, messages: list[tuple[bytes, Delivery]]) -> None:
        """Process a batch in one transaction. If the batch fails for a reason that is not
        the database's (`is_transient`), nothing of it was kept: its messages are processed
        again one by one, so only the one that fails is dead-lettered."""
        try:
            await self._transact(lambda uow: self._on_answers(uow, messages))
        except ServiceHalted:
            raise  # not acknowledged: delivered again after restart
        except Exception:
            log.warning(
                "a batch of %d answer message(s) failed; processing them one by one",
                len(messages),
                exc_info=True,
            )
            for body, delivery in messages:
                await self._consume_one(
                    body, delivery, lambda uow, b, d: self._on_answers(uow, [(b, d)])
                )

    async def _consume_one(
        self,
        body: bytes,
        delivery: Delivery,
        handler: Callable[[UnitOfWork, bytes, Delivery], Awaitable[None]],
    ) -> None:
        """Process one message. A message that fails for a reason that is not the database's
        is dead-lettered, so it can never stall the consumer. If the dead letter cannot be
        written either, the failure propagates and the service halts."""
        try:
            await self._transact(lambda uow: handler(uow, body, delivery))
        except ServiceHalted:
            raise  # not acknowledged: delivered again after restart
        except Exception as exc:
            log.exception("processing failed at %s; dead-lettering it", delivery.position)
            await self._dead_letter_failure(body, delivery, exc)

    async def _dead_letter_failure(self, body: bytes, delivery: Delivery, exc: Exception) -> None:
        await self._transact(lambda uow: dead_letter_failure(uow, body, delivery, exc, utc_now()))


def command_trace(delivery: Delivery) -> AbstractContextManager[object]:
    """In the trace the command came with: the round it opens carries it on."""
    return consumed(delivery.topic, delivery.headers, delivery.headers.get("message_id"))


def _deliveries(msg: KafkaMessage) -> list[Delivery]:
    raw = msg.raw_message
    # A tuple from the real consumer; a list from FastStream's in-memory test broker.
    records = tuple(raw) if isinstance(raw, tuple | list) else (raw,)
    return [
        Delivery(
            topic=r.topic,
            partition=r.partition,
            offset=r.offset,
            key=r.key,
            headers=_headers(r.headers),
        )
        for r in records
    ]


def _headers(raw: Sequence[tuple[str, bytes]] | None) -> dict[str, str]:
    # Header values are the sender's bytes: decoded leniently, used only for ids and tracing.
    return {name: (value or b"").decode("utf-8", "replace") for name, value in raw or ()}
