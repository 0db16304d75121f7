"""Receiving partners' answers: check, store once, issue dependent questions, complete rounds.

Everything a message causes happens in the transaction of its batch: the inbox row, stored
answers, refusal records, refusal notices and follow-up question sets in the outbox, and the
round's completion. A redelivered message hits the inbox's primary key and changes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select

from contracts.answers import check_answer
from contracts.enums import Colour
from contracts.errors import AnswerRefused, MalformedMessage, RefusalReason
from contracts.messages import AnswerItem, Completion
from contracts.policy import PolicyRef
from contracts.signing import ItemSignature
from contracts.topics import partner_of_answer_topic
from contracts.wire import AnswerEnvelope, decode_answer_envelope
from handlers.answer_records import log_receipt, record_late, store
from handlers.answer_refusals import Refuser, notify_malformed
from handlers.answer_signatures import PartnerKeys, verified_signatures
from handlers.cases import get_case
from handlers.completion import complete_round
from handlers.db.tables import QuestionRow, RoundRow
from handlers.db.uow import UnitOfWork
from handlers.dead_letters import Delivery, dead_letter
from handlers.inbox import claim
from handlers.questions import to_wire_question
from handlers.rounds import issue_question_sets
from handlers.states import QuestionStatus, RoundState
from handlers.tracing import consumed

__all__ = ["AnswerReport", "handle_answers"]

_PENDING = (QuestionStatus.OPEN, QuestionStatus.WAITING)


@dataclass
class AnswerReport:
    """What one answer message did; for logs and metrics (never content)."""

    duplicate: bool = False
    dead_lettered: bool = False
    accepted: int = 0
    refused: list[RefusalReason] = field(default_factory=list)
    late: int = 0
    already_answered: int = 0
    issued: int = 0
    completed: bool = False
    # Ids for the log (never content): known once the message could be read. Not compared:
    # two reports are equal when the message did the same.
    partner: str | None = field(default=None, compare=False)
    round_id: str | None = field(default=None, compare=False)
    correlation_id: str | None = field(default=None, compare=False)
    message_id: str | None = field(default=None, compare=False)


@dataclass
class _RoundContext:
    """A round and all its questions, loaded once per batch (and locked on PostgreSQL)."""

    row: RoundRow
    questions: list[QuestionRow]


async def handle_answers(
    uow: UnitOfWork,
    messages: Sequence[tuple[bytes, Delivery]],
    now: dt.datetime,
    keys: PartnerKeys,
) -> list[AnswerReport]:
    """Process messages from `iaj.answers.<partner>` topics, in order, in one transaction.

    The caller commits. Each message's effects depend only on the messages before it, so a
    batch has exactly the effects of the same messages processed one by one. `keys` are the
    partners' public keys: an item whose signature does not verify with its partner's keys
    gets the whole message refused.
    """
    decoded = [_decode(raw) for raw, _ in messages]
    rounds = await _load_rounds(
        uow, {str(env.round_id) for env in decoded if isinstance(env, AnswerEnvelope)}
    )
    reports = []
    for (raw, delivery), envelope in zip(messages, decoded, strict=True):
        # Each message in the trace it came with: what it writes (the round's result too)
        # carries that trace on.
        with consumed(delivery.topic, delivery.headers, delivery.headers.get("message_id")):
            reports.append(await _handle_one(uow, raw, delivery, envelope, rounds, keys, now))
    return reports


def _decode(raw: bytes) -> AnswerEnvelope | MalformedMessage:
    try:
        return decode_answer_envelope(raw)
    except MalformedMessage as exc:
        return exc


async def _load_rounds(uow: UnitOfWork, round_ids: set[str]) -> dict[str, _RoundContext]:
    if not round_ids:
        return {}
    # Locked (PostgreSQL) so that two service instances handling the last two answers of one
    # round, from two partners' topics, see each other's answer and one completes the round.
    # Sorted, so two instances locking overlapping batches cannot deadlock.
    rows = (
        await uow.session.scalars(
            select(RoundRow)
            .where(RoundRow.id.in_(sorted(round_ids)))
            .order_by(RoundRow.id)
            .with_for_update()
        )
    ).all()
    contexts = {row.id: _RoundContext(row, []) for row in rows}
    questions = await uow.session.scalars(
        select(QuestionRow).where(QuestionRow.round_id.in_(list(contexts)))
    )
    for question in questions:
        contexts[question.round_id].questions.append(question)
    return contexts


async def _handle_one(
    uow: UnitOfWork,
    raw: bytes,
    delivery: Delivery,
    envelope: AnswerEnvelope | MalformedMessage,
    rounds: dict[str, _RoundContext],
    keys: PartnerKeys,
    now: dt.datetime,
) -> AnswerReport:
    topic_partner = partner_of_answer_topic(delivery.topic)
    report = AnswerReport(partner=topic_partner.value if topic_partner else None)
    if isinstance(envelope, MalformedMessage):
        if await claim(uow, delivery.position, delivery.topic, now):
            dead_letter(
                uow,
                delivery,
                raw,
                reason=envelope.reason,
                detail=envelope.detail,
                partner=topic_partner,
                now=now,
            )
            if topic_partner is not None:  # partners cannot read iaj.deadletter: tell them
                notify_malformed(uow, topic_partner, delivery, envelope, now)
            report.dead_lettered = True
        else:
            report.duplicate = True
        return report
    report.round_id = str(envelope.round_id)
    report.correlation_id = str(envelope.correlation_id)
    report.message_id = str(envelope.message_id)
    if not await claim(uow, f"answer:{envelope.message_id}", delivery.topic, now):
        report.duplicate = True
        return report
    if topic_partner is None:
        raise ValueError(f"{envelope.message_id} was not consumed from a partner's answer topic")
    refuse = Refuser(uow, envelope, topic_partner, delivery, report.refused, now)
    signatures = verified_signatures(envelope, keys.get(topic_partner, {}))
    if envelope.partner is not topic_partner:
        refuse.whole(RefusalReason.WRONG_PARTNER, "partner")
    elif signatures is None:
        refuse.whole(RefusalReason.BAD_SIGNATURE, "signature")
    else:
        context = rounds.get(str(envelope.round_id))
        await _process(uow, envelope, refuse, context, signatures, report, now)
    refuse.send()
    return report


async def _process(
    uow: UnitOfWork,
    envelope: AnswerEnvelope,
    refuse: Refuser,
    context: _RoundContext | None,
    signatures: dict[str, ItemSignature],
    report: AnswerReport,
    now: dt.datetime,
) -> None:
    sender = refuse.sender
    if context is None:
        refuse.whole(RefusalReason.UNKNOWN_QUESTION_SET, "round_id")
        return
    round_row = context.row
    refuse.colour = Colour(round_row.colour)
    refuse.case_id = round_row.case_id
    refuse.policy = PolicyRef(id=round_row.policy_id, version=round_row.policy_version)
    # The questions of the question set this message replies to, and only those.
    questions = {
        q.id: q
        for q in context.questions
        if q.partner == sender.value and q.question_set_id == str(envelope.in_reply_to)
    }
    if not questions:
        refuse.whole(RefusalReason.UNKNOWN_QUESTION_SET, "in_reply_to")
        return
    named = [str(item.get("question_id")) for item in envelope.answers]
    if len(named) != len(set(named)):
        refuse.whole(RefusalReason.DUPLICATE_ANSWER, "question_id")
        return
    if len(envelope.answers) > len(questions):
        refuse.whole(RefusalReason.TOO_MANY_ITEMS, "answers")
        return
    newly_answered: list[tuple[QuestionRow, AnswerItem]] = []
    for item in envelope.answers:
        question = questions.get(str(item.get("question_id")))
        if question is None or question.issued_at is None:
            refuse.item(RefusalReason.UNKNOWN_QUESTION, "question_id", None)
            continue
        try:
            answer = check_answer(to_wire_question(question), item, refuse.colour)
        except AnswerRefused as exc:
            refuse.item(exc.reason, exc.field, question)
            continue
        if RoundState(round_row.state).closed or question.status == QuestionStatus.WITHDRAWN:
            # Too late, or no longer asked: the content is not kept.
            record_late(uow, question, envelope, now)
            refuse.item(RefusalReason.LATE, None, question)
            report.late += 1
        elif question.status == QuestionStatus.ANSWERED:
            refuse.item(RefusalReason.ALREADY_ANSWERED, None, question)
            report.already_answered += 1
        else:
            store(uow, question, answer, envelope, signatures[question.id], now)
            newly_answered.append((question, answer))
            report.accepted += 1
    if newly_answered:
        log_receipt(uow, envelope, round_row, newly_answered, signatures)
        report.issued = await _resolve_dependents(uow, context, newly_answered, now)
        if not any(q.status in _PENDING for q in context.questions):
            report.completed = await complete_round(uow, round_row, Completion.COMPLETE, now)


async def _resolve_dependents(
    uow: UnitOfWork,
    context: _RoundContext,
    answered: Sequence[tuple[QuestionRow, AnswerItem]],
    now: dt.datetime,
) -> int:
    """Open (and issue) or drop the questions that waited on these answers."""
    waiting = [q for q in context.questions if q.status == QuestionStatus.WAITING]
    to_issue = []
    for parent, answer in answered:
        for q in waiting:
            if (q.after_partner, q.after_key, q.subject_ref) != (
                parent.partner,
                parent.key,
                parent.subject_ref,
            ):
                continue
            if answer.antwoord.value == q.after_answer:
                q.status = QuestionStatus.OPEN
                to_issue.append(q)
            else:
                q.status = QuestionStatus.NOT_APPLICABLE
                q.closed_at = now
    if to_issue:
        case = await get_case(uow, context.row.case_id)
        issue_question_sets(uow, context.row, case, to_issue, now)
    return len(to_issue)
