"""A partner that cannot reach its own system answers nothing rather than something wrong."""

from __future__ import annotations

import json
from collections.abc import Sequence

from contracts import Colour, Partner, RefusalReason
from partner_adapters.answering import AnsweringStatus, answer_question_set, retry_pending
from partner_adapters.lookup import LookupAnswer, LookupRequest
from partner_adapters.lookup_runner import LookupRetry
from partner_adapters.reference import ReferenceLookup, shape_answer
from tests.unit.partner_adapters.builders import SEM, question_set
from tests.unit.partner_adapters.conftest import FAST_RETRY, OpenStore
from tests.unit.partner_adapters.lookups import (
    BrokenLookup,
    FlakyLookup,
    ScriptedLookup,
    SlowLookup,
)


async def test_a_briefly_unavailable_system_is_retried(open_store: OpenStore) -> None:
    lookup = FlakyLookup(failures=2)
    async with open_store(Partner.RN) as store:
        outcome = await answer_question_set(
            question_set(Partner.RN, Colour.ROOD), lookup, store, retry=FAST_RETRY
        )
    assert lookup.calls == 3
    assert outcome.status is AnsweringStatus.ANSWERED


async def test_an_unavailable_system_is_recorded_and_everything_stays_open(
    open_store: OpenStore,
) -> None:
    lookup = FlakyLookup(failures=99)
    qs = question_set(Partner.RN, Colour.ROOD)
    async with open_store(Partner.RN) as store:
        outcome = await answer_question_set(qs, lookup, store, retry=FAST_RETRY)
        status = await store.status(qs.created_at)
        pending = await store.open_questions(qs.created_at)
        assert await store.unsent() == []

    assert lookup.calls == FAST_RETRY.attempts
    assert outcome.status is AnsweringStatus.UNANSWERED
    assert outcome.message is None
    assert outcome.lookup_failure is not None
    assert (outcome.lookup_failure.kind, outcome.lookup_failure.attempts) == (
        "LookupUnavailable",
        FAST_RETRY.attempts,
    )
    assert (status.lookup_failures, status.question_sets_pending) == (1, 1)
    assert {oq.question.question_id for oq in pending} == {q.question_id for q in qs.questions}


async def test_retry_answers_what_a_failed_lookup_left_open(open_store: OpenStore) -> None:
    qs = question_set(Partner.RN, Colour.ROOD)
    async with open_store(Partner.RN) as store:
        await answer_question_set(qs, FlakyLookup(failures=99), store, retry=FAST_RETRY)
    async with open_store(Partner.RN) as store:
        [outcome] = await retry_pending(ReferenceLookup(), store, retry=FAST_RETRY)
        again = await retry_pending(ReferenceLookup(), store, retry=FAST_RETRY)
        status = await store.status(qs.created_at)

    assert outcome.status is AnsweringStatus.ANSWERED
    assert outcome.message is not None
    assert outcome.message.in_reply_to == qs.message_id
    assert len(outcome.message.answers) == len(qs.questions)
    assert again == []
    assert (status.question_sets_answered, status.questions_open) == (1, 0)


async def test_a_defect_in_the_lookup_is_not_retried_and_its_message_not_kept(
    open_store: OpenStore,
) -> None:
    lookup = BrokenLookup(KeyError(SEM.naam))  # an error message naming the person
    qs = question_set(Partner.OM, Colour.ORANJE)
    async with open_store(Partner.OM) as store:
        outcome = await answer_question_set(qs, lookup, store, retry=FAST_RETRY)
        status = await store.status(qs.created_at)

    assert lookup.calls == 1
    assert outcome.lookup_failure is not None
    assert outcome.lookup_failure.kind == "KeyError"
    assert SEM.naam not in repr(status)


async def test_a_lookup_that_takes_too_long_counts_as_unavailable(open_store: OpenStore) -> None:
    retry = LookupRetry(attempts=2, wait_initial_seconds=0, timeout_seconds=0.05)
    async with open_store(Partner.OM) as store:
        outcome = await answer_question_set(
            question_set(Partner.OM, Colour.ORANJE), SlowLookup(), store, retry=retry
        )
    assert outcome.lookup_failure is not None
    assert (outcome.lookup_failure.kind, outcome.lookup_failure.attempts) == (
        "LookupUnavailable",
        2,
    )


