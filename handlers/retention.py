"""Retention as the convenant fixes it.

- The youth's personal data: at most 1 year after the youth left the approach (uitstroom).
- The dossier: at most 5 years after its last processing.
Purging deletes the case with everything that refers to it: family members, rounds, questions,
answers, refusal and late-answer records. The processing log keeps its entries (they name no
one: case ids only) and records the purge itself.

The same run keeps the operational tables small: sent outbox messages, inbox entries that no
redelivery can need any more, and old dead-letter records.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, func, or_, select

from handlers.cases import get_case
from handlers.db.tables import (
    AnswerRow,
    CaseRow,
    DeadLetterRow,
    FamilyMemberRow,
    InboxRow,
    LateAnswerRow,
    OutboxRow,
    ProcessingLogRow,
    QuestionRow,
    RefusalRow,
    RoundRow,
)
from handlers.db.uow import UnitOfWork
from handlers.errors import CaseRejected
from handlers.processing_log import VIEW_ACTIONS, log_processing

__all__ = [
    "AFTER_LAST_PROCESSING",
    "AFTER_UITSTROOM",
    "DEAD_LETTERS_KEPT",
    "INBOX_KEPT",
    "due_for_purge",
    "purge",
    "record_uitstroom",
]

AFTER_UITSTROOM = dt.timedelta(days=365)
AFTER_LAST_PROCESSING = dt.timedelta(days=5 * 365)
OUTBOX_KEPT_AFTER_SENDING = dt.timedelta(days=1)
# An inbox entry guards against a redelivery, which Kafka can make only while it still holds
# the message: longer than the transport topics' retention (14 days, see
# devtools.generators.kafka_topics).
INBOX_KEPT = dt.timedelta(days=30)
# What `iaj status` counts; the bytes themselves stay 7 days on iaj.deadletter.
DEAD_LETTERS_KEPT = dt.timedelta(days=90)


@dataclass(frozen=True)
class PurgeDue:
    case_id: str
    why: str


async def record_uitstroom(
    uow: UnitOfWork, case_id: str, on: dt.date, *, actor: str, today: dt.date
) -> None:
    """The youth left the approach (and received the uitstroombrief). Caller commits."""
    case = await get_case(uow, case_id)
    if case.left_on is not None:
        # Once: recording it again would restart the year after which the data must go.
        raise CaseRejected(
            "left_on",
            f"the uitstroom was recorded already (on {case.left_on.isoformat()}); it cannot "
            "be moved, so the retention period cannot restart",
        )
    if on > today:
        raise CaseRejected("left_on", "the uitstroom date lies in the future")
    if case.informed_on is not None and on < case.informed_on:
        raise CaseRejected("left_on", "the uitstroom date lies before the informing letter")
    case.left_on = on
    log_processing(uow, actor, "uitstroom_recorded", "youth left the approach", case_id=case_id)


async def due_for_purge(uow: UnitOfWork, today: dt.date) -> list[PurgeDue]:
    """Cases whose retention period is over, with the rule that ended it."""
    last = (
        select(ProcessingLogRow.case_id, func.max(ProcessingLogRow.at).label("last"))
        .where(ProcessingLogRow.case_id.is_not(None))
        .where(ProcessingLogRow.action.not_in(VIEW_ACTIONS))
        .group_by(ProcessingLogRow.case_id)
        .subquery()
    )
    left_before = today - AFTER_UITSTROOM
    processed_before = dt.datetime.combine(today - AFTER_LAST_PROCESSING, dt.time(), tzinfo=dt.UTC)
    rows = (
        await uow.session.execute(
            select(CaseRow.id, CaseRow.left_on, last.c.last)
            .outerjoin(last, last.c.case_id == CaseRow.id)
            .where(
                or_(
                    CaseRow.left_on < left_before,
                    func.coalesce(last.c.last, CaseRow.registered_at) < processed_before,
                )
            )
            .order_by(CaseRow.id)
        )
    ).all()
    return [
        PurgeDue(
            case_id,
            "1 year after uitstroom"
            if left_on is not None and left_on < left_before
            else "5 years after the last processing",
        )
        for case_id, left_on, _ in rows
    ]


async def purge(uow: UnitOfWork, due: list[PurgeDue], *, actor: str, now: dt.datetime) -> int:
    """Delete the cases in `due` and all that refers to them. Caller commits.

    Published messages are also dropped from the outbox a day after they were sent: the
    question sets there carry names, and Kafka (with its own retention) now holds them.
    """
    await uow.session.execute(
        delete(OutboxRow).where(OutboxRow.sent_at < now - OUTBOX_KEPT_AFTER_SENDING)
    )
    await uow.session.execute(delete(InboxRow).where(InboxRow.processed_at < now - INBOX_KEPT))
    await uow.session.execute(
        delete(DeadLetterRow).where(DeadLetterRow.received_at < now - DEAD_LETTERS_KEPT)
    )
    for item in due:
        rounds = select(RoundRow.id).where(RoundRow.case_id == item.case_id)
        round_keys = [r.encode() for r in await uow.session.scalars(rounds)]
        # Unsent messages about the case (keyed by round id) are not to be sent any more.
        await uow.session.execute(delete(OutboxRow).where(OutboxRow.key.in_(round_keys)))
        for table in (AnswerRow, LateAnswerRow):
            await uow.session.execute(delete(table).where(table.round_id.in_(rounds)))
        await uow.session.execute(delete(RefusalRow).where(RefusalRow.round_id.in_(rounds)))
        await uow.session.execute(delete(QuestionRow).where(QuestionRow.round_id.in_(rounds)))
        await uow.session.execute(delete(RoundRow).where(RoundRow.case_id == item.case_id))
        await uow.session.execute(
            delete(FamilyMemberRow).where(FamilyMemberRow.case_id == item.case_id)
        )
        await uow.session.execute(delete(CaseRow).where(CaseRow.id == item.case_id))
        log_processing(uow, actor, "case_purged", f"retention: {item.why}", case_id=item.case_id)
    return len(due)
