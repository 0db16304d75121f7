"""Op- en afschalen and cancelling a round, through the use cases, on SQLite and PostgreSQL.

Each test tries to break one rule: a question asked twice after opschalen, rood detail left
behind after afschalen, a withdrawn or cancelled question whose late answer is kept.
"""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from contracts.enums import AnswerShape, Colour, Criterion, Partner, YesNo
from contracts.messages import (
    Completion,
    OutcomeStatus,
    QuestionSet,
    RoundResult,
    Withdrawal,
    WithdrawalReason,
)
from contracts.topics import RESULTS, question_topic
from contracts.wire import decode
from handlers.db.tables import (
    AnswerRow,
    CaseRow,
    FamilyMemberRow,
    LateAnswerRow,
    ProcessingLogRow,
    QuestionRow,
    RoundRow,
)
from handlers.db.uow import UnitOfWork
from handlers.errors import CaseRejected
from handlers.relabel import RelabelReport, relabel_case
from handlers.round_view import round_view
from handlers.states import QuestionStatus, RoundState
from handlers.withdrawal import cancel_round
from tests.unit.handlers.builders import (
    ACTOR,
    NOW,
    POLICY,
    Sessions,
    all_rows,
    answer_to,
    delivered,
    new_case,
    open_round_for,
    outbox,
    process,
    question_sets,
    register,
    round_row,
    snapshot,
)

pytestmark = pytest.mark.integration

REASON = "Signalen uit het kernteam wijzen op een andere aanpak."
# Rich content only rood permits, to look for after afschalen.
ROOD_ONLY = ("toelichting", "detail")


async def _case(sessions: Sessions, colour: Colour, *, bit: bool = True) -> str:
    """An informed youth with two family members, labelled `colour`; with a BIT criterion
    recorded (so the case may go up to rood) unless `bit` is false."""
    case = new_case(colour=colour, family=0 if colour is Colour.GROEN else 2)
    criteria = (Criterion.POLITIECONTACTEN, *((Criterion.GEDRAG_GECONTINUEERD,) if bit else ()))
    return await register(sessions, case.model_copy(update={"criteria": criteria}))


async def _relabel(
    sessions: Sessions, case_id: str, colour: Colour, reason: str = REASON
) -> RelabelReport:
    async with UnitOfWork(sessions) as uow:
        report = await relabel_case(
            uow, POLICY, case_id, colour, reason=reason, actor=ACTOR, now=NOW
        )
        await uow.commit()
    return report


async def _answer_everything(sessions: Sessions, round_id: str) -> None:
    """Every partner answers every open question it was sent, ja, with the richest content
    its question permits; repeated until nothing is open (the CJG follows the VIR's ja)."""
    answered: set[uuid.UUID] = set()
    while True:
        pending = [
            qs for qs in await question_sets(sessions, round_id) if qs.message_id not in answered
        ]
        async with sessions() as session:
            open_ids = {
                q.id
                for q in await session.scalars(
                    select(QuestionRow)
                    .where(QuestionRow.round_id == round_id)
                    .where(QuestionRow.status == QuestionStatus.OPEN)
                )
            }
        pending = [
            qs for qs in pending if any(str(q.question_id) in open_ids for q in qs.questions)
        ]
        if not pending:
            return
        for qs in pending:
            answered.add(qs.message_id)
            await process(sessions, [delivered(answer_to(qs, YesNo.JA), qs.partner)])


def _keys(sets: list[QuestionSet]) -> list[tuple[str, str, str]]:
    return [(qs.partner.value, q.key, q.subject_ref) for qs in sets for q in qs.questions]


async def _results(sessions: Sessions, round_id: str) -> list[RoundResult]:
    decoded = [decode(row.payload) for row in await outbox(sessions, RESULTS)]
    return [r for r in decoded if isinstance(r, RoundResult) and str(r.round_id) == round_id]


