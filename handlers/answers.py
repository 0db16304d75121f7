"""Receiving partners' answers: check, store once, issue dependent questions, complete rounds.

Everything a message causes happens in the transaction of its batch: the inbox row, stored
answers, refusal records, refusal notices and follow-up question sets in the outbox, and the
round's completion. A redelivered message hits the inbox's primary key and changes nothing.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any, cast

from sqlalchemy import BindParameter, Table, bindparam, select, update

from contracts.answers import check_answer
from contracts.enums import Colour
from contracts.errors import AnswerRefused, MalformedMessage, RefusalReason
from contracts.messages import AnswerItem, Completion
from contracts.policy import PolicyRef
from contracts.signing import ItemSignature
from contracts.topics import RESULTS, message_key, partner_of_answer_topic
from contracts.wire import AnswerEnvelope, decode_answer_envelope
from handlers.answer_records import log_receipt, record_late, store
from handlers.answer_refusals import Refuser, notify_malformed
from handlers.answer_signatures import PartnerKeys, verified_signatures
from handlers.cases import get_case, load_cases
from handlers.completion import result_message_id, result_of
from handlers.db.detached import detached
from handlers.db.in_lists import padded
from handlers.db.pending import PendingRows
from handlers.db.tables import (
    AnswerRow,
    CaseRow,
    LateAnswerRow,
    OutboxRow,
    ProcessingLogRow,
    QuestionRow,
    RefusalRow,
    RoundRow,
)
from handlers.db.uow import UnitOfWork
from handlers.dead_letters import Delivery, dead_letter
from handlers.inbox import claim_all
from handlers.outbox import enqueue_raw
from handlers.processing_log import log_processing
from handlers.questions import to_wire_question
from handlers.rounds import issue_question_sets
from handlers.states import QuestionStatus, RoundState
from handlers.tracing import consumed

__all__ = ["AnswerReport", "handle_answers"]

_PENDING = (QuestionStatus.OPEN, QuestionStatus.WAITING)

# The hot path reads and writes the tables with Core: no identity map, no unit-of-work flush.
_ROUNDS = cast(Table, RoundRow.__table__)
_QUESTIONS = cast(Table, QuestionRow.__table__)
_ANSWERS = cast(Table, AnswerRow.__table__)

# The batch's statements, built once (their cache keys too): `ids` expands to the batch's ids.
_IDS: BindParameter[Any] = bindparam("ids", expanding=True)
# Locked (PostgreSQL) so that two service instances handling the last two answers of one
# round, from two partners' topics, see each other's answer and one completes the round.
# Sorted, so two instances locking overlapping batches cannot deadlock.
_LOCK_ROUNDS = (
    select(_ROUNDS).where(_ROUNDS.c.id.in_(_IDS)).order_by(_ROUNDS.c.id).with_for_update()
)
_QUESTIONS_OF_ROUNDS = select(_QUESTIONS).where(_QUESTIONS.c.round_id.in_(_IDS))
# Only a round still open can complete: exactly one result per round.
_COMPLETE = (
    update(_ROUNDS)
    .where(_ROUNDS.c.id.in_(_IDS))
    .where(_ROUNDS.c.state == RoundState.OPEN)
    .values(state=RoundState.COMPLETE, completed_at=bindparam("now"))
    .returning(_ROUNDS.c.id)
)
# A completed round's questions in the result's order (as `build_result` sorts, by the
# database's collation), with their stored answers.
_RESULT_ORDER = (
    select(_QUESTIONS.c.round_id, _QUESTIONS.c.id, _ANSWERS.c.content)
    .outerjoin(_ANSWERS, _ANSWERS.c.question_id == _QUESTIONS.c.id)
    .where(_QUESTIONS.c.round_id.in_(_IDS))
    .order_by(
        _QUESTIONS.c.round_id, _QUESTIONS.c.partner, _QUESTIONS.c.subject_ref, _QUESTIONS.c.key
    )
)


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


# What a batch may change on a question; compared with what was loaded to find the updates.
_CHANGING = ("status", "closed_at", "question_set_id", "issued_at")


@dataclass
class _RoundContext:
    """A round and all its questions, loaded once per batch (and locked on PostgreSQL).

    Plain rows read with Core into detached (transient) objects: what the batch changes on
    them is written at its end in one statement per kind, never flushed row by row."""

    row: RoundRow
    questions: list[QuestionRow]
    loaded: dict[str, tuple[Any, ...]] = field(default_factory=dict)


@dataclass
class _Batch:
    """What the messages of a batch decided, written when the last one was handled."""

    pending: PendingRows
    claimed: set[str]
    rounds: dict[str, _RoundContext]
    # Rounds completed in the batch, each with its result's outbox row (filled at the end).
    completed: list[tuple[RoundRow, dict[str, Any]]] = field(default_factory=list)
    # The cases of the batch's rounds, loaded together when the first follow-up is issued.
    cases: dict[str, CaseRow] | None = None


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
    # Every message's inbox row in one statement: a key already there (or earlier in the
    # batch) makes its message a duplicate.
    claimed = await claim_all(
        uow,
        [
            (_inbox_key(env, delivery), delivery.topic)
            for (_, delivery), env in zip(messages, decoded, strict=True)
        ],
        now,
    )
    reports = []
    with PendingRows(uow.session) as pending:
        batch = _Batch(pending, claimed, rounds)
        for (raw, delivery), envelope in zip(messages, decoded, strict=True):
            # Each message in the trace it came with: what it writes (the round's result too)
            # carries that trace on.
            with consumed(delivery.topic, delivery.headers, delivery.headers.get("message_id")):
                reports.append(await _handle_one(uow, raw, delivery, envelope, batch, keys, now))
        await _write(uow, batch, now)
    return reports


def _inbox_key(envelope: AnswerEnvelope | MalformedMessage, delivery: Delivery) -> str:
    if isinstance(envelope, MalformedMessage):
        return delivery.position
    return f"answer:{envelope.message_id}"


def _claim(batch: _Batch, key: str) -> bool:
    """The first occurrence of a key claimed in this batch takes it; any other is a duplicate."""
    if key in batch.claimed:
        batch.claimed.discard(key)
        return True
    return False


def _decode(raw: bytes) -> AnswerEnvelope | MalformedMessage:
    try:
        return decode_answer_envelope(raw)
    except MalformedMessage as exc:
        return exc


async def _load_rounds(uow: UnitOfWork, round_ids: set[str]) -> dict[str, _RoundContext]:
    if not round_ids:
        return {}
    rows = await uow.session.execute(_LOCK_ROUNDS, {"ids": padded(sorted(round_ids))})
    names = list(rows.keys())
    contexts = {
        row.id: _RoundContext(detached(RoundRow, zip(names, row, strict=True)), []) for row in rows
    }
    if not contexts:
        return contexts
    loaded = await uow.session.execute(_QUESTIONS_OF_ROUNDS, {"ids": padded(list(contexts))})
    names = list(loaded.keys())
    changing = itemgetter(*(names.index(name) for name in _CHANGING))
    for row in loaded:
        context = contexts[row.round_id]
        context.questions.append(detached(QuestionRow, zip(names, row, strict=True)))
        context.loaded[row.id] = changing(row)
    return contexts


async def _write(uow: UnitOfWork, batch: _Batch, now: dt.datetime) -> None:
    """Everything the batch decided, one statement per kind, in the order of today's flush."""
    session = uow.session
    await batch.pending.flush(AnswerRow, LateAnswerRow, RefusalRow)
    changed = [
        {"b_id": q.id, **{f"b_{name}": getattr(q, name) for name in _CHANGING}}
        for context in batch.rounds.values()
        for q in context.questions
        if tuple(getattr(q, name) for name in _CHANGING) != context.loaded[q.id]
    ]
    if changed:
        questions = _QUESTIONS
        await session.execute(
            update(questions)
            .where(questions.c.id == bindparam("b_id"))
            .values({name: bindparam(f"b_{name}") for name in _CHANGING}),
            changed,
        )
    if batch.completed:
        await _complete(uow, batch, now)
    await batch.pending.flush(OutboxRow, ProcessingLogRow)


