"""Completing a round: when its last pending question is answered, or when its deadline passes.
Either way exactly one result goes into the outbox, however often the trigger repeats."""

from __future__ import annotations

import datetime as dt
import uuid

from contracts.enums import Colour, Partner, YesNo
from contracts.errors import RefusalReason
from contracts.messages import (
    AnswerItem,
    Completion,
    OutcomeStatus,
    PartnerAnswer,
    QuestionSet,
    RoundResult,
)
from contracts.topics import RESULTS, message_key
from contracts.wire import decode
from handlers.answers import AnswerReport
from handlers.completion import complete_round, expire_overdue
from handlers.db.tables import AnswerRow, LateAnswerRow, QuestionRow
from handlers.db.uow import UnitOfWork
from handlers.states import QuestionStatus, RoundState
from tests.unit.handlers.builders import (
    DEADLINE,
    NOW,
    POLICY,
    Batch,
    Sessions,
    all_rows,
    answer_to,
    delivered,
    new_round,
    outbox,
    process,
    question_set_of,
    question_sets,
    question_statuses,
    refusal_notices,
    results,
    round_row,
    snapshot,
)

DEPENDENT = next(a for a in POLICY.asked(Colour.GROEN) if a.after is not None)
assert DEPENDENT.after is not None
PARENT = DEPENDENT.after.partner
# The answer to the parent question that leaves the dependent one not applicable.
DROPS_DEPENDENT = next(a for a in YesNo if a != DEPENDENT.after.answer)


def _answers(sets: list[QuestionSet], parent_says: YesNo) -> Batch:
    """Every partner answers its whole question set (the parent partner with `parent_says`)."""
    return [
        delivered(answer_to(qs, parent_says if qs.partner is PARENT else YesNo.JA), qs.partner)
        for qs in sets
    ]


def _sent(batch: Batch) -> dict[uuid.UUID, AnswerItem]:
    """The answer items in the batch, by question id (as a result carries them: without
    the partner's signature)."""
    items: dict[uuid.UUID, AnswerItem] = {}
    for raw, _ in batch:
        message = decode(raw)
        assert isinstance(message, PartnerAnswer)
        items.update(
            {
                item.question_id: item.model_copy(update={"signature": None})
                for item in message.answers
            }
        )
    return items


def _outcomes(result: RoundResult) -> dict[tuple[Partner, str, str], OutcomeStatus]:
    return {
        (p.partner, q.key, q.subject_ref): q.status for p in result.partners for q in p.questions
    }


async def test_the_last_answer_completes_the_round_with_exactly_one_result(
    sessions: Sessions,
) -> None:
    round_id = await new_round(sessions, Colour.GROEN)
    sets = await question_sets(sessions, round_id)
    batch = _answers(sets, DROPS_DEPENDENT)

    reports = await process(sessions, batch)

    # Only the message that answered the last pending question completed the round.
    assert [r.completed for r in reports] == [False] * (len(batch) - 1) + [True]
    row = await round_row(sessions, round_id)
    assert (row.state, row.completed_at) == (RoundState.COMPLETE, NOW)
    (result,) = await results(sessions, round_id)
    assert (result.completion, result.completed_at, result.opened_at) == (
        Completion.COMPLETE,
        NOW,
        row.opened_at,
    )
    assert (str(result.case_id), result.colour) == (row.case_id, Colour.GROEN)
    sent = _sent(batch)
    expected = {
        (a.partner, a.key, "jongere"): OutcomeStatus.NOT_APPLICABLE
        if a == DEPENDENT
        else OutcomeStatus.ANSWERED
        for a in POLICY.asked(Colour.GROEN)
    }
    assert _outcomes(result) == expected
    for partner_result in result.partners:
        for outcome in partner_result.questions:
            if outcome.status is OutcomeStatus.ANSWERED:
                assert outcome.question_id is not None
                assert outcome.answer == sent[outcome.question_id]  # as the partner sent it
            else:  # never issued: no id a partner would know, no answer
                assert (outcome.question_id, outcome.answer) == (None, None)
    (row_out,) = await outbox(sessions, RESULTS)
    assert (row_out.message_id, row_out.key) == (
        str(result.message_id),
        message_key(result.round_id),
    )
    assert row_out.headers["correlation_id"] == str(result.correlation_id)

    # The whole batch once more (a crash before the ack): still one result.
    assert await process(sessions, batch) == [AnswerReport(duplicate=True)] * len(batch)
    assert len(await results(sessions, round_id)) == 1


async def test_a_round_waits_for_a_question_its_answers_opened(sessions: Sessions) -> None:
    assert DEPENDENT.after is not None
    round_id = await new_round(sessions, Colour.GROEN)
    sets = await question_sets(sessions, round_id)

    # One message per batch, as they might trickle in; the parent's answer opens the dependent.
    for message in _answers(sets, DEPENDENT.after.answer):
        (report,) = await process(sessions, [message])
        assert not report.completed
    assert (await round_row(sessions, round_id)).state == RoundState.OPEN
    assert await results(sessions, round_id) == []

    dependent_set = question_set_of(await question_sets(sessions, round_id), DEPENDENT.partner)
    (report,) = await process(sessions, [delivered(answer_to(dependent_set), DEPENDENT.partner)])

    assert report.completed
    (result,) = await results(sessions, round_id)
    assert result.completion is Completion.COMPLETE
    assert set(_outcomes(result).values()) == {OutcomeStatus.ANSWERED}
    assert len(_outcomes(result)) == len(POLICY.asked(Colour.GROEN))


