"""The municipal service: consumes answers and commands, relays the outbox, watches deadlines.

`MunicipalService` is the composition root: it builds the engine, the Kafka clients and the
FastStream subscribers from one ServiceSettings, and starts and stops them in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import TypeVar

from aiokafka import AIOKafkaProducer
from faststream import AckPolicy, FastStream
from faststream.kafka import KafkaBroker, KafkaMessage, Topic
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_delay,
    wait_exponential,
)

from broker.service.kafka_admin import create_topics
from broker.service.metrics import ANSWERS, COMMANDS
from broker.service.relay import OutboxRelay
from broker.settings import ServiceSettings
from contracts.enums import Partner
from contracts.messages import utc_now
from contracts.policy import Policy, load_policy
from contracts.topics import COMMANDS as COMMANDS_TOPIC
from contracts.topics import all_topics, answer_topic
from handlers.answers import handle_answers
from handlers.commands import handle_command
from handlers.completion import expire_overdue
from handlers.db.engine import make_engine, make_session_factory
from handlers.db.faults import is_transient, log_retry
from handlers.db.migrate import upgrade
from handlers.db.uow import UnitOfWork
from handlers.dead_letters import Delivery, dead_letter_failure
from handlers.rounds import OpenRound, open_round

__all__ = ["MunicipalService", "ServiceHalted", "build_app", "run_service"]

log = logging.getLogger(__name__)
T = TypeVar("T")

# How long an idle answer consumer waits for a batch to fill: the latency added to a lone answer.
_BATCH_WAIT_MS = 20


class ServiceHalted(RuntimeError):
    """The database stayed unusable: the service stops rather than skip a message."""


async def _raw_bodies(msg: KafkaMessage) -> list[bytes]:
    # Our handlers parse the bytes themselves: a poison message must reach them, not fail
    # in a decoder before any handler can dead-letter it.
    return [bytes(body) for body in msg.body]


class MunicipalService:
    def __init__(self, settings: ServiceSettings, policy: Policy | None = None) -> None:
        self.settings = settings
        self.policy = policy or load_policy(settings.policy_file)
        self.engine = make_engine(settings.database_url)
        self.sessions = make_session_factory(self.engine)
        self.security = settings.kafka_security()
        # The service publishes through the outbox relay's producer, but FastStream starts one
        # of its own too: give it the same guarantees, should anyone publish through it.
        self.broker = KafkaBroker(
            settings.kafka_bootstrap,
            graceful_timeout=30.0,
            logger=log,
            log_level=logging.DEBUG,
            security=self.security.faststream,
            acks=_acks(settings.producer_acks),
            enable_idempotence=settings.producer_idempotence,
        )
        self.producer: AIOKafkaProducer | None = None
        self.relay: OutboxRelay | None = None
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.halted = False
        self.on_halt: Callable[[], None] | None = None
        # Why the service is not (yet) doing its work, for operators; "ready" once it is.
        self.readiness = "starting"
        self._subscribe()

    def _subscribe(self) -> None:
        # declare=False: topics are created by `create_topics` with the configured partitions
        # and replication, never by FastStream's defaults (one partition, one replica).
        topics = [Topic(t, declare=False) for t in [*map(answer_topic, Partner), COMMANDS_TOPIC]]

        # One consumer for answers and commands: a single group member per instance, so a
        # restart or a new instance costs one rebalance, not two. Messages come in batches:
        # one transaction (one commit) per batch of answers is what lets the service keep up
        # with 14 partners at once; commands, rare, are handled one by one.
        @self.broker.subscriber(
            *topics,
            group_id=self.settings.consumer_group,
            ack_policy=AckPolicy.MANUAL,
            auto_offset_reset="earliest",
            decoder=_raw_bodies,
            session_timeout_ms=self.settings.consumer_session_timeout_ms,
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
        for body, delivery in messages:
            if delivery.topic == COMMANDS_TOPIC:
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

    async def _on_answers(self, uow: UnitOfWork, messages: list[tuple[bytes, Delivery]]) -> None:
        reports = await handle_answers(uow, messages, utc_now())
        await uow.commit()
        for report, (_, delivery) in zip(reports, messages, strict=True):
            partner = delivery.topic.rsplit(".", 1)[-1]
            ANSWERS.labels(partner, "accepted").inc(report.accepted)
            ANSWERS.labels(partner, "refused").inc(len(report.refused))
            ANSWERS.labels(partner, "late").inc(report.late)

    async def _on_command(self, uow: UnitOfWork, body: bytes, delivery: Delivery) -> None:
        report = await handle_command(
            uow, body, delivery, self.policy, deadline=self.settings.round_deadline, now=utc_now()
        )
        COMMANDS.labels(report.outcome).inc()

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
                    async with UnitOfWork(self.sessions) as uow:
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

    def _halt(self, exc: BaseException) -> None:
        # The class name only: a driver's message may quote the statement's parameters.
        log.critical("halting without acknowledging: %s", type(exc).__name__)
        self.halted = True
        if self.on_halt is not None:
            self.on_halt()

    def _wake_relay(self) -> None:
        if self.relay is not None:
            self.relay.wake()

    async def start(self) -> None:
        """Migrate, create topics, start the relay, the deadline watch and the consumers."""
        await self._wait_for_database()
        if self.settings.create_topics:
            await create_topics(
                self.settings.kafka_bootstrap,
                all_topics(),
                partitions=self.settings.topic_partitions,
                replication_factor=self.settings.topic_replication_factor,
                **self.security.client_kwargs,
            )
        self.producer = AIOKafkaProducer(
            bootstrap_servers=self.settings.kafka_bootstrap,
            acks=_acks(self.settings.producer_acks),
            enable_idempotence=self.settings.producer_idempotence,
            request_timeout_ms=self.settings.producer_request_timeout_ms,
            linger_ms=2,
            **self.security.client_kwargs,
        )
        await self.producer.start()
        self.relay = OutboxRelay(
            self.sessions,
            self.producer,
            batch_size=self.settings.relay_batch_size,
            interval_seconds=self.settings.relay_interval_seconds,
        )
        self._stop.clear()
        self._tasks = [
            asyncio.create_task(self.relay.run(self._stop), name="outbox-relay"),
            asyncio.create_task(self._watch_deadlines(), name="deadline-watch"),
        ]
        await self.broker.start()
        self.readiness = "ready"

    async def stop(self) -> None:
        """Stop consuming (in-flight messages finish), then drain the outbox, then close."""
        await self.broker.stop()
        self._stop.set()
        for task in self._tasks:
            try:
                await asyncio.wait_for(task, timeout=30)
            except (asyncio.CancelledError, TimeoutError):
                # Kafka is gone: what the relay could not send stays in the outbox for the
                # next start; stopping must not fail because of it.
                log.warning(
                    "%s did not finish in 30 s; unsent messages stay in the outbox", task.get_name()
                )
        self._tasks = []
        if self.producer is not None:
            await self.producer.stop()
            self.producer = None
        await self.engine.dispose()

    async def __aenter__(self) -> MunicipalService:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def open_round(self, request: OpenRound) -> str:
        """Open a round now (the CLI and tests; partners learn of it through the relay)."""

        async def work(uow: UnitOfWork) -> str:
            round_id, _ = await open_round(
                uow, self.policy, request, now=utc_now(), deadline=self.settings.round_deadline
            )
            await uow.commit()
            return round_id

        return await self._transact(work)

    async def expire_now(self) -> list[str]:
        """Complete the rounds past their deadline (the watch does this periodically)."""
        return await self._transact(self._expire)

    async def _expire(self, uow: UnitOfWork) -> list[str]:
        ids = await expire_overdue(uow, utc_now())
        await uow.commit()
        return ids

    async def _wait_for_database(self) -> None:
        """Migrate, waiting with backoff while the database is not there yet (started
        together with it, or during a failover) for up to `database_startup_seconds`."""
        async for attempt in AsyncRetrying(
            retry=retry_if_exception(is_transient),
            stop=stop_after_delay(self.settings.database_startup_seconds),
            wait=wait_exponential(multiplier=0.5, max=10),
            before_sleep=self._not_ready,
            reraise=True,
        ):
            with attempt:
                await upgrade(self.engine)
        self.readiness = "starting: the database is there"

    def _not_ready(self, state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome is not None else None
        self.readiness = f"waiting for the database ({type(error).__name__})"
        log_retry(log, "database at start-up", logging.WARNING)(state)

    async def _watch_deadlines(self) -> None:
        # Transient database errors are retried inside expire_now; anything else is logged
        # and the watch goes on: a round past its deadline is completed on a later pass.
        while not self._stop.is_set():
            try:
                await self.expire_now()
            except ServiceHalted:
                return
            except Exception as exc:
                log.error("deadline pass failed (%s); trying again", type(exc).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._stop.wait(), timeout=self.settings.deadline_check_interval_seconds
                )


def _deliveries(msg: KafkaMessage) -> list[Delivery]:
    raw = msg.raw_message
    records = raw if isinstance(raw, tuple) else (raw,)
    return [
        Delivery(topic=r.topic, partition=r.partition, offset=r.offset, key=r.key) for r in records
    ]


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


def _acks(setting: str) -> str | int:
    """Kafka's `acks`: "all", or the number of replicas as an int (what aiokafka takes)."""
    return "all" if setting == "all" else int(setting)
