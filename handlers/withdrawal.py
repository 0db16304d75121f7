"""Withdrawing questions from partners, and cancelling rounds.

A question is withdrawn when it is no longer asked: its round was cancelled (by a regisseur,
by uitstroom, by an erasure) or the case's label went down and the lower label does not ask
it. Each partner that was issued a withdrawn question gets one `Withdrawal` notice on its
question topic, through the outbox, in the transaction that withdrew it; its adapter drops the
pending questions. An answer to a withdrawn question is refused as late and its content is
never stored (`handlers.answers`).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import select

from contracts.enums import Partner
from contracts.messages import Completion, Withdrawal, WithdrawalReason
from contracts.policy import PolicyRef
from contracts.topics import message_key, question_topic
from handlers.completion import complete_round
from handlers.db.tables import QuestionRow, RoundRow
from handlers.db.uow import UnitOfWork
from handlers.outbox import enqueue
from handlers.processing_log import log_processing
from handlers.states import QuestionStatus, RoundState

__all__ = ["PENDING", "cancel_open_rounds", "cancel_round", "withdraw_questions"]

# Questions a partner may still be working on (or that may still be issued).
PENDING = (QuestionStatus.OPEN, QuestionStatus.WAITING)


def withdraw_questions(
    uow: UnitOfWork,
    round_row: RoundRow,
    questions: Sequence[QuestionRow],
    reason: WithdrawalReason,
    now: dt.datetime,
) -> list[Partner]:
    """Mark `questions` withdrawn, and tell each partner that was issued one. Returns the
    partners told. Only pending questions change; the caller commits."""
    issued: dict[Partner, list[uuid.UUID]] = defaultdict(list)
    for q in questions:
        if q.status not in PENDING:
            continue
        if q.issued_at is not None:
            issued[Partner(q.partner)].append(uuid.UUID(q.id))
        q.status = QuestionStatus.WITHDRAWN
        q.closed_at = now
    for partner, ids in issued.items():
        notice = Withdrawal(
            round_id=uuid.UUID(round_row.id),
            correlation_id=uuid.UUID(round_row.correlation_id),
            policy=PolicyRef(id=round_row.policy_id, version=round_row.policy_version),
            created_at=now,
            partner=partner,
            question_ids=tuple(ids),
            reason=reason,
        )
        enqueue(
            uow.session,
            question_topic(partner),
            notice,
            message_id=str(notice.message_id),
            key=message_key(notice.round_id),
            headers={"correlation_id": round_row.correlation_id},
        )
    return [p for p in Partner if p in issued]


async def cancel_round(
    uow: UnitOfWork,
    round_row: RoundRow,
    *,
    reason: WithdrawalReason,
    why: str,
    actor: str,
    now: dt.datetime,
) -> bool:
    """Stop an open round: withdraw its pending questions, publish its result as cancelled
    (with what was answered before), and log it. False if the round was no longer open."""
    if RoundState(round_row.state) is not RoundState.OPEN:
        return False
    questions = (
        await uow.session.scalars(select(QuestionRow).where(QuestionRow.round_id == round_row.id))
    ).all()
    told = withdraw_questions(uow, round_row, questions, reason, now)
    if not await complete_round(uow, round_row, Completion.CANCELLED, now):
        return False
    log_processing(
        uow,
        actor,
        "round_cancelled",
        f"{reason.value}: {why}; withdrawn from {', '.join(p.value for p in told) or 'nobody'}",
        case_id=round_row.case_id,
        round_id=round_row.id,
    )
    return True


async def cancel_open_rounds(
    uow: UnitOfWork,
    case_id: str,
    *,
    reason: WithdrawalReason,
    why: str,
    actor: str,
    now: dt.datetime,
) -> list[str]:
    """Cancel every open round of a case (uitstroom, erasure). Returns their ids."""
    rounds = (
        await uow.session.scalars(
            select(RoundRow)
            .where(RoundRow.case_id == case_id)
            .where(RoundRow.state == RoundState.OPEN)
            .with_for_update()
        )
    ).all()
    return [
        r.id
        for r in rounds
        if await cancel_round(uow, r, reason=reason, why=why, actor=actor, now=now)
    ]