async def test_an_answer_after_completion_is_recorded_as_late_and_not_merged(
    sessions: Sessions,
) -> None:
    round_id = await new_round(sessions, Colour.GROEN)
    sets = await question_sets(sessions, round_id)
    await process(sessions, _answers(sets, DROPS_DEPENDENT))
    stored = await all_rows(sessions, AnswerRow)
    swt = question_set_of(sets, Partner.SWT)

    # The SWT changes its mind, in a new message, after the result went out.
    late = answer_to(swt, YesNo.NEE)
    (report,) = await process(
        sessions, [delivered(late, Partner.SWT)], now=NOW + dt.timedelta(days=1)
    )

    assert report == AnswerReport(
        late=len(swt.questions), refused=[RefusalReason.LATE] * len(swt.questions)
    )
    (notice,) = await refusal_notices(sessions, Partner.SWT)  # the partner is told
    assert notice.reason is RefusalReason.LATE
    assert sorted(
        (r.question_id, r.message_id) for r in await all_rows(sessions, LateAnswerRow)
    ) == sorted((str(q.question_id), str(late.message_id)) for q in swt.questions)
    assert [(a.id, a.content) for a in await all_rows(sessions, AnswerRow)] == [
        (a.id, a.content) for a in stored
    ]
    assert len(await results(sessions, round_id)) == 1


async def test_nothing_expires_before_the_deadline(sessions: Sessions) -> None:
    await new_round(sessions, Colour.GROEN)
    before = await snapshot(sessions)

    async with UnitOfWork(sessions) as uow:
        assert await expire_overdue(uow, NOW + DEADLINE - dt.timedelta(microseconds=1)) == []
        await uow.commit()

    assert await snapshot(sessions) == before
    assert not uow.committed_outbox  # the relay is not woken for nothing


async def test_at_the_deadline_a_round_completes_with_what_it_has(sessions: Sessions) -> None:
    round_id = await new_round(sessions, Colour.GROEN)
    sets = await question_sets(sessions, round_id)
    leerplicht = question_set_of(sets, Partner.LEERPLICHT)
    await process(sessions, [delivered(answer_to(leerplicht), Partner.LEERPLICHT)])
    deadline = (await round_row(sessions, round_id)).deadline

    async with UnitOfWork(sessions) as uow:
        assert await expire_overdue(uow, deadline) == [round_id]  # the deadline itself counts
        await uow.commit()

    assert uow.committed_outbox
    row = await round_row(sessions, round_id)
    assert (row.state, row.completed_at) == (RoundState.DEADLINE, deadline)
    expected = {
        (a.partner.value, a.key, "jongere"): QuestionStatus.ANSWERED
        if a.partner is Partner.LEERPLICHT
        else QuestionStatus.NOT_APPLICABLE  # still waiting on an answer that never came
        if a == DEPENDENT
        else QuestionStatus.EXPIRED
        for a in POLICY.asked(Colour.GROEN)
    }
    assert await question_statuses(sessions, round_id) == expected
    assert {
        q.closed_at for q in await all_rows(sessions, QuestionRow) if q.partner != "leerplicht"
    } == {deadline}
    (result,) = await results(sessions, round_id)
    assert result.completion is Completion.DEADLINE
    assert _outcomes(result) == {
        (Partner(partner), key, ref): OutcomeStatus(status)
        for (partner, key, ref), status in expected.items()
    }
    answered = [
        q for p in result.partners for q in p.questions if q.status is OutcomeStatus.ANSWERED
    ]
    assert {q.question_id for q in answered if q.answer} == {
        q.question_id for q in leerplicht.questions
    }

    # Later passes of the deadline watch find nothing more to do.
    async with UnitOfWork(sessions) as uow:
        assert await expire_overdue(uow, deadline + dt.timedelta(hours=1)) == []
        await uow.commit()
    assert len(await results(sessions, round_id)) == 1


async def test_only_open_rounds_past_their_deadline_expire(sessions: Sessions) -> None:
    overdue = await new_round(sessions, Colour.GROEN)
    later = await new_round(sessions, Colour.ORANJE, now=NOW + dt.timedelta(days=5))
    completed = await new_round(sessions, Colour.GROEN)
    await process(sessions, _answers(await question_sets(sessions, completed), DROPS_DEPENDENT))

    async with UnitOfWork(sessions) as uow:
        assert await expire_overdue(uow, NOW + DEADLINE) == [overdue]
        await uow.commit()

    states = {r: (await round_row(sessions, r)).state for r in (overdue, later, completed)}
    assert states == {
        overdue: RoundState.DEADLINE,
        later: RoundState.OPEN,
        completed: RoundState.COMPLETE,
    }
    assert [len(await results(sessions, r)) for r in (overdue, later, completed)] == [1, 0, 1]
    assert len(await outbox(sessions, RESULTS)) == 2


async def test_a_completion_decided_on_a_stale_view_publishes_nothing(sessions: Sessions) -> None:
    round_id = await new_round(sessions, Colour.GROEN)
    stale = await round_row(sessions, round_id)  # read while the round was still open
    assert stale.state == RoundState.OPEN
    async with UnitOfWork(sessions) as uow:
        assert await expire_overdue(uow, NOW + DEADLINE) == [round_id]
        await uow.commit()
    before = await snapshot(sessions)

    # The other of two racing completions: its round row still says open.
    async with UnitOfWork(sessions) as uow:
        assert not await complete_round(uow, stale, Completion.COMPLETE, NOW + DEADLINE)
        await uow.commit()

    assert await snapshot(sessions) == before
    assert (await round_row(sessions, round_id)).state == RoundState.DEADLINE
    (result,) = await results(sessions, round_id)
    assert result.completion is Completion.DEADLINE
