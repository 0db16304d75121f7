"""Erasure (AVG art. 17): a youth registered by mistake, or whose objection was granted.

`erase_case` cancels the open rounds (partners get a `Withdrawal`, the backend a cancelled
result) and deletes the personal data everywhere in the municipal database: the case, its
family members, rounds, questions, answers, late-answer and refusal records, and the outbox
messages about its rounds — except the withdrawal notices, refusal notices and results not yet
sent, which carry no name and must still reach the partners and the backend. The inbox holds
message ids only. The processing log keeps its entries (case and round ids, no names; any
occurrence of the erased names or address in a free-text purpose is replaced) and gets one
entry that the erasure happened, with its reason category.

`settle_storage`, after the commit, makes the database drop the deleted bytes: SQLite
overwrites deleted content (`secure_delete`, set on every connection by `handlers.db.engine`)
and the WAL is checkpointed and truncated; PostgreSQL vacuums the tables. What stays outside
the tables (PostgreSQL's WAL and backups, Kafka's topics) is described in docs/production.md.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import delete, select
from sqlalchemy.exc import DBAPIError

from contracts.messages import WithdrawalReason
from handlers.cases import get_case
from handlers.db.tables import (
    AnswerRow,
    CaseRow,
    FamilyMemberRow,
    LateAnswerRow,
    OutboxRow,
    ProcessingLogRow,
    QuestionRow,
    RefusalRow,
    RoundRow,
)
from handlers.db.uow import UnitOfWork
from handlers.processing_log import log_processing, redact_names
from handlers.states import RoundState
from handlers.withdrawal import cancel_open_rounds

__all__ = [
    "CASE_ERASED",
    "ErasurePreview",
    "ErasureReason",
    "ErasureReport",
    "erase_case",
    "erasure_preview",
    "settle_storage",
]

CASE_ERASED = "case_erased"
# Unsent messages about a round that name no one and must still go out after an erasure.
_STILL_TO_SEND = frozenset({"withdrawal", "round_result", "refusal"})
# The tables an erasure deletes from (vacuumed on PostgreSQL afterwards).
ERASED_TABLES = tuple(
    t.__tablename__
    for t in (
        CaseRow,
        FamilyMemberRow,
        RoundRow,
        QuestionRow,
        AnswerRow,
        LateAnswerRow,
        RefusalRow,
        OutboxRow,
        ProcessingLogRow,
    )
)


class ErasureReason(StrEnum):
    """Why a youth is erased: the category is logged, never a free text."""

    REGISTERED_BY_MISTAKE = "registered-by-mistake"
    OBJECTION_GRANTED = "objection-granted"


@dataclass(frozen=True)
class ErasureReport:
    case_id: str
    reason: ErasureReason
    cancelled_rounds: tuple[str, ...]
    rounds: int
    family_members: int
    answers: int
    outbox_dropped: int
    notices_kept: int  # withdrawals and results still to be sent: they name no one
    log_entries_redacted: int


@dataclass(frozen=True)
class ErasurePreview:
    """What an erasure would delete, to confirm it: ids and counts, nothing personal."""

    case_id: str
    registered_on: dt.date
    rounds: int
    open_rounds: int
    family_members: int


async def erasure_preview(uow: UnitOfWork, case_id: str) -> ErasurePreview:
    case = await get_case(uow, case_id)
    states = list(
        await uow.session.scalars(select(RoundRow.state).where(RoundRow.case_id == case_id))
    )
    return ErasurePreview(
        case_id=case_id,
        registered_on=case.registered_at.date(),
        rounds=len(states),
        open_rounds=sum(1 for s in states if s == RoundState.OPEN),
        family_members=len(case.family),
    )


async def erase_case(
    uow: UnitOfWork, case_id: str, *, reason: ErasureReason, actor: str, now: dt.datetime
) -> ErasureReport:
    """Cancel the case's open rounds and delete its personal data. Caller commits, then calls
    `settle_storage`."""
    case = await get_case(uow, case_id)
    secrets = [s for s in (case.naam, case.adres, *(m.naam for m in case.family)) if s]
    family_members = len(case.family)
    cancelled = await cancel_open_rounds(
        uow,
        case_id,
        reason=WithdrawalReason.ERASED,
        why=f"erasure ({reason.value})",
        actor=actor,
        now=now,
    )
    await uow.session.flush()  # the cancellations first: the deletes below go around the ORM
    round_ids = list(
        await uow.session.scalars(select(RoundRow.id).where(RoundRow.case_id == case_id))
    )
    dropped, kept = await _clear_outbox(uow, round_ids, secrets)
    answers = 0
    if round_ids:
        for model in (AnswerRow, LateAnswerRow, RefusalRow, QuestionRow):
            result = await uow.session.execute(
                delete(model)
                .where(model.round_id.in_(round_ids))
                .execution_options(synchronize_session=False)
            )
            if model is AnswerRow:
                answers = result.rowcount  # type: ignore[attr-defined]
    for owned, column in (
        (RoundRow, RoundRow.case_id),
        (FamilyMemberRow, FamilyMemberRow.case_id),
        (CaseRow, CaseRow.id),
    ):
        await uow.session.execute(
            delete(owned).where(column == case_id).execution_options(synchronize_session=False)
        )
    uow.session.expunge(case)
    redacted = await redact_names(uow, case_id, round_ids, secrets)
    log_processing(
        uow,
        actor,
        CASE_ERASED,
        f"erasure (AVG art. 17), {reason.value}: the case, {family_members} family member(s) "
        f"and {len(round_ids)} round(s) deleted ({len(cancelled)} open round(s) cancelled)",
        case_id=case_id,
    )
    return ErasureReport(
        case_id=case_id,
        reason=reason,
        cancelled_rounds=tuple(cancelled),
        rounds=len(round_ids),
        family_members=family_members,
        answers=answers,
        outbox_dropped=dropped,
        notices_kept=kept,
        log_entries_redacted=redacted,
    )


async def _clear_outbox(
    uow: UnitOfWork, round_ids: list[str], secrets: list[str]
) -> tuple[int, int]:
    """Delete the outbox rows about the rounds (question sets and corrections carry names)
    but the unsent notices and results that name no one. Returns (dropped, kept)."""
    if not round_ids:
        return 0, 0
    rows = await uow.session.execute(
        select(OutboxRow.id, OutboxRow.headers, OutboxRow.sent_at, OutboxRow.payload).where(
            OutboxRow.key.in_([r.encode() for r in round_ids])
        )
    )
    needles = [s.encode() for s in secrets]
    drop, kept = [], 0
    for row_id, headers, sent_at, payload in rows:
        nameless = not any(n in payload for n in needles)
        if sent_at is None and headers.get("message_type") in _STILL_TO_SEND and nameless:
            kept += 1
        else:
            drop.append(row_id)
    if drop:
        await uow.session.execute(
            delete(OutboxRow)
            .where(OutboxRow.id.in_(drop))
            .execution_options(synchronize_session=False)
        )
    return len(drop), kept


async def settle_storage(uow: UnitOfWork) -> str | None:
    """After the erasure committed: make the database drop the deleted bytes. Returns None
    when done, else what remains and what to do (nothing personal in it)."""
    connection = await uow.session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    dialect = connection.dialect.name
    try:
        if dialect == "sqlite":
            busy, *_ = (await connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")).one()
            if busy:
                return (
                    "the database file was in use, so its write-ahead log (the -wal file) may "
                    "still hold the erased data until the next checkpoint: stop `iaj serve` "
                    "and run the erasure's checkpoint again with "
                    "`sqlite3 FILE 'PRAGMA wal_checkpoint(TRUNCATE)'`"
                )
        elif dialect == "postgresql":
            await connection.exec_driver_sql(f"VACUUM {', '.join(ERASED_TABLES)}")
    except DBAPIError as exc:
        return (
            f"the database could not clean up after the erasure ({type(exc.orig).__name__}): "
            f"ask the database administrator to run VACUUM on {', '.join(ERASED_TABLES)}"
        )
    finally:
        await uow.session.close()
    return None
