"""Retention as the convenant fixes it.

- The youth's personal data: at most 1 year after the youth left the approach (uitstroom).
- The dossier: at most 5 years after its last processing.
Purging deletes the case with everything that refers to it: family members, rounds, questions,
answers, refusal and late-answer records. The processing log keeps its entries (they name no
one: case ids only) and records the purge itself.

The same run keeps the operational tables small: sent outbox messages, inbox entries that no
redelivery can need any more, and old dead-letter records.

`purge_due` is a whole pass as the service runs it (at start-up and then every
`retention_interval_seconds`) and `iaj retention purge` once: cases in batches, one
transaction each, and a `job_runs` row saying what the pass did (`iaj status` shows it).
Recording uitstroom is in handlers.uitstroom.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, func, or_, select

from handlers.db.tables import (
    AnswerRow,
    CaseRow,
    DeadLetterRow,
    FamilyMemberRow,
    InboxRow,
    JobRunRow,
    LateAnswerRow,
    OutboxRow,
    ProcessingLogRow,
    QuestionRow,
    RefusalRow,
    RoundRow,
)
from handlers.db.uow import UnitOfWork
from handlers.processing_log import VIEW_ACTIONS, log_processing, redact_names

__all__ = [
    "AFTER_LAST_PROCESSING",
    "AFTER_UITSTROOM",
    "DEAD_LETTERS_KEPT",
    "INBOX_KEPT",
    "RETENTION_JOB",
    "PurgeDue",
    "due_for_purge",
    "last_run",
    "purge",
    "purge_due",
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
# The `job_runs.job` of a retention pass.
RETENTION_JOB = "retention"


@dataclass(frozen=True)
class PurgeDue:
    case_id: str
    why: str


@dataclass(frozen=True)
class JobRun:
    finished_at: dt.datetime
    detail: str


async def due_for_purge(
    uow: UnitOfWork, today: dt.date, *, limit: int | None = None, lock: bool = False
) -> list[PurgeDue]:
    """Cases whose retention period is over, with the rule that ended it: at most `limit`.
    `lock`: for deleting them; a case another pass is deleting at this moment is skipped."""
    last = (
        select(ProcessingLogRow.case_id, func.max(ProcessingLogRow.at).label("last"))
        .where(ProcessingLogRow.case_id.is_not(None))
        .where(ProcessingLogRow.action.not_in(VIEW_ACTIONS))
        .group_by(ProcessingLogRow.case_id)
        .subquery()
    )
    left_before = today - AFTER_UITSTROOM
    processed_before = dt.datetime.combine(today - AFTER_LAST_PROCESSING, dt.time(), tzinfo=dt.UTC)
    query = (
        select(CaseRow.id, CaseRow.left_on, last.c.last)
        .outerjoin(last, last.c.case_id == CaseRow.id)
        .where(
            or_(
                CaseRow.left_on < left_before,
                func.coalesce(last.c.last, CaseRow.registered_at) < processed_before,
            )
        )
        .order_by(CaseRow.id)
        .limit(limit)
    )
    if lock:
        query = query.with_for_update(of=CaseRow, skip_locked=True)
    rows = (await uow.session.execute(query)).all()
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
    await _purge_transport_records(uow, now)
    await _purge_cases(uow, due, actor=actor)
    return len(due)


async def purge_due(
    uow: UnitOfWork, *, today: dt.date, now: dt.datetime, actor: str, batch_size: int
) -> list[PurgeDue]:
    """A whole retention pass: the old transport records, then every case due on `today`,
    `batch_size` per transaction, then a `job_runs` row saying how many went. Commits (each
    batch and the record of the pass); returns the cases deleted."""
    await _purge_transport_records(uow, now)
    await uow.commit()
    deleted: list[PurgeDue] = []
    while True:
        batch = await due_for_purge(uow, today, limit=batch_size, lock=True)
        await _purge_cases(uow, batch, actor=actor)
        await uow.commit()
        deleted += batch
        if len(batch) < batch_size:
            break
    uow.session.add(
        JobRunRow(job=RETENTION_JOB, finished_at=now, detail=f"{len(deleted)} case(s) deleted")
    )
    await uow.commit()
    return deleted


async def last_run(uow: UnitOfWork, job: str = RETENTION_JOB) -> JobRun | None:
    """The latest recorded pass of `job`, if there was one."""
    row = await uow.session.scalar(
        select(JobRunRow)
        .where(JobRunRow.job == job)
        .order_by(JobRunRow.finished_at.desc(), JobRunRow.id.desc())
        .limit(1)
    )
    return None if row is None else JobRun(row.finished_at, row.detail)


async def _purge_transport_records(uow: UnitOfWork, now: dt.datetime) -> None:
    await uow.session.execute(
        delete(OutboxRow).where(OutboxRow.sent_at < now - OUTBOX_KEPT_AFTER_SENDING)
    )
    await uow.session.execute(delete(InboxRow).where(InboxRow.processed_at < now - INBOX_KEPT))
    await uow.session.execute(
        delete(DeadLetterRow).where(DeadLetterRow.received_at < now - DEAD_LETTERS_KEPT)
    )


async def _purge_cases(uow: UnitOfWork, due: list[PurgeDue], *, actor: str) -> None:
    for item in due:
        rounds = select(RoundRow.id).where(RoundRow.case_id == item.case_id)
        round_ids = list(await uow.session.scalars(rounds))
        round_keys = [r.encode() for r in round_ids]
        case = await uow.session.get(CaseRow, item.case_id)
        if case is not None:  # a reason typed by an official may have named the youth
            secrets = [s for s in (case.naam, case.adres, *(m.naam for m in case.family)) if s]
            await redact_names(uow, item.case_id, round_ids, secrets)
            uow.session.expunge(case)
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
