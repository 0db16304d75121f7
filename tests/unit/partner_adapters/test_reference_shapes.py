"""The reference lookups answer every partner, in every colour it is asked, with exactly the
shape each question permits; the over-sharing one is stopped at source."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from contracts import (
    AnswerItem,
    AnswerShape,
    Colour,
    Partner,
    QuestionSet,
    YesNo,
    check_answer,
    permitted_fields,
)
from partner_adapters.answering import AnsweringStatus, answer_question_set
from partner_adapters.reference import CAST, OversharingLookup, ReferenceLookup, load_records
from tests.unit.partner_adapters.builders import DAAN, POLICY, SEM, asked_pairs, question_set
from tests.unit.partner_adapters.conftest import FAST_RETRY, OpenStore

CONTENT_FIELDS = ("met_wie", "domeinen", "toelichting", "detail")


def _content(item: AnswerItem) -> set[str]:
    return {f for f in CONTENT_FIELDS if getattr(item, f) not in (None, (), {}, "")}


def _answers_by_question(qs: QuestionSet, items: tuple[AnswerItem, ...]) -> dict[str, AnswerItem]:
    return {str(i.question_id): i for i in items}


@pytest.mark.parametrize(("partner", "colour"), asked_pairs(), ids=lambda v: str(v))
async def test_reference_answers_with_exactly_the_permitted_shape(
    partner: Partner, colour: Colour, open_store: OpenStore
) -> None:
    qs = question_set(partner, colour)
    async with open_store(partner) as store:
        outcome = await answer_question_set(qs, ReferenceLookup(), store, retry=FAST_RETRY)

    assert outcome.status is AnsweringStatus.ANSWERED
    assert outcome.refusals == ()
    assert outcome.message is not None
    answers = _answers_by_question(qs, outcome.message.answers)
    assert set(answers) == {str(q.question_id) for q in qs.questions}
    family_ja = 0
    for question in qs.questions:
        item = answers[str(question.question_id)]
        assert check_answer(question, item, colour) == item
        allowed = permitted_fields(question.shape)
        if question.subject_ref == "jongere":
            # Sem is known everywhere with everything: a 'ja' carrying all the shape permits.
            assert item.antwoord is YesNo.JA
            assert _content(item) == allowed
            if question.shape is AnswerShape.DETAIL:
                assert item.detail is not None
                assert set(item.detail) == {f.name for f in question.detail_fields}
        else:
            assert _content(item) <= allowed
            assert item.antwoord is YesNo.JA or _content(item) == set()
            family_ja += item.antwoord is YesNo.JA
    if any(q.subject_ref != "jongere" for q in qs.questions):
        assert family_ja > 0, "the data should exercise a 'ja' about a family member"


@pytest.mark.parametrize(("partner", "colour"), asked_pairs(), ids=lambda v: str(v))
async def test_an_unknown_person_gets_a_plain_nee(
    partner: Partner, colour: Colour, open_store: OpenStore
) -> None:
    qs = question_set(partner, colour, youth=DAAN, family=())
    async with open_store(partner) as store:
        outcome = await answer_question_set(qs, ReferenceLookup(), store, retry=FAST_RETRY)

    assert outcome.message is not None
    assert {(i.antwoord, frozenset(_content(i))) for i in outcome.message.answers} == {
        (YesNo.NEE, frozenset())
    }


@pytest.mark.parametrize(("partner", "colour"), asked_pairs(), ids=lambda v: str(v))
async def test_oversharing_is_stopped_at_source(
    partner: Partner, colour: Colour, open_store: OpenStore
) -> None:
    secret = "OVERSHARED-TEXT-THAT-MUST-NOT-LEAVE"
    lookup = OversharingLookup(toelichting=secret, extra_detail={"dossiernummer": "X-1"})
    qs = question_set(partner, colour)
    async with open_store(partner) as store:
        outcome = await answer_question_set(qs, lookup, store, retry=FAST_RETRY)
        status = await store.status(qs.created_at)

    sent = [] if outcome.message is None else list(outcome.message.answers)
    for item in sent:
        question = next(q for q in qs.questions if q.question_id == item.question_id)
        assert _content(item) <= permitted_fields(question.shape)
        if question.shape is not AnswerShape.JA_NEE_TOELICHTING:
            assert secret not in item.model_dump_json()
    # Sem's every 'ja' over-shares unless the question permits exactly a toelichting.
    sem_questions = [q for q in qs.questions if q.subject_ref == "jongere"]
    overshared = [q for q in sem_questions if q.shape is not AnswerShape.JA_NEE_TOELICHTING]
    refused = {r.question_id for r in outcome.refusals}
    assert {q.question_id for q in overshared} <= refused
    assert set(outcome.open_questions) == refused
    assert status.refused_at_source == len(outcome.refusals)
    assert secret not in json.dumps([r.refusal.__repr__() for r in status.recent_refusals])


def test_every_partner_has_reference_data_about_invented_people_only() -> None:
    cast = {(p.naam, p.geboortedatum) for p in CAST}
    files = resources.files("partner_adapters.reference").joinpath("data")
    assert {f.name for f in files.iterdir() if f.name.endswith(".json")} == {
        f"{p.value}.json" for p in Partner
    }
    for partner in Partner:
        records = load_records(partner)
        keys = {q.key for q in POLICY.questions if q.partner is partner}
        for person in records.persons:
            assert (person.naam, person.geboortedatum) in cast
            assert set(person.records) <= keys, f"{partner}: a key the policy does not ask"


def test_sem_is_in_every_partners_data() -> None:
    for partner in Partner:
        names = {p.naam for p in load_records(partner).persons}
        assert SEM.naam in names