async def _complete(uow: UnitOfWork, batch: _Batch, now: dt.datetime) -> None:
    """The rounds the batch completed: a conditional update (only a round still open can
    complete, so exactly one result per round), then their results, built from the questions
    already loaded and the answers now stored."""
    ids = [row.id for row, _ in batch.completed]
    done = set((await uow.session.execute(_COMPLETE, {"ids": padded(ids), "now": now})).scalars())
    if done != set(ids):
        # The rounds were locked (PostgreSQL) or the database was written first (SQLite):
        # no one else can have closed them. Fail the batch rather than publish two results.
        raise RuntimeError(f"rounds {sorted(set(ids) - done)} were closed during the batch")
    # In the result's order (as `build_result` sorts, by the database's collation).
    order = await uow.session.execute(_RESULT_ORDER, {"ids": padded(ids)})
    in_order: dict[str, list[str]] = {round_id: [] for round_id in ids}
    contents: dict[str, dict[str, Any]] = {}
    for round_id, question_id, content in order:
        in_order[round_id].append(question_id)
        if content is not None:
            contents[question_id] = content
    for round_row, outbox_row in batch.completed:
        by_id = {q.id: q for q in batch.rounds[round_row.id].questions}
        message = result_of(
            round_row, [by_id[q] for q in in_order[round_row.id]], contents, Completion.COMPLETE
        )
        outbox_row["payload"] = message.model_dump_json().encode()
        outbox_row["headers"]["message_type"] = str(message.type)


