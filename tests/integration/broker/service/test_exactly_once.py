"""Exactly-once effect over at-least-once delivery: duplicates, redelivery, restarts."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from broker.service.municipal import MunicipalService
from broker.settings import ServiceSettings
from contracts.enums import Colour, Partner
from contracts.messages import OpenRoundCommand, OutcomeStatus, PartnerAnswer
from contracts.topics import COMMANDS, message_key
from contracts.wire import encode
from handlers.rounds import OpenRound
from tests.integration.broker.service.conftest import add_case
from tests.integration.broker.service.dbcheck import count
from tests.integration.broker.service.partners import FakePartners
from tests.support.signing import sign

pytestmark = pytest.mark.integration

GROEN_FIRST_WAVE = {Partner.VERWIJSINDEX, Partner.LEERPLICHT, Partner.SWT}


async def test_duplicate_and_redelivered_answers_are_counted_once(
    service: MunicipalService, clean_kafka: str
) -> None:
    case_id = await add_case(service)
    await service.open_round(OpenRound(case_id=case_id, colour=Colour.GROEN, actor="test"))
    async with FakePartners(clean_kafka) as partners:
        sets = await partners.question_sets(
            lambda got: {q.partner for q in got} >= GROEN_FIRST_WAVE
        )
        leerplicht = next(qs for qs in sets if qs.partner is Partner.LEERPLICHT)
        first = await partners.answer(leerplicht)
        # The same message again (a producer retry), and the same answer under a new id.
        await partners.send(
            Partner.LEERPLICHT, sign(Partner.LEERPLICHT, encode(first)), leerplicht.round_id
        )
        again = PartnerAnswer(**{**first.model_dump(), "message_id": uuid.uuid4()})
        await partners.send(
            Partner.LEERPLICHT, sign(Partner.LEERPLICHT, encode(again)), leerplicht.round_id
        )
        for qs in sets:
            if qs.partner is not Partner.LEERPLICHT:
                await partners.answer(qs)
        cjg = await partners.question_sets(lambda got: Partner.CJG in {q.partner for q in got})
        await partners.answer(next(qs for qs in cjg if qs.partner is Partner.CJG))
        (result,) = await partners.results()
        assert await partners.no_more_results() == []
    assert await count(service.sessions, "answers") == 4  # vir, leerplicht, swt, cjg
    leerplicht_result = next(p for p in result.partners if p.partner is Partner.LEERPLICHT)
    assert [o.answer for o in leerplicht_result.questions] == list(first.answers)


async def test_a_restart_before_the_offset_commit_does_not_double_count(
    settings: ServiceSettings, clean_kafka: str
) -> None:
    """Every answer is delivered again to a service whose consumer never committed an offset
    (as after a crash between the database commit and the offset commit): nothing changes."""
    async with MunicipalService(settings) as first:
        case_id = await add_case(first, colour=Colour.ORANJE)
        await first.open_round(OpenRound(case_id=case_id, colour=Colour.ORANJE, actor="test"))
        async with FakePartners(clean_kafka) as partners:
            wave = set(first.policy.partners(Colour.ORANJE)) - {Partner.CJG}
            for qs in await partners.question_sets(lambda got: {q.partner for q in got} >= wave):
                await partners.answer(qs)
            cjg = await partners.question_sets(lambda got: Partner.CJG in {q.partner for q in got})
            await partners.answer(next(qs for qs in cjg if qs.partner is Partner.CJG))
            await partners.results()
        answers_before = await count(first.sessions, "answers")
        outbox_before = await count(first.sessions, "outbox")

    redelivery = settings.model_copy(update={"consumer_group": settings.consumer_group + "-new"})
    async with MunicipalService(redelivery) as second, FakePartners(clean_kafka) as partners:
        await asyncio.sleep(3)  # the new group reads every answer topic from the start
        assert await count(second.sessions, "answers") == answers_before
        assert await count(second.sessions, "outbox") == outbox_before, "nothing new to publish"
        assert await count(second.sessions, "refusals") == 0
        results = await partners.results(count=1)
        assert await partners.no_more_results() == [], "still exactly one result"
        assert all(
            o.status is OutcomeStatus.ANSWERED for p in results[0].partners for o in p.questions
        )


async def test_an_open_round_command_sent_twice_opens_one_round(
    service: MunicipalService, clean_kafka: str
) -> None:
    case_id = await add_case(service)
    command = OpenRoundCommand(
        round_id=uuid.uuid4(),
        correlation_id=uuid.uuid4(),
        policy=service.policy.ref,
        case_id=uuid.UUID(case_id),
        colour=Colour.GROEN,
        requested_by="regisseur-test",
    )
    async with FakePartners(clean_kafka) as partners:
        for _ in range(2):
            await partners.producer.send_and_wait(
                COMMANDS, encode(command), key=message_key(command.round_id)
            )
        sets = await partners.question_sets(
            lambda got: {q.partner for q in got} >= GROEN_FIRST_WAVE
        )
        await asyncio.sleep(1.5)
    assert await count(service.sessions, "rounds") == 1
    assert {qs.round_id for qs in sets} == {command.round_id}
    assert len(sets) == len(GROEN_FIRST_WAVE)
