"""`iaj-adapter run`: the FastStream application that answers question sets as they arrive.

Thin on purpose: it consumes in batches, hands the raw bytes of a batch's records to
`answering.receive_batch` (one state transaction), sends what was recorded (every answer
handed to the producer, then the acks awaited together, then one statement marks them sent),
and only then commits the batch's offsets, once. A bad message is recorded and acknowledged
like any other (it never stalls the adapter). A failure of the adapter's own machinery (its
state file, publishing) is not skipped: the batch is read again after a pause, and what was
already recorded is recognised by its message id.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from aiokafka import ConsumerRecord
from faststream import AckPolicy, FastStream
from faststream.asgi import AsgiFastStream
from faststream.kafka import KafkaBroker, Topic
from faststream.kafka.annotations import KafkaMessage
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind
from prometheus_client import REGISTRY

from contracts import Policy
from contracts.messages import utc_now
from contracts.topics import question_topic, refusal_topic
from kafka_access.ops import OK, Readiness, consumer_lag, kafka_check, ops_routes, ops_server
from partner_adapters.answering import AnsweringOutcome, AnsweringStatus, receive_batch
from partner_adapters.delivery import Send, deliver_outbox
from partner_adapters.kafka_io import consumer_group, make_kafka_broker, sender
from partner_adapters.loading import load_lookup
from partner_adapters.lookup import Lookup
from partner_adapters.lookup_runner import LookupRetry
from partner_adapters.metrics import ANSWERS_SENT, REFUSAL_NOTICES, STATE, count_outcome
from partner_adapters.policy_guard import local_policy
from partner_adapters.refusal_notices import receive_refusal_notice
from partner_adapters.settings import AdapterSettings
from partner_adapters.state import AdapterStore, KafkaPosition, OutboxEntry

__all__ = ["AdapterRuntime", "adapter_readiness", "build_adapter", "lookup_retry", "run_adapter"]

_log = logging.getLogger("partner_adapters")


def lookup_retry(settings: AdapterSettings) -> LookupRetry:
    return LookupRetry(
        attempts=settings.lookup_attempts,
        wait_initial_seconds=settings.lookup_wait_initial_seconds,
        wait_max_seconds=settings.lookup_wait_max_seconds,
        timeout_seconds=settings.lookup_timeout_seconds,
    )


@dataclass
class AdapterRuntime:
    """What the running adapter holds; the store and lookup exist only between start and stop."""

    settings: AdapterSettings
    broker: KafkaBroker
    app: FastStream
    lookup: Lookup | None = None
    store: AdapterStore | None = None
    policy: Policy | None = None
    # The latest outcomes, for tests and the demo (bounded: the adapter runs for months).
    outcomes: deque[AnsweringOutcome] = field(default_factory=lambda: deque(maxlen=100))
    delivering: asyncio.Lock = field(default_factory=asyncio.Lock)
    flusher: asyncio.Task[None] | None = None

    def require(self) -> tuple[AdapterStore, Lookup, Policy]:
        if self.store is None or self.lookup is None or self.policy is None:
            raise RuntimeError("the adapter is not started")
        return self.store, self.lookup, self.policy


def build_adapter(settings: AdapterSettings, *, lookup: Lookup | None = None) -> AdapterRuntime:
    """Wire the adapter for `settings.partner`. Nothing connects until the app starts.

    `lookup` overrides `settings.lookup` (tests pass an instance).
    """
    partner = settings.require_partner()
    broker = make_kafka_broker(settings)
    # Our logger: FastStream's default writes coloured lines (ANSI codes) to stderr.
    app = FastStream(broker, logger=_log)
    runtime = AdapterRuntime(settings, broker, app, lookup=lookup)
    send_one: Send = sender(broker, settings)
    retry = lookup_retry(settings)

    async def send_recorded(traces: Mapping[UUID, Context] | None = None) -> int:
        store, _, _ = runtime.require()
        send = send_one if not traces else _traced(send_one, traces)
        async with runtime.delivering:  # the handler and the periodic flush take turns
            # Marked sent by the next batch's transaction, or by the periodic flush.
            sent = await deliver_outbox(store, send, fold=True)
        ANSWERS_SENT.labels(partner.value).inc(sent)
        return sent

    async def refresh_state_metrics() -> None:
        store, _, _ = runtime.require()
        STATE.update_lag(await consumer_lag(runtime.broker))
        STATE.update(await store.status(utc_now(), recent=0))

    async def flush_periodically() -> None:
        # Sends answers recorded by `iaj adapter answer --record-only` or left by a failure.
        loop = asyncio.get_running_loop()
        metrics_due = loop.time() + settings.metrics_interval_seconds
        while True:
            await asyncio.sleep(settings.outbox_interval_seconds)
            try:
                await send_recorded()
                await runtime.require()[0].flush_sent()
            except Exception as exc:  # the outbox keeps them; the next round tries again
                _log.warning("recorded answers not sent yet: %s", type(exc).__name__)
            if loop.time() < metrics_due:
                continue
            metrics_due = loop.time() + settings.metrics_interval_seconds
            try:
                await refresh_state_metrics()
            except Exception as exc:  # the gauges keep their last values and timestamp
                _log.warning("state metrics not refreshed: %s", type(exc).__name__)
            try:  # at the same pace: purged names do not outlive it in the WAL
                await runtime.require()[0].checkpoint()
            except Exception as exc:  # the next interval tries again
                _log.warning("state file not checkpointed: %s", type(exc).__name__)

    @app.on_startup
    async def open_state() -> None:
        runtime.policy = local_policy(settings.policy_file)
        runtime.lookup = runtime.lookup or load_lookup(settings.lookup)
        runtime.store = await AdapterStore.open(settings.state_path(), partner)
        _log.info("adapter for %s: state %s", partner.value, settings.state_path())

    @app.after_startup
    async def send_recorded_answers() -> None:
        sent = await send_recorded()
        if sent:
            _log.info("sent %d answer(s) recorded before the last stop", sent)
        await refresh_state_metrics()
        runtime.flusher = asyncio.create_task(flush_periodically())

    @app.on_shutdown
    async def stop_flushing() -> None:
        if runtime.flusher is not None:
            runtime.flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await runtime.flusher
            runtime.flusher = None

    @app.after_shutdown
    async def close_state() -> None:
        if runtime.store is not None:
            await runtime.store.close()
            runtime.store = None

    # One consumer for both topics: a second group member per adapter would double the
    # rebalances, and a refusal notice is rare.
    # declare=False: the municipality owns the topics; a partner may not create any (the ACLs
    # refuse it, and FastStream would otherwise try on every start).
    # batch=True: what one fetch returned is handled together (one state transaction, one
    # offset commit); aiokafka returns a fetch as soon as it has records.
    @broker.subscriber(
        Topic(question_topic(partner), declare=False),
        Topic(refusal_topic(partner), declare=False),
        group_id=consumer_group(settings),
        auto_offset_reset="earliest",  # a new adapter answers what was asked before it started
        ack_policy=AckPolicy.MANUAL,
        batch=True,
        max_records=settings.consumer_batch_max_records,
        session_timeout_ms=settings.consumer_session_timeout_ms,
        heartbeat_interval_ms=settings.consumer_heartbeat_interval_ms,
        fetch_max_wait_ms=settings.consumer_fetch_max_wait_ms,
        decoder=_undecoded,
        title=f"questions and refusal notices for {partner.value}",
    )
    async def on_batch(message: KafkaMessage) -> None:
        store, lookup, policy = runtime.require()
        records = _records(message.raw_message)
        notices = [r for r in records if r.topic == refusal_topic(partner)]
        questions = [r for r in records if r.topic != refusal_topic(partner)]
        headers = [_headers(r) for r in questions]
        ids = [_ids(r, h, partner.value) for r, h in zip(questions, headers, strict=True)]
        # A span per question set, in its round's trace (FastStream's span of a batch only
        # links to the records'); its answer is published in it.
        consumed = [_consume_span(r, h) for r, h in zip(questions, headers, strict=True)]
        try:
            for record in notices:
                await receive_refusal_notice(
                    record.value or b"", store, partner, position=_position(record)
                )
            # Question sets (withdrawals, corrections): ids only, before the lookup.
            for record_ids in ids:
                _log.info(
                    "message %s received",
                    record_ids["message_id"],
                    extra={"event": "received", **record_ids},
                )
            outcomes: list[AnsweringOutcome] = []
            if questions:
                outcomes = await receive_batch(
                    [(r.value or b"", _position(r)) for r in questions],
                    lookup,
                    store,
                    policy=policy,
                    retry=retry,
                )
                # Each answer passes on the trace of the question set it answers.
                traces = {
                    o.question_set_id: trace_context
                    for o, (_, trace_context) in zip(outcomes, consumed, strict=True)
                    if o.question_set_id is not None
                }
                await send_recorded(traces)
        except Exception:
            # Our own state file or Kafka failed: do not skip the batch; read it again.
            _end(consumed)
            await asyncio.sleep(settings.redelivery_delay_seconds)
            await message.nack()
            raise
        await message.ack()  # one offset commit for the batch
        _end(consumed)
        if notices:
            REFUSAL_NOTICES.labels(partner.value).inc(len(notices))
        for outcome, record_ids in zip(outcomes, ids, strict=True):
            runtime.outcomes.append(outcome)
            count_outcome(partner.value, outcome)
            _log_outcome(outcome, record_ids)

    return runtime


async def adapter_readiness(runtime: AdapterRuntime, limit_seconds: float = 2.0) -> Readiness:
    """Ready: the local state is open and Kafka answers, with the consumer assigned."""
    return Readiness(
        {
            "state": OK if runtime.store is not None else "local state not open",
            "kafka": await kafka_check(runtime.broker, limit_seconds),
        }
    )


async def run_adapter(runtime: AdapterRuntime) -> bool:
    """Run until SIGINT/SIGTERM, with /metrics, /health/live and /health/ready on
    IAJ_ADAPTER_OPS_PORT (0: FastStream alone, as before). False: start-up failed."""
    settings = runtime.settings
    if settings.ops_port == 0:
        await runtime.app.run()
        return True
    partner = settings.require_partner()
    runtime.broker.add_middleware(
        KafkaPrometheusMiddleware(registry=REGISTRY, app_name=f"iaj-adapter-{partner.value}")
    )
    asgi = AsgiFastStream.from_app(
        runtime.app, asgi_routes=ops_routes(lambda: adapter_readiness(runtime), REGISTRY)
    )
    server = ops_server(asgi, settings.ops_host, settings.ops_port)
    await server.serve()
    return server.started


async def _undecoded(_: KafkaMessage) -> None:
    # The handler reads the records' bytes itself (contracts.wire.decode): FastStream need not
    # JSON-parse every body of the batch first.
    return None


def _records(raw: object) -> Sequence[ConsumerRecord[Any, Any]]:
    """The records of a batch (FastStream's in-memory test broker gives a list)."""
    if isinstance(raw, tuple | list):
        return [r for r in raw if isinstance(r, ConsumerRecord)]
    return [raw] if isinstance(raw, ConsumerRecord) else []


def _position(raw: object) -> KafkaPosition | None:
    if isinstance(raw, ConsumerRecord):
        return KafkaPosition(raw.topic, raw.partition, raw.offset)
    return None


def _headers(record: ConsumerRecord[Any, Any]) -> dict[str, str]:
    return {
        k: v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
        for k, v in (record.headers or ())
    }


_Consumed = tuple[Span, Context]


def _consume_span(record: ConsumerRecord[Any, Any], headers: Mapping[str, str]) -> _Consumed:
    """A consumer span for one record, in the trace its `traceparent` carries, and the context
    to publish its answer in. Untraced, the context is the record's own: the answer passes its
    `traceparent` on unchanged."""
    parent = propagate.extract(dict(headers)) if "traceparent" in headers else None
    span = trace.get_tracer("iaj.adapter").start_span(
        f"{record.topic} process",
        context=parent,
        kind=SpanKind.CONSUMER,
        attributes={
            "messaging.system": "kafka",
            "messaging.destination.name": record.topic,
            "messaging.message.id": headers.get("message_id", ""),
        },
    )
    if span.get_span_context().is_valid:
        return span, trace.set_span_in_context(span, parent)
    return span, parent if parent is not None else Context()


def _end(consumed: Sequence[_Consumed]) -> None:
    for span, _ in consumed:
        span.end()


def _traced(send: Send, traces: Mapping[UUID, Context]) -> Send:
    """`send`, in the trace of the question set an answer replies to."""

    async def send_traced(entry: OutboxEntry) -> Any:
        trace_context = traces.get(entry.question_set_id)
        if trace_context is None:
            return await send(entry)
        token = otel_context.attach(trace_context)
        try:
            return await send(entry)
        finally:
            otel_context.detach(token)

    return send_traced


def _ids(
    record: ConsumerRecord[Any, Any], headers: Mapping[str, str], partner: str
) -> dict[str, str | None]:
    """The ids of a consumed record for log lines: from its key and headers, never its body.
    Every message of a round is keyed by the round's id (contracts.topics.message_key)."""
    key = record.key
    return {
        "partner": partner,
        "round_id": key.decode("utf-8", "replace")[:64] if isinstance(key, bytes) else None,
        "correlation_id": headers.get("correlation_id") or None,
        "message_id": headers.get("message_id") or None,
    }


def _log_outcome(outcome: AnsweringOutcome, ids: dict[str, str | None]) -> None:
    # Ids, counts and reasons only: never names or answer content.
    failure = outcome.lookup_failure
    set_id = outcome.question_set_id
    rejection = outcome.rejection
    if rejection is not None:
        where = rejection.position
        at = "" if where is None else f" at {where.topic}[{where.partition}]@{where.offset}"
        _log.warning(
            "message %s%s rejected: %s",
            rejection.message_id or "(no id)",
            at,
            rejection.reason,
            extra={"event": "rejected", **ids, "reason": str(rejection.reason)},
        )
        return
    if outcome.status is AnsweringStatus.WITHDRAWN:
        _log.info(
            "withdrawal: %d open question(s) dropped, %d unsent answer(s) not sent",
            *outcome.dropped,
            extra={"event": "withdrawal", **ids},
        )
        return
    if outcome.status is AnsweringStatus.CORRECTED:
        _log.info(
            "subject correction: %d pending question set(s) updated",
            outcome.corrected_sets,
            extra={"event": "correction", **ids},
        )
        return
    if outcome.message is not None:  # the answer's own ids: more precise than the record's
        ids = {
            **ids,
            "round_id": str(outcome.message.round_id),
            "correlation_id": str(outcome.message.correlation_id),
        }
    _log.info(
        "question set %s: %s (%d answered, %d refused at source, %d open%s)",
        outcome.question_set_id,
        outcome.status.value,
        0 if outcome.message is None else len(outcome.message.answers),
        len(outcome.refusals),
        len(outcome.open_questions),
        "" if outcome.lookup_failure is None else f", lookup failed: {outcome.lookup_failure.kind}",
        extra={
            "event": "question_set_handled",
            **ids,
            "question_set_id": None if set_id is None else str(set_id),
            "status": outcome.status.value,
            "answered": 0 if outcome.message is None else len(outcome.message.answers),
            "refused_at_source": len(outcome.refusals),
            "refusal_reasons": sorted({str(r.reason) for r in outcome.refusals}),
            "open": len(outcome.open_questions),
            "lookup_failure": None if failure is None else failure.kind,
        },
    )