async def _case_of(uow: UnitOfWork, batch: _Batch, case_id: str) -> CaseRow:
    """The case, for its follow-up question sets: every case of the batch's rounds in one
    select (with their family) the first time one is needed."""
    if batch.cases is None:
        ids = sorted({context.row.case_id for context in batch.rounds.values()})
        batch.cases = await load_cases(uow, ids)
    return batch.cases.get(case_id) or await get_case(uow, case_id)


def _complete_round(
    uow: UnitOfWork, batch: _Batch, context: _RoundContext, now: dt.datetime
) -> bool:
    """Complete the round in the batch: its state now (later messages of the batch see it
    closed), its result's place in the outbox and its log entry; written by `_write`."""
    round_row = context.row
    if RoundState(round_row.state) is not RoundState.OPEN:
        return False
    round_row.state = RoundState.COMPLETE
    round_row.completed_at = now
    # The result's row in the order of the outbox, in the trace of this message; its
    # payload is built once the batch's answers are written.
    enqueue_raw(
        uow.session,
        RESULTS,
        b"",
        message_id=str(result_message_id(round_row.id, 1)),
        key=message_key(uuid.UUID(round_row.id)),
        headers={"message_type": "", "correlation_id": round_row.correlation_id},
    )
    batch.completed.append((round_row, batch.pending.rows[OutboxRow][-1]))
    log_processing(
        uow,
        "iaj-broker",
        "round_completed",
        f"round {Completion.COMPLETE.value}",
        round_id=round_row.id,
        case_id=round_row.case_id,
    )
    return True


async def _handle_one(
    uow: UnitOfWork,
    raw: bytes,
    delivery: Delivery,
    envelope: AnswerEnvelope | MalformedMessage,
    batch: _Batch,
    keys: PartnerKeys,
    now: dt.datetime,
) -> AnswerReport:
    topic_partner = partner_of_answer_topic(delivery.topic)
    report = AnswerReport(partner=topic_partner.value if topic_partner else None)
    if isinstance(envelope, MalformedMessage):
        if _claim(batch, delivery.position):
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
    if not _claim(batch, f"answer:{envelope.message_id}"):
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
        context = batch.rounds.get(str(envelope.round_id))
        await _process(uow, batch, envelope, refuse, context, signatures, report, now)
    refuse.send()
    return report


async def _process(
    uow: UnitOfWork,
    batch: _Batch,
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
    partner, question_set_id = sender.value, str(envelope.in_reply_to)
    questions = {
        q.id: q
        for q in context.questions
        if q.partner == partner and q.question_set_id == question_set_id
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
        report.issued = await _resolve_dependents(uow, batch, context, newly_answered, now)
        if not any(q.status in _PENDING for q in context.questions):
            report.completed = _complete_round(uow, batch, context, now)


async def _resolve_dependents(
    uow: UnitOfWork,
    batch: _Batch,
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
        case = await _case_of(uow, batch, context.row.case_id)
        issue_question_sets(uow, context.row, case, to_issue, now)
    return len(to_issue)
