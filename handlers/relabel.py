"""Op- en afschalen: giving a case another label (§3.3, convenant l.499-503 and l.531-533).

Going up while a round is open supersedes it: the questions the round already asked stay as
they were issued, only the new label's additional questions are asked (never one already
asked or answered), and the round completes under the new label.

Going down withdraws the round's pending questions that the lower label does not ask (or asks
with less disclosure: an open question cannot be narrowed, so it is withdrawn), and then purges
what the lower label does not permit from every round of the case: answers to questions the
lower label does not ask are deleted, answers richer than the lower label's shape are reduced
to that shape, and every closed round whose result changed is published again (revision + 1)
scoped to the lower label. A label without family (groen) deletes the case's family members.
The stored detail is gone, not hidden: `iaj round show`, a re-published result and any later
consumer see only what the lower label permits. Every relabel and every purge is logged.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select

from contracts.enums import AnswerShape, Colour, Criterion, Partner, SubjectRole, Track
from contracts.messages import Completion, WithdrawalReason
from contracts.policy import AskedQuestion, Policy
from handlers.cases import get_case
from handlers.completion import (
    COMPLETION_OF_STATE,
    build_result,
    complete_round,
    enqueue_result,
)
from handlers.db.tables import AnswerRow, CaseRow, FamilyMemberRow, QuestionRow, RoundRow
from handlers.db.uow import UnitOfWork
from handlers.errors import CaseRejected
from handlers.processing_log import log_processing
from handlers.questions import address_needs
from handlers.reasons import check_reason
from handlers.rounds import issue_question_sets, question_row
from handlers.states import QuestionStatus, RoundState
from handlers.withdrawal import PENDING, withdraw_questions

__all__ = ["REASON_MIN_CHARS", "RelabelReport", "asked_questions", "partners_in", "relabel_case"]

REASON_MIN_CHARS = 10

# The answer fields each shape permits besides `antwoord`.
_EXTRA = {
    AnswerShape.JA_NEE: (),
    AnswerShape.JA_NEE_MET_WIE: ("met_wie",),
    AnswerShape.JA_NEE_DOMEINEN: ("domeinen",),
    AnswerShape.JA_NEE_TOELICHTING: ("toelichting",),
    AnswerShape.DETAIL: ("detail",),
}

Key = tuple[str, str, str]  # (partner, key, subject_ref)


@dataclass
class RelabelReport:
    """What a relabel did, in counts and ids only (no content)."""

    case_id: str
    old: Colour | None
    new: Colour
    round_id: str | None = None  # the open round that followed the new label
    round_completed: bool = False
    added: Counter[str] = field(default_factory=Counter)  # partner -> questions asked now
    withdrawn: Counter[str] = field(default_factory=Counter)  # partner -> questions withdrawn
    answers_deleted: int = 0
    answers_reduced: int = 0
    family_deleted: int = 0
    republished: list[str] = field(default_factory=list)  # rounds whose result was re-published

    @property
    def up(self) -> bool:
        return self.old is None or self.new.rank > self.old.rank


async def relabel_case(
    uow: UnitOfWork,
    policy: Policy,
    case_id: str,
    colour: Colour,
    *,
    reason: str,
    actor: str,
    now: dt.datetime,
) -> RelabelReport:
    """Give the case label `colour`, and let its open round and its stored answers follow.
    CaseRejected (nothing changed) when the label is the same, the criteria do not permit
    it, or the reason is no sentence. Caller commits."""
    why = check_reason(reason, "reason", REASON_MIN_CHARS)
    case = await get_case(uow, case_id)
    if case.left_on is not None:
        raise CaseRejected(
            "colour",
            f"the youth left the approach on {case.left_on}: a label no longer applies "
            "(retention deletes the data a year after uitstroom)",
        )
    old = await _current_label(uow, case)
    if old is colour:
        raise CaseRejected("colour", f"the case is already {colour.value}: nothing to change")
    refused = policy.refuses_label(Track(case.track), colour, [Criterion(c) for c in case.criteria])
    if refused is not None:
        raise CaseRejected("colour", f"{refused}; record the criterion first, then relabel")
    report = RelabelReport(case_id=case.id, old=old, new=colour)
    case.colour = colour.value
    log_processing(
        uow,
        actor,
        "case_relabelled",
        f"{'opschalen' if report.up else 'afschalen'} "
        f"{old.value if old else '(none)'} -> {colour.value}: {why}",
        case_id=case.id,
    )
    open_round = await uow.session.scalar(
        select(RoundRow)
        .where(RoundRow.case_id == case.id)
        .where(RoundRow.state == RoundState.OPEN)
        .with_for_update()
    )
    if open_round is not None:
        await _follow(uow, policy, case, open_round, colour, report, actor=actor, now=now)
    await _purge(uow, policy, case, colour, report, actor=actor, now=now)
    if open_round is not None and not any(
        q.status in PENDING for q in await _questions(uow, open_round.id)
    ):
        # Nothing left to ask under the new label: the round completes under it, with only
        # what that label permits (purged above).
        report.round_completed = await complete_round(uow, open_round, Completion.COMPLETE, now)
    return report


async def _current_label(uow: UnitOfWork, case: CaseRow) -> Colour | None:
    if case.colour is not None:
        return Colour(case.colour)
    latest = await uow.session.scalar(
        select(RoundRow.colour)
        .where(RoundRow.case_id == case.id)
        .order_by(RoundRow.opened_at.desc())
        .limit(1)
    )
    return None if latest is None else Colour(latest)


def asked_questions(policy: Policy, case: CaseRow, colour: Colour) -> dict[Key, AskedQuestion]:
    """Every question `colour` asks about this case's youth and family members, by (partner,
    key, subject_ref): what a result re-published after afschalen reports."""
    return _asked(policy, case, colour)


def _asked(policy: Policy, case: CaseRow, colour: Colour) -> dict[Key, AskedQuestion]:
    """Every question `colour` asks about this case's youth and family members."""
    family = policy.label_rule(colour).family
    asked: dict[Key, AskedQuestion] = {}
    for q in policy.asked(colour):
        if q.subject is SubjectRole.JONGERE:
            refs = ["jongere"]
        else:
            refs = [f"gezinslid-{m.ordinal}" for m in case.family] if family else []
        for ref in refs:
            asked[(q.partner.value, q.key, ref)] = q
    return asked