async def _withdrawals(sessions: Sessions) -> dict[Partner, Withdrawal]:
    found: dict[Partner, Withdrawal] = {}
    for partner in Partner:
        for row in await outbox(sessions, question_topic(partner)):
            message = decode(row.payload)
            if isinstance(message, Withdrawal):
                assert partner not in found, "one notice per partner"
                found[partner] = message
    return found


def _asked_keys(colour: Colour, family: int) -> set[tuple[str, str, str]]:
    keys = set()
    for q in POLICY.asked(colour):
        refs = (
            ["jongere"]
            if q.subject.value == "jongere"
            else [f"gezinslid-{i}" for i in range(1, family + 1)]
        )
        keys |= {(q.partner.value, q.key, ref) for ref in refs}
    return keys


# --- opschalen --------------------------------------------------------------------------------


async def test_rood_while_an_oranje_round_is_open_asks_only_the_difference(
    sessions: Sessions,
) -> None:
    case_id = await _case(sessions, Colour.ORANJE)
    round_id = await open_round_for(sessions, case_id, Colour.ORANJE)
    first = await question_sets(sessions, round_id)
    # Some partners answered before the label went up.
    for qs in first:
        if qs.partner in {Partner.LEERPLICHT, Partner.VERWIJSINDEX, Partner.WONINGCORPORATIE}:
            await process(sessions, [delivered(answer_to(qs, YesNo.JA), qs.partner)])
    before = await snapshot(sessions)
    asked_before = await question_sets(sessions, round_id)

    report = await _relabel(sessions, case_id, Colour.ROOD)

    # The same round goes on, under the new label.
    row = await round_row(sessions, round_id)
    assert (row.state, row.colour, report.round_id) == (RoundState.OPEN, "rood", round_id)
    added = [qs for qs in await question_sets(sessions, round_id) if qs not in asked_before]
    difference = _asked_keys(Colour.ROOD, 2) - _asked_keys(Colour.ORANJE, 2)
    assert sorted(_keys(added)) == sorted(difference)
    assert set(report.added) == {"cjib", "riec"}
    assert sum(report.added.values()) == len(difference) == 2
    # Never a question asked twice: one row per (partner, key, subject), every id sent once.
    all_sent = _keys(await question_sets(sessions, round_id))
    assert len(all_sent) == len(set(all_sent))
    counts = before["counts"]
    assert isinstance(counts, dict)
    async with sessions() as session:
        questions = list(
            await session.scalars(select(QuestionRow).where(QuestionRow.round_id == round_id))
        )
    assert len(questions) == len(_asked_keys(Colour.ROOD, 2))
    # What was asked stays as it was issued: oranje's ja_nee to the Woningcorporatie was
    # answered as ja_nee, and is not asked again as rood detail.
    (woning,) = [q for q in questions if q.partner == "woningcorporatie"]
    assert (woning.shape, woning.status) == (AnswerShape.JA_NEE, QuestionStatus.ANSWERED)
    assert (await snapshot(sessions))["counts"]["answers"] == counts["answers"]  # type: ignore[index]

    # The round completes under rood, once, with every question answered once.
    await _answer_everything(sessions, round_id)
    (result,) = await _results(sessions, round_id)
    assert (result.colour, result.completion, result.revision) == (
        Colour.ROOD,
        Completion.COMPLETE,
        1,
    )
    assert result.message_id == uuid.uuid5(uuid.UUID(round_id), "round_result")
    outcomes = [o for p in result.partners for o in p.questions]
    assert len(outcomes) == len(_asked_keys(Colour.ROOD, 2))
    async with sessions() as session:
        log = [r.action for r in await session.scalars(select(ProcessingLogRow))]
    assert "case_relabelled" in log
    assert "round_relabelled" in log


