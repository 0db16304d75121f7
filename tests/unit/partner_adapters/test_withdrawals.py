"""Withdrawals and subject corrections on the question topic: withdrawn questions are dropped
(never answered, never sent), a correction reaches the pending question sets."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import aiosqlite

from contracts import (
    Colour,
    Partner,
    QuestionSet,
    Subject,
    SubjectCorrection,
    SubjectRole,
    Withdrawal,
    WithdrawalReason,
    encode,
)
from partner_adapters.answering import AnsweringStatus, answer_question_set, receive, retry_pending
from partner_adapters.reference import ReferenceLookup
from partner_adapters.state import AdapterStore
from tests.unit.partner_adapters.builders import question_set
from tests.unit.partner_adapters.conftest import FAST_RETRY, OpenStore
from tests.unit.partner_adapters.lookups import FlakyLookup


def _withdrawal(
    qs: QuestionSet, question_ids: list[uuid.UUID], partner: Partner | None = None
) -> Withdrawal:
    return Withdrawal(
        round_id=qs.round_id,
        correlation_id=qs.correlation_id,
        policy=qs.policy,
        partner=partner or qs.partner,
        question_ids=tuple(question_ids),
        reason=WithdrawalReason.ROUND_CANCELLED,
    )


def _now(qs: QuestionSet) -> dt.datetime:
    return qs.created_at + dt.timedelta(minutes=1)


async def _unanswered(store: AdapterStore, qs: QuestionSet) -> None:
    """Record `qs` with every question still open (the partner's system is down)."""
    outcome = await answer_question_set(
        qs, FlakyLookup(failures=1000), store, retry=FAST_RETRY, now=_now(qs)
    )
    assert outcome.status is AnsweringStatus.UNANSWERED


async def test_a_withdrawal_drops_the_pending_questions_and_their_set(
    open_store: OpenStore, state_path: Path
) -> None:
    qs = question_set(Partner.VEILIGHEIDSHUIS, Colour.ORANJE)
    ids = [q.question_id for q in qs.questions]
    async with open_store(Partner.VEILIGHEIDSHUIS) as store:
        await _unanswered(store, qs)
        assert len(await store.open_questions(_now(qs))) == len(ids)

        # Part first: the rest stays pending, with its people.
        first = await receive(encode(_withdrawal(qs, ids[:1])), ReferenceLookup(), store)
        assert first.status is AnsweringStatus.WITHDRAWN
        assert first.dropped == (1, 0)
        still = await store.open_questions(_now(qs))
        assert [o.question.question_id for o in still] == ids[1:]

        # Then the rest: nothing pending, nothing to retry, no names kept.
        notice = _withdrawal(qs, ids[1:])
        rest = await receive(encode(notice), ReferenceLookup(), store)
        assert rest.dropped == (len(ids) - 1, 0)
        assert await store.open_questions(_now(qs)) == []
        assert await store.pending_question_sets(_now(qs)) == []
        assert await retry_pending(ReferenceLookup(), store, retry=FAST_RETRY, now=_now(qs)) == []
        assert await store.unsent() == []
        status = await store.status(_now(qs))
        assert status.question_sets_pending == 0

        # Read again (a redelivery): nothing more happens.
        again = await receive(encode(notice), ReferenceLookup(), store)
        assert again.status is AnsweringStatus.DUPLICATE
    async with (
        aiosqlite.connect(state_path) as db,
        db.execute("SELECT count(*) FROM subjects") as cursor,
    ):
        row = await cursor.fetchone()
    assert row == (0,)


async def test_an_answer_queued_for_withdrawn_questions_is_not_sent(
    open_store: OpenStore,
) -> None:
    qs = question_set(Partner.RIEC, Colour.ROOD)
    async with open_store(Partner.RIEC) as store:
        outcome = await answer_question_set(
            qs, ReferenceLookup(), store, retry=FAST_RETRY, now=_now(qs)
        )
        assert outcome.message is not None
        assert len(await store.unsent()) == 1  # answered, not yet on Kafka

        withdrawn = await receive(
            encode(_withdrawal(qs, [q.question_id for q in qs.questions])),
            ReferenceLookup(),
            store,
        )

        assert withdrawn.dropped == (0, 1)
        assert await store.unsent() == []


async def test_a_withdrawal_for_another_partner_is_rejected(open_store: OpenStore) -> None:
    qs = question_set(Partner.OM, Colour.ORANJE)
    async with open_store(Partner.OM) as store:
        await _unanswered(store, qs)
        notice = _withdrawal(qs, [qs.questions[0].question_id], partner=Partner.RN)
        outcome = await receive(encode(notice), ReferenceLookup(), store)
        assert outcome.status is AnsweringStatus.REJECTED
        assert len(await store.open_questions(_now(qs))) == len(qs.questions)


async def test_a_subject_correction_reaches_the_pending_question_set(
    open_store: OpenStore,
) -> None:
    qs = question_set(Partner.SWT, Colour.GROEN)
    youth = next(s for s in qs.subjects if s.role is SubjectRole.JONGERE)
    async with open_store(Partner.SWT) as store:
        await _unanswered(store, qs)
        correction = SubjectCorrection(
            round_id=qs.round_id,
            correlation_id=qs.correlation_id,
            policy=qs.policy,
            partner=Partner.SWT,
            subject=Subject(
                subject_ref="jongere",
                role=SubjectRole.JONGERE,
                naam="Sem Gecorrigeerd",
                geboortedatum=youth.geboortedatum,
            ),
            corrected=("naam",),
        )

        outcome = await receive(encode(correction), ReferenceLookup(), store)

        assert (outcome.status, outcome.corrected_sets) == (AnsweringStatus.CORRECTED, 1)
        (pending,) = await store.pending_question_sets(_now(qs))
        (subject,) = [s for s in pending.subjects if s.subject_ref == "jongere"]
        assert (subject.naam, subject.geboortedatum) == ("Sem Gecorrigeerd", youth.geboortedatum)
        again = await receive(encode(correction), ReferenceLookup(), store)
        assert again.status is AnsweringStatus.DUPLICATE