async def _questions(uow: UnitOfWork, round_id: str) -> list[QuestionRow]:
    return list(
        (
            await uow.session.scalars(select(QuestionRow).where(QuestionRow.round_id == round_id))
        ).all()
    )


async def _follow(
    uow: UnitOfWork,
    policy: Policy,
    case: CaseRow,
    round_row: RoundRow,
    colour: Colour,
    report: RelabelReport,
    *,
    actor: str,
    now: dt.datetime,
) -> None:
    """The open round follows the new label: withdraw what it no longer asks, ask what it
    newly asks, and complete it when nothing is pending any more."""
    report.round_id = round_row.id
    asked = _asked(policy, case, colour)
    questions = await _questions(uow, round_row.id)
    by_key = {(q.partner, q.key, q.subject_ref): q for q in questions}
    # Pending questions the label no longer asks, or asks with less than they were issued with.
    no_longer = [
        q
        for key, q in by_key.items()
        if q.status in PENDING
        and (key not in asked or not asked[key].shape.covers(AnswerShape(q.shape)))
    ]
    round_row.colour = colour.value
    if no_longer:
        withdraw_questions(uow, round_row, no_longer, WithdrawalReason.LABEL_LOWERED, now)
        report.withdrawn.update(q.partner for q in no_longer)
    # Only the difference: never a question this round asked already, whatever its status.
    new_rows = [
        question_row(policy, a, round_row.id, key[2])
        for key, a in asked.items()
        if key not in by_key
    ]
    if new_rows:
        uow.session.add_all(new_rows)
        await uow.session.flush()
        everything = {**by_key, **{(q.partner, q.key, q.subject_ref): q for q in new_rows}}
        answers = {
            a.question_id: str(a.content.get("antwoord"))
            for a in await uow.session.scalars(
                select(AnswerRow).where(AnswerRow.round_id == round_row.id)
            )
        }
        for q in new_rows:
            _resolve_condition(q, everything, answers, now)
        to_issue = [q for q in new_rows if q.status == QuestionStatus.OPEN]
        if to_issue:
            issue_question_sets(
                uow,
                round_row,
                case,
                to_issue,
                now,
                actor=actor,
                address_for=address_needs(policy, colour),
            )
            report.added.update(q.partner for q in to_issue)
        report.added.update(q.partner for q in new_rows if q.status == QuestionStatus.WAITING)
    log_processing(
        uow,
        actor,
        "round_relabelled",
        f"round follows {colour.value}: asked {sum(report.added.values())} more question(s), "
        f"withdrew {sum(report.withdrawn.values())}",
        case_id=case.id,
        round_id=round_row.id,
    )


def _resolve_condition(
    q: QuestionRow, questions: dict[Key, QuestionRow], answers: dict[str, str], now: dt.datetime
) -> None:
    """A new question whose condition's question was already answered is opened or dropped
    now; one whose condition is still pending waits, as in a new round. `answers`: question
    id -> its stored antwoord."""
    if q.after_partner is None or q.after_key is None:
        return
    parent = questions.get((q.after_partner, q.after_key, q.subject_ref))
    if parent is not None and parent.status in PENDING:
        return  # handlers.answers resolves it when the parent is answered
    if parent is not None and answers.get(parent.id) == q.after_answer:
        q.status = QuestionStatus.OPEN
    else:  # answered otherwise, expired, withdrawn, or never asked: the condition is not met
        q.status = QuestionStatus.NOT_APPLICABLE
        q.closed_at = now


