"""Richer answers are refused and leave no content; unreadable messages are dead-lettered."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

import handlers.answers
from broker.service.municipal import MunicipalService
from broker.settings import ServiceSettings
from contracts.enums import Colour, Partner
from contracts.messages import PartnerAnswer, QuestionSet, RefusalNotice
from contracts.topics import DEADLETTER, answer_topic, question_topic, refusal_topic
from contracts.wire import decode, encode
from handlers.answer_signatures import PartnerKeys
from handlers.answers import AnswerReport
from handlers.db.migrate import upgrade
from handlers.db.tables import OutboxRow
from handlers.db.uow import UnitOfWork
from handlers.dead_letters import Delivery
from handlers.rounds import OpenRound
from tests.integration.broker.service.conftest import add_case
from tests.integration.broker.service.dbcheck import all_text, count, counted
from tests.integration.broker.service.partners import FakePartners, permitted_answer, read_topic
from tests.support.signing import sign

pytestmark = pytest.mark.integration

SECRET = "GEHEIM-detail-dat-niet-mag-7f3a"
GROEN_FIRST_WAVE = {Partner.VERWIJSINDEX, Partner.LEERPLICHT, Partner.SWT}


async def _groen_round(service: MunicipalService, partners: FakePartners) -> list[QuestionSet]:
    case_id = await add_case(service)
    await service.open_round(OpenRound(case_id=case_id, colour=Colour.GROEN, actor="test"))
    return await partners.question_sets(lambda got: {q.partner for q in got} >= GROEN_FIRST_WAVE)


async def test_a_richer_answer_is_refused_and_nothing_of_it_is_stored(
    service: MunicipalService, clean_kafka: str
) -> None:
    async with FakePartners(clean_kafka) as partners:
        sets = await _groen_round(service, partners)
        swt = next(qs for qs in sets if qs.partner is Partner.SWT)
        (question,) = swt.questions
        refused_id = await partners.send_items(
            swt,
            [{"question_id": str(question.question_id), "antwoord": "ja", "toelichting": SECRET}],
        )
        (record,) = await read_topic(clean_kafka, refusal_topic(Partner.SWT), 1)
        notice = decode(record.value)
        assert isinstance(notice, RefusalNotice)
        assert (notice.partner, notice.in_reply_to) == (Partner.SWT, refused_id)
        (item,) = notice.items
        assert item.question_id == question.question_id
        assert (notice.reason, item.field, notice.colour) == (
            "field_not_permitted",
            "toelichting",
            Colour.GROEN,
        )
        assert SECRET.encode() not in record.value, "the notice never echoes the content"
        assert await count(service.sessions, "answers") == 0
        assert SECRET not in await all_text(service.sessions)

        # The question stays open for a correct answer.
        await partners.answer(swt)
    assert await counted(service.sessions, "answers", 1) == 1
    assert await count(service.sessions, "refusals") == 1


async def test_an_answer_on_another_partners_topic_is_refused(
    service: MunicipalService, clean_kafka: str
) -> None:
    async with FakePartners(clean_kafka) as partners:
        sets = await _groen_round(service, partners)
        swt = next(qs for qs in sets if qs.partner is Partner.SWT)
        item = permitted_answer(swt.questions[0]).model_dump(mode="json", exclude_none=True)
        # On SWT's topic, a message that says it comes from Leerplicht.
        message = swt.model_copy(update={"partner": Partner.LEERPLICHT})
        await partners.send_items(message, [item], via=Partner.SWT)
        (record,) = await read_topic(clean_kafka, refusal_topic(Partner.SWT), 1)
    notice = decode(record.value)
    assert isinstance(notice, RefusalNotice)
    assert notice.reason == "wrong_partner"
    assert notice.partner is Partner.SWT, "told to the partner whose topic it came on"
    assert await count(service.sessions, "answers") == 0

    async with FakePartners(clean_kafka) as partners:
        # On its own topic, Leerplicht cannot answer a question asked of SWT either.
        await partners.send_items(message, [item])
        records = await read_topic(clean_kafka, refusal_topic(Partner.LEERPLICHT), 1)
    last = decode(records[-1].value)
    assert isinstance(last, RefusalNotice)
    assert last.reason == "unknown_question_set"  # it replies to SWT's question set
    assert await count(service.sessions, "answers") == 0


async def test_a_poison_message_is_dead_lettered_and_the_next_answer_still_processed(
    service: MunicipalService, clean_kafka: str
) -> None:
    async with FakePartners(clean_kafka) as partners:
        sets = await _groen_round(service, partners)
        leerplicht = next(qs for qs in sets if qs.partner is Partner.LEERPLICHT)
        await partners.send(Partner.LEERPLICHT, b"\x00not json at all", leerplicht.round_id)
        await partners.send(Partner.LEERPLICHT, b'{"type": "gossip"}', leerplicht.round_id)
        await partners.answer(leerplicht)
        letters = await read_topic(clean_kafka, DEADLETTER, 2)
    reasons = [dict(r.headers)["dlq_reason"] for r in letters]
    assert [reason.decode() for reason in reasons] == ["not_json", "unknown_type"]
    assert {dict(r.headers)["dlq_source_topic"] for r in letters} == {
        answer_topic(Partner.LEERPLICHT).encode()
    }
    assert letters[0].value == b"\x00not json at all", "the dead letter keeps the bytes"
    assert await counted(service.sessions, "dead_letters", 2) == 2
    assert await counted(service.sessions, "answers", 1) == 1


async def test_a_message_that_fails_inside_a_batch_costs_only_itself(
    settings: ServiceSettings, clean_kafka: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug triggered by one message rolls its whole batch back; the batch is then processed
    one message at a time, so the failing one is dead-lettered and the others still count."""
    service = MunicipalService(settings)  # started below, once the answers wait on Kafka
    await upgrade(service.engine)
    case_id = await add_case(service)
    await service.open_round(OpenRound(case_id=case_id, colour=Colour.GROEN, actor="test"))
    async with service.sessions() as session:
        payloads = await session.scalars(
            select(OutboxRow.payload).where(OutboxRow.topic == question_topic(Partner.LEERPLICHT))
        )
        (leerplicht,) = [decode(p) for p in payloads]
    assert isinstance(leerplicht, QuestionSet)
    answers = tuple(permitted_answer(q) for q in leerplicht.questions)
    envelope: dict[str, Any] = {
        "round_id": leerplicht.round_id,
        "correlation_id": leerplicht.correlation_id,
        "policy": leerplicht.policy,
        "partner": Partner.LEERPLICHT,
        "in_reply_to": leerplicht.message_id,
        "answers": answers,
    }
    poisoned, good = PartnerAnswer(**envelope), PartnerAnswer(**envelope)
    async with FakePartners(clean_kafka, partners=[Partner.LEERPLICHT]) as partners:
        for message in (poisoned, good):  # one partition, one after the other: one batch
            await partners.send(
                Partner.LEERPLICHT, sign(Partner.LEERPLICHT, encode(message)), leerplicht.round_id
            )

    batches: list[int] = []
    real = handlers.answers.handle_answers

    async def failing_on_the_poisoned(
        uow: UnitOfWork,
        messages: list[tuple[bytes, Delivery]],
        now: dt.datetime,
        keys: PartnerKeys,
    ) -> list[AnswerReport]:
        batches.append(len(messages))
        if any(str(poisoned.message_id).encode() in raw for raw, _ in messages):
            raise RuntimeError("a bug this message triggers")
        return await real(uow, messages, now, keys)

    monkeypatch.setattr("broker.service.municipal.handle_answers", failing_on_the_poisoned)
    async with service:
        letters = await read_topic(clean_kafka, DEADLETTER, 1)
        stored = await counted(service.sessions, "answers", len(answers))
        assert stored == len(answers), "the good one counted"
    assert batches[0] == 2, "both messages arrived in one batch"
    assert batches[1:] == [1, 1], "after the failure: one by one"
    assert dict(letters[0].headers)["dlq_reason"] == b"processing_error"
    assert letters[0].value == sign(Partner.LEERPLICHT, encode(poisoned))  # as sent
    assert await count(service.sessions, "dead_letters") == 1
    await service.engine.dispose()
