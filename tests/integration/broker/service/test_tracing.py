"""One trace spans a round across processes: the backend's open-round command, the question
set the outbox relay publishes, the partner adapter consuming it and publishing its answer,
the service consuming that answer, and the round's result on iaj.results.

The service and a partner adapter run in this process against the session's Kafka, with the
OpenTelemetry SDK exporting to memory; the W3C `traceparent` travels in Kafka headers only.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path

import pytest
from faststream.kafka import KafkaBroker
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.util._once import Once
from sqlalchemy import select

from broker.service.municipal import MunicipalService
from broker.settings import ServiceSettings
from contracts.enums import Colour, Partner, YesNo
from contracts.messages import AnswerItem, OpenRoundCommand, Question
from contracts.policy import haarlem_policy
from contracts.topics import COMMANDS, RESULTS, answer_topic, message_key, question_topic
from contracts.wire import encode
from handlers.db.tables import ProcessingLogRow, QuestionRow
from handlers.db.uow import UnitOfWork
from handlers.states import QuestionStatus
from kafka_access.tracing import telemetry_middlewares
from partner_adapters.lookup import LookupAnswer, LookupRequest
from partner_adapters.runtime import build_adapter
from partner_adapters.settings import AdapterSettings
from tests.conftest import TEST_ACTOR
from tests.integration.broker.service.conftest import add_case
from tests.integration.broker.service.partners import FakePartners
from tests.support.signing import private_key_path

pytestmark = pytest.mark.integration

POLICY = haarlem_policy()
TRACED = Partner.SWT  # the partner whose real adapter answers last, completing the round


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """The OpenTelemetry SDK as the global tracer provider, exporting to memory; afterwards
    no provider again (the API sets one once per process: reset as OpenTelemetry's own test
    utilities do), so later tests run untraced."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    try:
        yield exporter
    finally:
        provider.shutdown()
        trace._TRACER_PROVIDER = None
        trace._TRACER_PROVIDER_SET_ONCE = Once()


async def _eventually(check: Callable[[], Awaitable[bool]], within: float = 30.0) -> None:
    async def poll() -> None:
        while not await check():  # noqa: ASYNC110 (polls the database)
            await asyncio.sleep(0.05)

    await asyncio.wait_for(poll(), within)


def _named(
    found: Sequence[ReadableSpan], name: str, scope: str | None = None
) -> list[ReadableSpan]:
    return [
        s
        for s in found
        if s.name == name
        and (scope is None or (s.instrumentation_scope and s.instrumentation_scope.name == scope))
    ]


async def test_one_trace_spans_the_round_from_command_to_result(
    spans: InMemorySpanExporter, settings: ServiceSettings, clean_kafka: str, tmp_path: Path
) -> None:
    async with MunicipalService(settings) as service:
        case_id = await add_case(service, colour=Colour.GROEN)
        command = OpenRoundCommand(
            round_id=uuid.uuid4(),
            correlation_id=uuid.uuid4(),
            policy=POLICY.ref,
            case_id=uuid.UUID(case_id),
            colour=Colour.GROEN,
            requested_by=TEST_ACTOR,
        )
        round_id = str(command.round_id)

        # The backend publishes the command with FastStream's tracing middleware.
        async with KafkaBroker(clean_kafka, middlewares=telemetry_middlewares()) as backend:
            await backend.publish(
                encode(command),
                COMMANDS,
                key=message_key(command.round_id),
                correlation_id=str(command.correlation_id),
                headers={"message_id": str(command.message_id)},
            )

        # The other partners answer first (nee: no follow-up question for the CJG) ...
        others = set(POLICY.partners(Colour.GROEN)) - {Partner.CJG, TRACED}
        async with FakePartners(clean_kafka, others) as partners:
            sets = await partners.question_sets(lambda got: {q.partner for q in got} >= others)
            for qs in sets:
                await partners.answer(qs, _nee)

            async def others_answered() -> bool:
                async with UnitOfWork(service.sessions) as uow:
                    pending = await uow.session.scalars(
                        select(QuestionRow.partner)
                        .where(QuestionRow.round_id == round_id)
                        .where(QuestionRow.status == QuestionStatus.OPEN)
                    )
                    return set(pending) == {TRACED.value}

            await _eventually(others_answered)

            # ... then the traced partner's own adapter answers, and the round completes.
            adapter = build_adapter(
                AdapterSettings(
                    partner=TRACED,
                    kafka_bootstrap=clean_kafka,
                    state_db=tmp_path / "swt.db",
                    signing_key=private_key_path(TRACED),
                    consumer_session_timeout_ms=settings.consumer_session_timeout_ms,
                    consumer_heartbeat_interval_ms=settings.consumer_heartbeat_interval_ms,
                    outbox_interval_seconds=60,
                ),
                lookup=_AllNee(),
            )
            await adapter.app.start()
            try:
                (result,) = await partners.results()
            finally:
                await adapter.app.stop()
        assert str(result.round_id) == round_id

        async with UnitOfWork(service.sessions) as uow:
            entries = (
                await uow.session.execute(
                    select(
                        ProcessingLogRow.action,
                        ProcessingLogRow.partner,
                        ProcessingLogRow.trace_id,
                    ).where(ProcessingLogRow.round_id == round_id)
                )
            ).all()

    found = spans.get_finished_spans()
    chain = {
        # Per message (the batch's own span, FastStream's, only links to the messages').
        "command": _named(found, f"{COMMANDS} process", "iaj.handlers"),
        "question set published": _named(found, f"{question_topic(TRACED)} publish"),
        "adapter consumes": [
            s
            for s in _named(found, f"{question_topic(TRACED)} process")
            if s.kind is trace.SpanKind.CONSUMER
        ],
        "answer published": _named(found, f"{answer_topic(TRACED)} publish"),
        "municipality consumes": _named(found, f"{answer_topic(TRACED)} process", "iaj.handlers"),
        "result published": _named(found, f"{RESULTS} publish"),
    }
    missing = [step for step, found_spans in chain.items() if not found_spans]
    assert not missing, f"no span for {missing}: {sorted({s.name for s in found})}"
    (trace_id,) = {s.context.trace_id for s in chain["command"]}
    for step, step_spans in chain.items():
        assert trace_id in {s.context.trace_id for s in step_spans}, step
    # The command's span continues the backend's publish: the trace began there.
    (command_span,) = chain["command"]
    assert command_span.parent is not None
    assert command_span.parent.is_remote

    # The processing log's entries of the round carry the same trace id (LDV <-> tracing).
    traced = {e.action: e.trace_id for e in entries if e.partner == TRACED.value}
    assert traced, "no processing log entry for the traced partner"
    assert set(traced.values()) == {format(trace_id, "032x")}


def _nee(question: Question) -> AnswerItem:
    return AnswerItem(question_id=question.question_id, antwoord=YesNo.NEE)


class _AllNee:
    """A partner system that knows no one: nee to every question."""

    async def lookup(self, request: LookupRequest) -> Sequence[LookupAnswer]:
        return [_nee(q) for q in request.questions]