async def _purge(
    uow: UnitOfWork,
    policy: Policy,
    case: CaseRow,
    colour: Colour,
    report: RelabelReport,
    *,
    actor: str,
    now: dt.datetime,
) -> None:
    """Remove from every round of the case what `colour` does not permit."""
    rounds = (
        await uow.session.scalars(
            select(RoundRow).where(RoundRow.case_id == case.id).order_by(RoundRow.opened_at)
        )
    ).all()
    asked = _asked(policy, case, colour)
    for round_row in rounds:
        deleted, reduced = await _purge_round(uow, round_row, asked, colour, now)
        higher = Colour(round_row.colour).rank > colour.rank
        if higher:
            round_row.colour = colour.value
        if not (deleted or reduced or higher):
            continue
        report.answers_deleted += deleted
        report.answers_reduced += reduced
        log_processing(
            uow,
            actor,
            "label_purge",
            f"afschalen naar {colour.value}: {deleted} answer(s) deleted, {reduced} reduced "
            "to what the label permits",
            case_id=case.id,
            round_id=round_row.id,
        )
        if RoundState(round_row.state).closed:
            await _republish(uow, round_row, set(asked), now)
            report.republished.append(round_row.id)
    if not policy.label_rule(colour).family and case.family:
        report.family_deleted = len(case.family)
        await uow.session.execute(delete(FamilyMemberRow).where(FamilyMemberRow.case_id == case.id))
        case.family.clear()
        log_processing(
            uow,
            actor,
            "family_purged",
            f"{colour.value} involves no family: {report.family_deleted} family member(s) deleted",
            case_id=case.id,
        )


async def _purge_round(
    uow: UnitOfWork,
    round_row: RoundRow,
    asked: dict[Key, AskedQuestion],
    colour: Colour,
    now: dt.datetime,
) -> tuple[int, int]:
    """(answers deleted, answers reduced) in one round."""
    questions = {q.id: q for q in await _questions(uow, round_row.id)}
    answers = (
        await uow.session.scalars(select(AnswerRow).where(AnswerRow.round_id == round_row.id))
    ).all()
    deleted = reduced = 0
    for answer in answers:
        q = questions[answer.question_id]
        permitted = asked.get((q.partner, q.key, q.subject_ref))
        if permitted is None:
            await uow.session.delete(answer)
            q.status = QuestionStatus.WITHDRAWN
            q.closed_at = q.closed_at or now
            deleted += 1
            continue
        if permitted.shape.covers(AnswerShape(q.shape)):
            continue
        answer.content = _reduced(answer.content, permitted)
        # What is kept is no longer what the partner signed: the signature goes too.
        answer.key_id = None
        answer.signature = None
        q.shape = permitted.shape.value
        q.detail_fields = [f.model_dump(mode="json") for f in permitted.detail_fields]
        reduced += 1
    # Questions not answered whose issued shape the label no longer permits: say so in the
    # round (their detail would never be taken now), without answers to remove.
    for q in questions.values():
        permitted = asked.get((q.partner, q.key, q.subject_ref))
        if q.status in PENDING:
            continue  # the open round's follow-up decided these
        if permitted is not None and not permitted.shape.covers(AnswerShape(q.shape)):
            q.shape = permitted.shape.value
            q.detail_fields = [f.model_dump(mode="json") for f in permitted.detail_fields]
    await uow.session.flush()
    return deleted, reduced


def _reduced(content: dict[str, Any], permitted: AskedQuestion) -> dict[str, Any]:
    """`content` with only the fields the permitted shape allows."""
    kept: dict[str, Any] = {"antwoord": content["antwoord"]}
    for name in _EXTRA[permitted.shape]:
        value = content.get(name)
        if value is None:
            continue
        if name == "detail":
            allowed = {f.name for f in permitted.detail_fields}
            value = {k: v for k, v in value.items() if k in allowed}
        kept[name] = value
    return kept


async def _republish(
    uow: UnitOfWork, round_row: RoundRow, asked: set[Key], now: dt.datetime
) -> None:
    """Publish the closed round's result again, as stored now, under the next revision: only
    the questions the lower label asks (what else was asked is no longer reported)."""
    round_row.result_revision = (round_row.result_revision or 1) + 1
    message = await build_result(
        uow,
        round_row,
        COMPLETION_OF_STATE[RoundState(round_row.state)],
        revision=round_row.result_revision,
        created_at=now,
        only=asked,
    )
    enqueue_result(uow, round_row, message)


def partners_in(counter: Counter[str]) -> dict[str, int]:
    """Counts per partner in the order of the Partner enum (for output)."""
    return {p.value: counter[p.value] for p in Partner if counter[p.value]}
