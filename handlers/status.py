"""What operations watch: per-partner backlog, round states, the outbox and dead letters,
the retention passes, and the cases that left without a recorded uitstroombrief.

Counts and ages only: nothing here reads personal data or answer content.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import InstrumentedAttribute

from contracts.enums import Partner
from handlers.db.tables import (
    AnswerRow,
    CaseRow,
    DeadLetterRow,
    LateAnswerRow,
    OutboxRow,
    QuestionRow,
    RefusalRow,
    RoundRow,
)
from handlers.db.uow import UnitOfWork
from handlers.retention import last_run
from handlers.states import QuestionStatus, RoundState

__all__ = ["OutboxStatus", "PartnerStatus", "RetentionStatus", "ServiceStatus", "service_status"]


@dataclass(frozen=True)
class PartnerStatus:
    partner: Partner
    outstanding: int  # open questions in open rounds
    oldest_outstanding: dt.timedelta | None  # how long the oldest of them has been waiting
    answered: int
    refused: int
    late: int
    dead_lettered: int


@dataclass(frozen=True)
class OutboxStatus:
    unsent: int
    oldest_unsent: dt.timedelta | None


@dataclass(frozen=True)
class RetentionStatus:
    last_at: dt.datetime | None  # the last pass recorded in job_runs; None: never
    last_detail: str | None  # what it did ("3 case(s) deleted")
    # When the service's next pass is due: the last + the interval; None: at its next start-up
    # (there was no pass yet). A pass overdue means the service is not running.
    next_at: dt.datetime | None


@dataclass(frozen=True)
class ServiceStatus:
    at: dt.datetime
    partners: tuple[PartnerStatus, ...]
    rounds: Mapping[RoundState, int]
    outbox: OutboxStatus
    dead_letters: Mapping[str, int]  # reason -> count
    retention: RetentionStatus
    # Cases that left the approach (uitstroom) with no uitstroombrief recorded: a regisseur
    # still has to send it (the age-limit uitstroom records none).
    left_without_uitstroombrief: int

    @property
    def dead_letters_total(self) -> int:
        return sum(self.dead_letters.values())


async def service_status(
    uow: UnitOfWork, now: dt.datetime, retention_interval: dt.timedelta | None = None
) -> ServiceStatus:
    """`retention_interval`: the service's (settings), to say when its next pass is due."""
    session = uow.session
    outstanding = {
        row.partner: (row.n, row.oldest)
        for row in await session.execute(
            select(
                QuestionRow.partner,
                func.count().label("n"),
                func.min(QuestionRow.issued_at).label("oldest"),
            )
            .join(RoundRow, RoundRow.id == QuestionRow.round_id)
            .where(QuestionRow.status == QuestionStatus.OPEN)
            .where(RoundRow.state == RoundState.OPEN)
            .group_by(QuestionRow.partner)
        )
    }
    answered = await _count_by(uow, AnswerRow.partner)
    refused = await _count_by(uow, RefusalRow.partner)
    late = await _count_by(uow, LateAnswerRow.partner)
    dead = await _count_by(uow, DeadLetterRow.partner)
    partners = []
    for p in Partner:
        n, oldest = outstanding.get(p.value, (0, None))
        partners.append(
            PartnerStatus(
                partner=p,
                outstanding=n,
                oldest_outstanding=_age(now, oldest),
                answered=answered.get(p.value, 0),
                refused=refused.get(p.value, 0),
                late=late.get(p.value, 0),
                dead_lettered=dead.get(p.value, 0),
            )
        )
    states = await _count_by(uow, RoundRow.state)
    unsent = (
        await session.execute(
            select(func.count(), func.min(OutboxRow.created_at)).where(OutboxRow.sent_at.is_(None))
        )
    ).one()
    return ServiceStatus(
        at=now,
        partners=tuple(partners),
        rounds={s: states.get(s.value, 0) for s in RoundState},
        outbox=OutboxStatus(unsent=unsent[0], oldest_unsent=_age(now, unsent[1])),
        dead_letters=dict(sorted((await _count_by(uow, DeadLetterRow.reason)).items())),
        retention=await _retention(uow, retention_interval),
        left_without_uitstroombrief=await session.scalar(
            select(func.count())
            .select_from(CaseRow)
            .where(CaseRow.left_on.is_not(None))
            .where(CaseRow.uitstroombrief_on.is_(None))
        )
        or 0,
    )


async def _retention(uow: UnitOfWork, interval: dt.timedelta | None) -> RetentionStatus:
    last = await last_run(uow)
    if last is None:
        return RetentionStatus(last_at=None, last_detail=None, next_at=None)
    return RetentionStatus(
        last_at=last.finished_at,
        last_detail=last.detail,
        next_at=None if interval is None else last.finished_at + interval,
    )


async def _count_by(uow: UnitOfWork, column: InstrumentedAttribute[str | None]) -> dict[str, int]:
    """Rows per value of `column` (NULL not counted)."""
    rows = await uow.session.execute(
        select(column, func.count()).where(column.is_not(None)).group_by(column)
    )
    return {str(key): int(n) for key, n in rows}


def _age(now: dt.datetime, since: dt.datetime | None) -> dt.timedelta | None:
    # Clocks of several hosts write these rows; a small negative age reads as zero.
    return None if since is None else max(now - since, dt.timedelta(0))
