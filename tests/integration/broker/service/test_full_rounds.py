"""A full enrichment round for each colour, through a real broker and a real database."""

from __future__ import annotations

import uuid

import pytest

from broker.service.municipal import MunicipalService
from contracts.enums import AnswerShape, Colour, Partner, SubjectRole, YesNo
from contracts.messages import Completion, OutcomeStatus, QuestionSet
from contracts.policy import haarlem_policy
from handlers.rounds import OpenRound
from tests.integration.broker.service.conftest import add_case
from tests.integration.broker.service.partners import FakePartners, permitted_answer

pytestmark = pytest.mark.integration

POLICY = haarlem_policy()


def _partners(sets: list[QuestionSet]) -> set[Partner]:
    return {qs.partner for qs in sets}


@pytest.mark.parametrize("colour", list(Colour))
async def test_full_round_publishes_one_label_scoped_result(
    service: MunicipalService, clean_kafka: str, colour: Colour
) -> None:
    case_id = await add_case(service, colour=colour)
    round_id = await service.open_round(OpenRound(case_id=case_id, colour=colour, actor="test"))
    first_wave = set(POLICY.partners(colour)) - {Partner.CJG}

    async with FakePartners(clean_kafka) as partners:
        sets = await partners.question_sets(lambda got: _partners(got) >= first_wave)
        assert _partners(sets) == first_wave, "CJG is asked only after the Verwijsindex match"
        sent = {}
        for qs in sets:
            assert qs.round_id == uuid.UUID(round_id)
            assert qs.colour is colour
            roles = {s.role for s in qs.subjects}
            if colour is Colour.GROEN:
                assert roles == {SubjectRole.JONGERE}, "groen never names family members"
            sent[qs.partner] = await partners.answer(qs)

        cjg = await partners.question_sets(lambda got: Partner.CJG in _partners(got))
        cjg_set = next(qs for qs in cjg if qs.partner is Partner.CJG)
        assert [q.key for q in cjg_set.questions] == ["vir_match_bekend"]
        sent[Partner.CJG] = await partners.answer(cjg_set)

        (result,) = await partners.results()
        assert await partners.no_more_results() == [], "exactly one result per round"

    assert result.round_id == uuid.UUID(round_id)
    assert result.case_id == uuid.UUID(case_id)
    assert result.colour is colour
    assert result.completion is Completion.COMPLETE
    assert result.policy == POLICY.ref
    assert result.opened_at <= result.completed_at
    assert {p.partner for p in result.partners} == set(POLICY.partners(colour))
    for partner_result in result.partners:
        answers = {a.question_id: a for a in sent[partner_result.partner].answers}
        expected = POLICY.asked(colour, partner_result.partner)
        family = 0 if colour is Colour.GROEN else 2
        per_subject = sum(1 if q.subject is SubjectRole.JONGERE else family for q in expected)
        assert len(partner_result.questions) == per_subject
        for outcome in partner_result.questions:
            assert outcome.status is OutcomeStatus.ANSWERED
            assert outcome.question_id is not None
            assert outcome.answer == answers[outcome.question_id]
            shape = next(q.shape for q in expected if q.key == outcome.key)
            assert outcome.shape is shape


async def test_cjg_is_not_asked_when_the_verwijsindex_has_no_match(
    service: MunicipalService, clean_kafka: str
) -> None:
    case_id = await add_case(service)
    await service.open_round(OpenRound(case_id=case_id, colour=Colour.GROEN, actor="test"))
    wave = set(POLICY.partners(Colour.GROEN)) - {Partner.CJG}
    async with FakePartners(clean_kafka) as partners:
        sets = await partners.question_sets(lambda got: _partners(got) >= wave)
        for qs in sets:
            await partners.answer(qs, lambda q: permitted_answer(q, YesNo.NEE))
        (result,) = await partners.results()
        assert Partner.CJG not in _partners(partners.received)
    cjg = next(p for p in result.partners if p.partner is Partner.CJG)
    (outcome,) = cjg.questions
    assert outcome.status is OutcomeStatus.NOT_APPLICABLE
    assert outcome.question_id is None
    assert outcome.shape is AnswerShape.JA_NEE
    assert result.completion is Completion.COMPLETE