async def test_a_result_that_is_not_a_list_of_answers_answers_nothing(
    open_store: OpenStore,
) -> None:
    def not_a_list(request: LookupRequest) -> Sequence[LookupAnswer]:
        return {"antwoord": "ja"}  # type: ignore[return-value]

    def odd_items(request: LookupRequest) -> Sequence[LookupAnswer]:
        return [shape_answer(request.questions[0], None), "ja"]  # type: ignore[list-item]

    async with open_store(Partner.WSG) as store:
        for script in (not_a_list, odd_items):
            qs = question_set(Partner.WSG, Colour.ROOD)
            outcome = await answer_question_set(qs, ScriptedLookup(script), store)
            assert outcome.message is None
            assert outcome.lookup_failure is not None
            assert outcome.lookup_failure.kind == "InvalidLookupResult"


async def test_a_question_left_out_stays_open(open_store: OpenStore) -> None:
    def first_only(request: LookupRequest) -> Sequence[LookupAnswer]:
        return [shape_answer(request.questions[0], None)]

    qs = question_set(Partner.JGB, Colour.ORANJE)
    async with open_store(Partner.JGB) as store:
        outcome = await answer_question_set(qs, ScriptedLookup(first_only), store)

    assert outcome.status is AnsweringStatus.PARTLY_ANSWERED
    assert outcome.message is not None
    assert [i.question_id for i in outcome.message.answers] == [qs.questions[0].question_id]
    assert set(outcome.open_questions) == {q.question_id for q in qs.questions[1:]}


async def test_two_answers_to_one_question_keep_neither(open_store: OpenStore) -> None:
    def twice(request: LookupRequest) -> Sequence[LookupAnswer]:
        q = request.questions[0]
        return [shape_answer(q, None), shape_answer(q, {"antwoord": "ja"})]

    qs = question_set(Partner.RIEC, Colour.ROOD)
    async with open_store(Partner.RIEC) as store:
        outcome = await answer_question_set(qs, ScriptedLookup(twice), store)
    assert outcome.message is None
    assert [r.reason for r in outcome.refusals] == [RefusalReason.DUPLICATE_ANSWER.value]


async def test_an_answer_to_a_question_not_asked_is_refused(open_store: OpenStore) -> None:
    stray = "6d1c2f7e-0000-4000-8000-000000000000"

    def with_stray(request: LookupRequest) -> Sequence[LookupAnswer]:
        return [
            shape_answer(request.questions[0], None),
            {"question_id": stray, "antwoord": "ja"},
        ]

    qs = question_set(Partner.RIEC, Colour.ROOD)
    async with open_store(Partner.RIEC) as store:
        outcome = await answer_question_set(qs, ScriptedLookup(with_stray), store)
    assert outcome.status is AnsweringStatus.ANSWERED
    assert [(r.reason, str(r.question_id)) for r in outcome.refusals] == [
        (RefusalReason.UNKNOWN_QUESTION.value, stray)
    ]


async def test_a_made_up_field_name_is_not_kept_verbatim(open_store: OpenStore) -> None:
    content_as_a_name = "Sem heeft schulden bij de buurman"

    def leaky(request: LookupRequest) -> Sequence[LookupAnswer]:
        q = request.questions[0]
        return [{"question_id": str(q.question_id), "antwoord": "ja", content_as_a_name: True}]

    qs = question_set(Partner.RIEC, Colour.ROOD)
    async with open_store(Partner.RIEC) as store:
        outcome = await answer_question_set(qs, ScriptedLookup(leaky), store)
        status = await store.status(qs.created_at)
    assert [r.reason for r in outcome.refusals] == [RefusalReason.EXTRA_FIELD.value]
    assert content_as_a_name not in json.dumps(repr(status))
