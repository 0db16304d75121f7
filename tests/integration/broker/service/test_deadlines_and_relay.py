"""Deadlines complete rounds; the outbox relay survives crashes and a broker outage."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import func, select

import broker.service.relay
import handlers.completion
from broker.service.kafka_admin import create_topics
from broker.service.municipal import MunicipalService
from broker.service.relay import OutboxRelay
from broker.settings import ServiceSettings
from contracts.enums import Colour, Partner
from contracts.messages import Completion, OutcomeStatus, QuestionSet
from contracts.topics import all_topics, question_topic
from contracts.wire import decode
from devtools.embedded_kafka import EmbeddedKafka, free_port
from handlers.db.migrate import upgrade
from handlers.db.tables import OutboxRow
from handlers.db.uow import UnitOfWork
from handlers.rounds import OpenRound, open_round
from tests.integration.broker.service.conftest import add_case
from tests.integration.broker.service.dbcheck import all_text, count
from tests.integration.broker.service.partners import FakePartners, read_topic
from tests.support.signing import partner_keys_dir

pytestmark = pytest.mark.integration

GROEN_FIRST_WAVE = {Partner.VERWIJSINDEX, Partner.LEERPLICHT, Partner.SWT}


async def test_the_deadline_completes_a_round_and_a_late_answer_changes_nothing(
    settings: ServiceSettings, clean_kafka: str
) -> None:
    short = settings.model_copy(update={"round_deadline": dt.timedelta(seconds=3)})
    async with MunicipalService(short) as service, FakePartners(clean_kafka) as partners:
        case_id = await add_case(service)
        await service.open_round(OpenRound(case_id=case_id, colour=Colour.GROEN, actor="test"))
        sets = await partners.question_sets(
            lambda got: {q.partner for q in got} >= GROEN_FIRST_WAVE
        )
        by_partner = {qs.partner: qs for qs in sets}
        await partners.answer(by_partner[Partner.LEERPLICHT])  # the others stay silent

        (result,) = await partners.results(within=15)
        assert result.completion is Completion.DEADLINE
        statuses = {p.partner: [o.status for o in p.questions] for p in result.partners}
        assert statuses == {
            Partner.VERWIJSINDEX: [OutcomeStatus.EXPIRED],
            Partner.LEERPLICHT: [OutcomeStatus.ANSWERED],
            Partner.CJG: [OutcomeStatus.NOT_APPLICABLE],  # its condition never resolved
            Partner.SWT: [OutcomeStatus.EXPIRED],
        }

        await partners.answer(by_partner[Partner.SWT])  # too late
        assert await partners.no_more_results(wait=2) == [], "the result is never re-published"
    assert await count(service.sessions, "late_answers") == 1
    assert await count(service.sessions, "answers") == 1


async def test_a_relay_killed_before_marking_sent_publishes_again_with_the_same_id(
    settings: ServiceSettings, clean_kafka: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = MunicipalService(settings)  # not started: only its database is used
    await upgrade(service.engine)
    case_id = await add_case(service)
    async with UnitOfWork(service.sessions) as uow:
        await open_round(
            uow,
            service.policy,
            OpenRound(case_id=case_id, colour=Colour.GROEN, actor="test"),
            now=dt.datetime.now(dt.UTC),
            deadline=dt.timedelta(days=1),
        )
        await uow.commit()
    producer = AIOKafkaProducer(bootstrap_servers=clean_kafka)
    await producer.start()
    try:
        relay = OutboxRelay(service.sessions, producer, batch_size=100, interval_seconds=0.1)

        def crash() -> dt.datetime:
            raise SystemError("relay killed between publish and marking sent")

        with monkeypatch.context() as patch:
            patch.setattr(broker.service.relay, "utc_now", crash)
            with pytest.raises(SystemError):
                await relay.publish_pending()
        assert await relay.publish_pending() == len(GROEN_FIRST_WAVE)  # again, after restart
        assert await relay.publish_pending() == 0
    finally:
        await producer.stop()
        await service.engine.dispose()

    records = await read_topic(clean_kafka, question_topic(Partner.SWT), 2)
    first, second = (decode(r.value) for r in records)
    assert isinstance(first, QuestionSet)
    assert first == second, "the re-publish is the same message, recognisable by message_id"
    assert dict(records[0].headers) == dict(records[1].headers)


async def test_the_relay_retries_while_the_broker_is_down_and_loses_nothing(
    database_url: str, unique_suffix: str, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()
    kafka = EmbeddedKafka(port=port)
    await kafka.start()
    settings = ServiceSettings(
        partner_keys_dir=partner_keys_dir(),
        kafka_bootstrap=kafka.bootstrap,
        database_url=database_url,
        consumer_group=f"iaj-municipal-{unique_suffix}",
        relay_interval_seconds=0.05,
        producer_request_timeout_ms=2000,  # a send to the vanished broker fails fast
        consumer_session_timeout_ms=1000,
        consumer_heartbeat_interval_ms=250,
    )
    service = MunicipalService(settings)
    await service.start()
    try:
        case_id = await add_case(service)
        await kafka.stop()  # the broker goes away (and, being in memory, forgets everything)
        await service.open_round(OpenRound(case_id=case_id, colour=Colour.GROEN, actor="test"))
        await _relay_failed(caplog, times=2)  # it really tried while Kafka was gone
        assert await count(service.sessions, "outbox") == len(GROEN_FIRST_WAVE)
        assert await _unsent(service) == len(GROEN_FIRST_WAVE)

        await kafka.start()
        await create_topics(kafka.bootstrap, all_topics())
        async with FakePartners(kafka.bootstrap) as partners:
            sets = await partners.question_sets(
                lambda got: {q.partner for q in got} >= GROEN_FIRST_WAVE, within=60
            )
        assert {qs.partner for qs in sets} == GROEN_FIRST_WAVE
    finally:
        await service.stop()
        await kafka.stop()


async def _relay_failed(caplog: pytest.LogCaptureFixture, times: int) -> None:
    async with asyncio.timeout(120):
        while sum("outbox relay" in r.getMessage() for r in caplog.records) < times:  # noqa: ASYNC110
            await asyncio.sleep(0.05)


async def _unsent(service: MunicipalService) -> int:
    async with service.sessions() as session:
        rows = await session.scalar(
            select(func.count()).select_from(OutboxRow).where(OutboxRow.sent_at.is_(None))
        )
    return int(rows or 0)


async def _until_all_sent(service: MunicipalService) -> None:
    async with asyncio.timeout(60):
        while await _unsent(service):  # noqa: ASYNC110 - the database offers nothing to await
            await asyncio.sleep(0.05)


async def test_the_outbox_keeps_no_copy_of_what_kafka_acknowledged(
    service: MunicipalService, clean_kafka: str
) -> None:
    case_id = await add_case(service)
    await service.open_round(OpenRound(case_id=case_id, colour=Colour.GROEN, actor="test"))
    async with FakePartners(clean_kafka) as partners:
        await partners.question_sets(lambda got: {q.partner for q in got} >= GROEN_FIRST_WAVE)
    await _until_all_sent(service)
    text = await all_text(service.sessions)
    assert "Sem Testbeek" in text, "the case itself is kept"
    assert text.count("Sem Testbeek") == 1, "but not in the published question sets"


async def test_the_deadline_watch_outlives_a_failing_pass(
    settings: ServiceSettings, clean_kafka: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pass of the deadline watch fails (a bug, not the database): it is logged, and the
    next pass still completes the round whose deadline passed."""
    failures: list[int] = []
    real = handlers.completion.expire_overdue

    async def failing_twice(uow: UnitOfWork, now: dt.datetime) -> list[str]:
        if len(failures) < 2:
            failures.append(1)
            raise RuntimeError("a bug in one pass")
        return await real(uow, now)

    monkeypatch.setattr("broker.service.municipal.expire_overdue", failing_twice)
    short = settings.model_copy(update={"round_deadline": dt.timedelta(seconds=1)})
    async with MunicipalService(short) as service, FakePartners(clean_kafka) as partners:
        case_id = await add_case(service)
        await service.open_round(OpenRound(case_id=case_id, colour=Colour.GROEN, actor="test"))
        (result,) = await partners.results(within=30)
        assert not service.halted
    assert len(failures) == 2, "the watch failed, and went on"
    assert result.completion is Completion.DEADLINE
