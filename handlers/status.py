"""What operations watch: per-partner backlog, round states, the outbox and dead letters.

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
    DeadLetterRow,
    LateAnswerRow,
    OutboxRow,
    QuestionRow,
    RefusalRow,
    RoundRow,
)
from handlers.db.uow import UnitOfWork
from handlers.states import QuestionStatus, RoundState

__all__ = ["OutboxStatus", "PartnerStatus", "ServiceStatus", "service_status"]


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
class ServiceStatus:
    at: dt.datetime
    partners: tuple[PartnerStatus, ...]
    rounds: Mapping[RoundState, int]
    outbox: OutboxStatus
    dead_letters: Mapping[str, int]  # reason -> count

    @property
    def dead_letters_total(self) -> int:
        return sum(self.dead_letters.values())


async def service_status(uow: UnitOfWork, now: dt.datetime) -> ServiceStatus:
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
