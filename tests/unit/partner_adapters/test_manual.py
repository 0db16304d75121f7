"""Manual answering: the same check as a lookup's answer, one question at a time."""

from __future__ import annotations

import uuid

import pytest

from contracts import Colour, Partner, RefusalReason, YesNo
from partner_adapters.answering import answer_question_set
from partner_adapters.errors import AmbiguousQuestion, QuestionNotOpen
from partner_adapters.manual import ManualAnswerRefused, answer_manually, find_open_question
from partner_adapters.reference import OversharingLookup
from tests.unit.partner_adapters.builders import question_set
from tests.unit.partner_adapters.conftest import FAST_RETRY, OpenStore


async def test_a_question_refused_at_source_can_be_answered_by_hand(
    open_store: OpenStore,
) -> None:
    qs = question_set(Partner.LEERPLICHT, Colour.GROEN)
    [question] = qs.questions
    async with open_store(Partner.LEERPLICHT) as store:
        outcome = await answer_question_set(qs, OversharingLookup(), store, retry=FAST_RETRY)
        assert outcome.message is None
        [pending] = await store.open_questions(qs.created_at)
        assert pending.last_refusal is not None
        assert (pending.last_refusal.reason, pending.last_refusal.field) == (
            RefusalReason.FIELD_NOT_PERMITTED.value,
            "toelichting",
        )
        assert pending.subject is not None
        assert pending.subject.naam == qs.subjects[0].naam

        found = await find_open_question(store, str(question.question_id)[:8])
        message = await answer_manually(store, found, {"antwoord": "ja"})
        assert await store.open_questions(qs.created_at) == []
        with pytest.raises(QuestionNotOpen):
            await find_open_question(store, str(question.question_id))
        unsent = await store.unsent()

    assert message.in_reply_to == qs.message_id
    assert [(i.question_id, i.antwoord) for i in message.answers] == [
        (question.question_id, YesNo.JA)
    ]
    assert unsent[-1].message_id == message.message_id


async def test_a_richer_manual_answer_is_refused_recorded_and_not_sent(
    open_store: OpenStore,
) -> None:
    qs = question_set(Partner.LEERPLICHT, Colour.GROEN)
    async with open_store(Partner.LEERPLICHT) as store:
        await answer_question_set(qs, OversharingLookup(), store, retry=FAST_RETRY)
        [found] = await store.open_questions(qs.created_at)
        with pytest.raises(ManualAnswerRefused, match="toelichting") as refused:
            await answer_manually(store, found, {"antwoord": "ja", "toelichting": "te veel"})
        status = await store.status(qs.created_at)
        still_open = await store.open_questions(qs.created_at)
        unsent = await store.unsent()

    assert refused.value.refusal.source.value == "manual"
    assert status.refused_at_source == 2  # the lookup's, then the person's
    assert len(still_open) == 1
    assert unsent == []


async def test_a_question_id_asked_in_two_sets_needs_the_set(open_store: OpenStore) -> None:
    qs = question_set(Partner.RIEC, Colour.ROOD)
    re_ask = qs.model_copy(update={"message_id": uuid.uuid4()})
    [question] = qs.questions
    async with open_store(Partner.RIEC) as store:
        for asked in (qs, re_ask):
            await answer_question_set(asked, OversharingLookup(), store, retry=FAST_RETRY)
        with pytest.raises(AmbiguousQuestion):
            await find_open_question(store, str(question.question_id))
        found = await find_open_question(
            store, str(question.question_id), question_set_ref=str(re_ask.message_id)[:8]
        )
    assert found.question_set_id == re_ask.message_id