async def test_relabel_refuses_the_same_label_an_unsupported_label_and_no_reason(
    sessions: Sessions,
) -> None:
    case_id = await _case(sessions, Colour.ORANJE, bit=False)
    await open_round_for(sessions, case_id, Colour.ORANJE)
    before = await snapshot(sessions)
    with pytest.raises(CaseRejected, match="already oranje"):
        await _relabel(sessions, case_id, Colour.ORANJE)
    with pytest.raises(CaseRejected, match="gedrag_gecontinueerd"):
        await _relabel(sessions, case_id, Colour.ROOD)  # rood needs a BIT criterion
    for reason in ("", "x", "xxxxxxxxxxxxxxx", "kort"):
        with pytest.raises(CaseRejected, match="reason"):
            await _relabel(sessions, case_id, Colour.GROEN, reason)
    assert await snapshot(sessions) == before
    async with sessions() as session:
        case = await session.get(CaseRow, case_id)
    assert case is not None
    assert case.colour == "oranje"


# --- afschalen --------------------------------------------------------------------------------


async def test_afschalen_to_groen_purges_rood_detail_everywhere_and_logs_it(
    sessions: Sessions,
) -> None:
    case_id = await _case(sessions, Colour.ROOD)
    round_id = await open_round_for(sessions, case_id, Colour.ROOD)
    await _answer_everything(sessions, round_id)
    (first,) = await _results(sessions, round_id)
    assert any(
        o.answer and (o.answer.toelichting or o.answer.detail)
        for p in first.partners
        for o in p.questions
    ), "the rood round holds rood detail to purge"

    report = await _relabel(sessions, case_id, Colour.GROEN)

    # The stored answers: only what groen asks, only in groen's shape.
    groen = {(q.partner.value, q.key): q.shape for q in POLICY.asked(Colour.GROEN)}
    answers = await all_rows(sessions, AnswerRow)
    async with sessions() as session:
        questions = {
            q.id: q
            for q in await session.scalars(
                select(QuestionRow).where(QuestionRow.round_id == round_id)
            )
        }
    assert answers, "groen's answers are kept"
    for a in answers:
        q = questions[a.question_id]
        assert (q.partner, q.key) in groen
        assert q.subject_ref == "jongere"
        assert not set(a.content) & {*ROOD_ONLY, "domeinen"}, a.content
        assert AnswerShape(q.shape) is groen[(q.partner, q.key)]
    assert report.answers_deleted == len(_asked_keys(Colour.ROOD, 2)) - len(answers)
    assert report.answers_reduced > 0
    # No family members in groen.
    assert await all_rows(sessions, FamilyMemberRow) == []
    assert report.family_deleted == 2

    # The re-published result: revision 2, its own id, groen, no rood detail.
    results = await _results(sessions, round_id)
    assert [r.revision for r in results] == [1, 2]
    second = results[1]
    assert second.message_id == uuid.uuid5(uuid.UUID(round_id), "round_result:2")
    assert second.colour is Colour.GROEN
    text = second.model_dump_json()
    # No rood content (the answers said "Verzonnen toelichting", "verzonnen"), no family.
    assert "erzonnen" not in text
    assert "gezinslid" not in text
    assert {o.shape for p in second.partners for o in p.questions} <= set(groen.values())
    for p in second.partners:
        for o in p.questions:
            if o.status is OutcomeStatus.ANSWERED:
                assert o.answer is not None
                assert (p.partner.value, o.key) in groen
                assert o.answer.toelichting is None
                assert o.answer.detail is None
                assert o.answer.domeinen is None

    # `iaj round show` reads the same purged rows.
    async with UnitOfWork(sessions) as uow:
        view = await round_view(uow, round_id, actor=None)
    assert view.colour is Colour.GROEN
    for shown in view.questions:
        assert shown.answer is None or not set(shown.answer) & {*ROOD_ONLY, "domeinen"}

    # Logged: the relabel, the purge of the round, the family.
    async with sessions() as session:
        log = list(await session.scalars(select(ProcessingLogRow)))
    actions = {r.action: r for r in log if r.actor == ACTOR}
    assert {"case_relabelled", "label_purge", "family_purged"} <= set(actions)
    assert actions["label_purge"].round_id == round_id
    # The log names no content and no name.
    for r in log:
        assert "Verzonnen toelichting" not in r.purpose
        assert "Gezinslid Verzonnenhuis" not in r.purpose


