"""What the service's metrics read from the database: `iaj status` (handlers.status) plus what
an alert needs — when each partner last answered, dead letters by partner and reason, open
rounds past their deadline.

Counts, ages and times only: nothing here reads personal data or answer content. The service
takes a snapshot periodically (broker.service.metrics); a scrape never queries the database.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import func, select

from contracts.enums import Partner
from handlers.db.tables import AnswerRow, DeadLetterRow, RoundRow
from handlers.db.uow import UnitOfWork
from handlers.states import RoundState
from handlers.status import ServiceStatus, service_status

__all__ = ["OpsSnapshot", "ops_snapshot"]


@dataclass(frozen=True)
class OpsSnapshot:
    status: ServiceStatus
    # partner -> when its last accepted answer was received; absent: never (or purged)
    last_answer_at: Mapping[Partner, dt.datetime]
    # (partner code or "" when the message came from no partner, reason) -> count
    dead_letters: Mapping[tuple[str, str], int]
    # open rounds whose deadline has passed: the deadline watch should have completed them
    rounds_overdue: int

    @property
    def at(self) -> dt.datetime:
        return self.status.at


async def ops_snapshot(
    uow: UnitOfWork, now: dt.datetime, retention_interval: dt.timedelta | None = None
) -> OpsSnapshot:
    status = await service_status(uow, now, retention_interval)
    session = uow.session
    codes = {p.value: p for p in Partner}
    last = {
        codes[str(partner)]: at
        for partner, at in await session.execute(
            select(AnswerRow.partner, func.max(AnswerRow.received_at)).group_by(AnswerRow.partner)
        )
        if str(partner) in codes and at is not None
    }
    dead = {
        (str(partner or ""), str(reason)): int(n)
        for partner, reason, n in await session.execute(
            select(DeadLetterRow.partner, DeadLetterRow.reason, func.count()).group_by(
                DeadLetterRow.partner, DeadLetterRow.reason
            )
        )
    }
    overdue = (
        await session.scalar(
            select(func.count())
            .select_from(RoundRow)
            .where(RoundRow.state == RoundState.OPEN)
            .where(RoundRow.deadline < now)
        )
        or 0
    )
    return OpsSnapshot(
        status=status, last_answer_at=last, dead_letters=dead, rounds_overdue=int(overdue)
    )
