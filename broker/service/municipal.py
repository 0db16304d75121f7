"""The municipal service: consumes answers and commands, relays the outbox, watches deadlines.

`MunicipalService` is the composition root: it builds the engine, the Kafka clients and the
FastStream subscribers from one ServiceSettings, and starts and stops them in order. How it
consumes is in `broker.service.consumer`, how it runs units of work (and halts) in
`broker.service.transactions`, the FastStream application of `iaj serve` in
`broker.service.faststream_app`.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from types import TracebackType

from aiokafka import AIOKafkaProducer
from faststream.kafka import KafkaBroker
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_delay,
    wait_exponential,
)

from broker.service.consumer import ConsumingService, command_trace
from broker.service.kafka_admin import create_topics
from broker.service.metrics import (
    ANSWER_BATCH_SECONDS,
    ANSWER_BATCH_SIZE,
    ANSWERS,
    COMMANDS,
    PURGE_RUNS,
    PURGED_CASES,
    REFUSALS,
    SNAPSHOT,
)
from broker.service.oplog import log_answer_batch, log_command
from broker.service.partner_keys import load_partner_keys
from broker.service.relay import OutboxRelay
from broker.service.transactions import ServiceHalted
from broker.settings import ServiceSettings
from contracts.messages import utc_now
from contracts.policy import Policy, load_policy
from contracts.topics import all_topics

# handle_answers and expire_overdue are looked up in this module's globals when called (tests
# replace them here), so the methods that call them stay in this module.
from handlers.answers import handle_answers
from handlers.commands import handle_command, handle_commands
from handlers.completion import expire_overdue
from handlers.db.engine import make_engine, make_session_factory
from handlers.db.faults import is_transient, log_retry
from handlers.db.migrate import require_current, upgrade
from handlers.db.pending import PendingRows
from handlers.db.uow import UnitOfWork
from handlers.dead_letters import Delivery
from handlers.officials import Officials, load_officials
from handlers.ops_snapshot import ops_snapshot
from handlers.retention import purge_due
from handlers.rounds import OpeningBatch, OpenRound, open_round
from handlers.uitstroom import leave_at_age_limit
from kafka_access.ops import consumer_lag
from kafka_access.principals import MUNICIPAL_CLIENT, RELAY_CLIENT, TOPIC_ADMIN_CLIENT
from kafka_access.tracing import telemetry_middlewares

__all__ = ["MunicipalService"]

log = logging.getLogger(__name__)


# Who deletes, in the processing log: the service itself, on the convenant's schedule.
RETENTION_ACTOR = "iaj-service (retention)"
# Who records the uitstroom of a youth who outgrew the track's age limit.
AGE_LIMIT_ACTOR = "iaj-service (age limit)"


class MunicipalService(ConsumingService):
    def __init__(self, settings: ServiceSettings, policy: Policy | None = None) -> None:
        self.settings = settings
        self.policy = policy or load_policy(settings.policy_file)
        self.engine = make_engine(settings.database_url)
        self.sessions = make_session_factory(self.engine)
        self.security = settings.kafka_security()
        # Read once: a key added or removed takes effect at the next start.
        self.partner_keys = load_partner_keys(settings.partner_keys_dir)
        # Who may request commands on iaj.commands (their `requested_by`). Read once, like
        # the keys. Without a file the service runs, but carries out no command.
        self.officials: Officials | None = None
        if settings.officials_file is None:
            log.error(
                "no officials file (IAJ_OFFICIALS_FILE): every command on iaj.commands will "
                "be rejected"
            )
        else:
            self.officials = load_officials(settings.officials_file)
        if not self.partner_keys:
            log.error(
                "no partner signing keys (IAJ_PARTNER_KEYS_DIR): every answer will be refused"
            )
        # The service publishes through the outbox relay's producer, but FastStream starts one
        # of its own too: give it the same guarantees, should anyone publish through it.
        self.broker = KafkaBroker(
            settings.kafka_bootstrap,
            # What Kafka's tools show for the consumer (else `faststream-<version>-<uuid>`).
            client_id=MUNICIPAL_CLIENT,
            graceful_timeout=30.0,
            logger=log,
            log_level=logging.DEBUG,
            security=self.security.faststream,
            acks=_acks(settings.producer_acks),
            enable_idempotence=settings.producer_idempotence,
            # Tracing, when on (OTEL_*): a span per consumed batch, linked to its messages'.
            middlewares=telemetry_middlewares(),
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

    async def _on_answers(self, uow: UnitOfWork, messages: list[tuple[bytes, Delivery]]) -> None:
        started = time.perf_counter()
        reports = await handle_answers(uow, messages, utc_now(), self.partner_keys)
        await uow.commit()
        ANSWER_BATCH_SECONDS.observe(time.perf_counter() - started)
        ANSWER_BATCH_SIZE.observe(len(messages))
        for report, (_, delivery) in zip(reports, messages, strict=True):
            partner = delivery.topic.rsplit(".", 1)[-1]
            ANSWERS.labels(partner, "accepted").inc(report.accepted)
            ANSWERS.labels(partner, "refused").inc(len(report.refused))
            ANSWERS.labels(partner, "late").inc(report.late)
            ANSWERS.labels(partner, "already_answered").inc(report.already_answered)
            for reason in report.refused:
                REFUSALS.labels(partner, reason.value).inc()
        log_answer_batch(reports)

    async def _on_command(self, uow: UnitOfWork, body: bytes, delivery: Delivery) -> None:
        report = await handle_command(
            uow,
            body,
            delivery,
            self.policy,
            officials=self.officials,
            deadline=self.settings.round_deadline,
            now=utc_now(),
        )
        COMMANDS.labels(report.outcome).inc()
        log_command(report, delivery)

    async def _on_commands(self, uow: UnitOfWork, messages: list[tuple[bytes, Delivery]]) -> None:
        reports = await handle_commands(
            uow,
            messages,
            self.policy,
            officials=self.officials,
            deadline=self.settings.round_deadline,
            now=utc_now(),
            each=command_trace,
        )
        for report, (_, delivery) in zip(reports, messages, strict=True):
            COMMANDS.labels(report.outcome).inc()
            log_command(report, delivery)

    async def start(self) -> None:
        """Migrate, create topics, start the relay, the deadline watch and the consumers."""
        await self._wait_for_database()
        if self.settings.create_topics:
            await create_topics(
                self.settings.kafka_bootstrap,
                all_topics(),
                partitions=self.settings.topic_partitions,
                replication_factor=self.settings.topic_replication_factor,
                client_id=TOPIC_ADMIN_CLIENT,
                **self.security.client_kwargs,
            )
        self.producer = AIOKafkaProducer(
            bootstrap_servers=self.settings.kafka_bootstrap,
            client_id=RELAY_CLIENT,
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
            asyncio.create_task(
                self._periodically(
                    "deadline pass", self.expire_now, self.settings.deadline_check_interval_seconds
                ),
                name="deadline-watch",
            ),
            asyncio.create_task(
                self._periodically(
                    "retention pass", self.purge_now, self.settings.retention_interval_seconds
                ),
                name="retention-watch",
            ),
            asyncio.create_task(
                self._periodically(
                    "metrics snapshot",
                    self.refresh_metrics,
                    self.settings.metrics_refresh_seconds,
                ),
                name="metrics-snapshot",
            ),
            asyncio.create_task(
                self._periodically(
                    "age-limit pass",
                    self.age_limit_now,
                    self.settings.age_limit_interval_seconds,
                ),
                name="age-limit-watch",
            ),
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
        [round_id] = await self.open_rounds([request])
        return round_id

    async def open_rounds(self, requests: Sequence[OpenRound]) -> list[str]:
        """Open many rounds in one transaction, as a batch of open-round commands is: their
        outbox and processing-log rows in one INSERT each. All or none (a refused request
        fails the call: open that one alone to see why)."""

        async def work(uow: UnitOfWork) -> list[str]:
            now = utc_now()
            with PendingRows(uow.session) as pending:
                # Their cases and deciding rounds read once, their rows written at the end.
                batch = await OpeningBatch.load(uow, pending, requests)
                ids = [
                    (
                        await open_round(
                            uow,
                            self.policy,
                            r,
                            now=now,
                            deadline=self.settings.round_deadline,
                            batch=batch,
                        )
                    )[0]
                    for r in requests
                ]
                await OpeningBatch.flush(pending)
            await uow.commit()
            return ids

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
                if self.settings.migrate_on_start:
                    await upgrade(self.engine)
                else:  # IAJ_MIGRATE_ON_START=false: only `iaj db upgrade` migrates
                    await require_current(self.engine)
        self.readiness = "starting: the database is there"

    def _not_ready(self, state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome is not None else None
        self.readiness = f"waiting for the database ({type(error).__name__})"
        log_retry(log, "database at start-up", logging.WARNING)(state)

    async def purge_now(self) -> list[str]:
        """Delete what the convenant no longer allows to keep (handlers.retention): the cases
        whose retention period is over, and old transport records. Returns the case ids."""
        try:
            deleted = await self._transact(self._purge)
        except Exception:
            PURGE_RUNS.labels("failed").inc()
            raise
        PURGE_RUNS.labels("ok").inc()
        PURGED_CASES.inc(len(deleted))
        return deleted

    async def refresh_metrics(self) -> None:
        """Read the database gauges of /metrics (`broker.service.metrics.SNAPSHOT`), within
        a timeout and without retrying: if it fails, the previous snapshot stays and its
        timestamp shows its age."""
        SNAPSHOT.update_lag(await consumer_lag(self.broker))
        retention = dt.timedelta(seconds=self.settings.retention_interval_seconds)
        async with asyncio.timeout(self.settings.metrics_refresh_seconds):
            async with UnitOfWork(self.sessions) as uow:
                snapshot = await ops_snapshot(uow, utc_now(), retention)
        SNAPSHOT.update(snapshot)

    async def _purge(self, uow: UnitOfWork) -> list[str]:
        now = utc_now()
        deleted = await purge_due(
            uow,
            today=now.date(),
            now=now,
            actor=RETENTION_ACTOR,
            batch_size=self.settings.retention_batch_size,
        )
        log.info("retention pass: %d case(s) deleted", len(deleted))
        return [item.case_id for item in deleted]

    async def age_limit_now(self) -> list[str]:
        """Put into uitstroom the youths who reached their track's age limit
        (handlers.uitstroom), cancelling their open rounds. Returns the case ids."""
        return await self._transact(self._age_limit)

    async def _age_limit(self, uow: UnitOfWork) -> list[str]:
        now = utc_now()
        left = await leave_at_age_limit(
            uow, self.policy, actor=AGE_LIMIT_ACTOR, today=now.date(), now=now
        )
        await uow.commit()
        if left:
            log.info("age limit: %d case(s) put into uitstroom", len(left))
        return left

    async def _periodically(
        self, name: str, work: Callable[[], Awaitable[object]], interval: float
    ) -> None:
        # Transient database errors are retried inside the pass (_transact); anything else is
        # logged by type and the watch goes on: what was due is done on a later pass.
        while not self._stop.is_set():
            try:
                await work()
            except ServiceHalted:
                return
            except Exception as exc:
                log.error("%s failed (%s); trying again", name, type(exc).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=interval)


def _acks(setting: str) -> str | int:
    """Kafka's `acks`: "all", or the number of replicas as an int (what aiokafka takes)."""
    return "all" if setting == "all" else int(setting)