async def test_afschalen_with_an_open_round_withdraws_what_the_lower_label_no_longer_asks(
    sessions: Sessions,
) -> None:
    case_id = await _case(sessions, Colour.ORANJE)
    round_id = await open_round_for(sessions, case_id, Colour.ORANJE)
    sets = {qs.partner: qs for qs in await question_sets(sessions, round_id)}

    report = await _relabel(sessions, case_id, Colour.GROEN)

    oranje_only = set(POLICY.partners(Colour.ORANJE)) - set(POLICY.partners(Colour.GROEN))
    notices = await _withdrawals(sessions)
    # Leerplicht and SWT lose their oranje-only VIR question; the oranje-only partners lose all.
    assert set(notices) == oranje_only | {Partner.LEERPLICHT, Partner.SWT}
    for partner, notice in notices.items():
        assert notice.reason is WithdrawalReason.LABEL_LOWERED
        assert str(notice.round_id) == round_id
        sent = {q.question_id for q in sets[partner].questions}
        assert set(notice.question_ids) <= sent
    assert set(report.withdrawn) == {p.value for p in notices}
    row = await round_row(sessions, round_id)
    assert (row.state, row.colour) == (RoundState.OPEN, "groen")

    # An answer to a withdrawn question comes late: its content is never stored.
    rn = sets[Partner.RN]
    await process(sessions, [delivered(answer_to(rn, YesNo.JA), Partner.RN)])
    assert await all_rows(sessions, AnswerRow) == []
    late = await all_rows(sessions, LateAnswerRow)
    assert {x.question_id for x in late} == {str(q.question_id) for q in rn.questions}

    # What groen still asks completes the round, under groen.
    await _answer_everything(sessions, round_id)
    (result,) = await _results(sessions, round_id)
    assert (result.colour, result.completion) == (Colour.GROEN, Completion.COMPLETE)
    statuses = {o.status for p in result.partners for o in p.questions if p.partner is Partner.RN}
    assert statuses == {OutcomeStatus.WITHDRAWN}


# --- cancelling -------------------------------------------------------------------------------


async def test_a_cancelled_round_tells_the_partners_and_keeps_no_late_answer(
    sessions: Sessions,
) -> None:
    case_id = await _case(sessions, Colour.GROEN)
    round_id = await open_round_for(sessions, case_id, Colour.GROEN)
    sets = {qs.partner: qs for qs in await question_sets(sessions, round_id)}
    await process(sessions, [delivered(answer_to(sets[Partner.LEERPLICHT]), Partner.LEERPLICHT)])

    async with UnitOfWork(sessions) as uow:
        the_round = await uow.session.get(RoundRow, round_id)
        assert the_round is not None
        assert await cancel_round(
            uow,
            the_round,
            reason=WithdrawalReason.ROUND_CANCELLED,
            why=REASON,
            actor=ACTOR,
            now=NOW,
        )
        await uow.commit()

    notices = await _withdrawals(sessions)
    assert set(notices) == {Partner.VERWIJSINDEX, Partner.SWT}  # leerplicht had answered
    assert all(n.reason is WithdrawalReason.ROUND_CANCELLED for n in notices.values())
    (result,) = await _results(sessions, round_id)
    assert result.completion is Completion.CANCELLED
    stored = len(await all_rows(sessions, AnswerRow))

    before = await snapshot(sessions)
    await process(sessions, [delivered(answer_to(sets[Partner.SWT]), Partner.SWT)])
    assert len(await all_rows(sessions, AnswerRow)) == stored
    assert len(await all_rows(sessions, LateAnswerRow)) == len(sets[Partner.SWT].questions)
    after = await snapshot(sessions)
    assert after["rounds"] == before["rounds"]
