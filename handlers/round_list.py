"""The rounds as an operator lists them: ids, colour, state, dates, where questions wait.

Ids and counts only, never a name or an answer: listing rounds is not a processing of the
youth's personal data, so it is not logged (`iaj round show` is, it shows answers).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import func, select

from contracts.enums import Colour, Partner
from handlers.db.tables import QuestionRow, RoundRow
from handlers.db.uow import UnitOfWork
from handlers.states import QuestionStatus, RoundState

__all__ = ["RoundList", "RoundSummary", "list_rounds"]


@dataclass(frozen=True)
class RoundSummary:
    round_id: str
    case_id: str
    colour: Colour
    state: RoundState
    opened_at: dt.datetime
    deadline: dt.datetime
    completed_at: dt.datetime | None
    # Per partner, its questions still open (issued, no accepted answer): the partners the
    # round waits for. Empty once the round is closed.
    outstanding: dict[Partner, int] = field(default_factory=dict)


@dataclass(frozen=True)
class RoundList:
    rounds: tuple[RoundSummary, ...]  # newest first, at most `limit`
    matching: int  # how many match the filters in all


async def list_rounds(
    uow: UnitOfWork,
    *,
    state: RoundState | None = None,
    case_id: str | None = None,
    outstanding_at: Partner | None = None,
    limit: int = 100,
) -> RoundList:
    """The rounds matching every filter given, newest first. Reads only.

    `outstanding_at`: only rounds with an open question at that partner."""
    query = select(RoundRow)
    if state is not None:
        query = query.where(RoundRow.state == state.value)
    if case_id is not None:
        query = query.where(RoundRow.case_id == case_id)
    if outstanding_at is not None:
        waiting = (
            select(QuestionRow.id)
            .where(QuestionRow.round_id == RoundRow.id)
            .where(QuestionRow.partner == outstanding_at.value)
            .where(QuestionRow.status == QuestionStatus.OPEN.value)
        )
        query = query.where(waiting.exists())
    matching = await uow.session.scalar(select(func.count()).select_from(query.subquery()))
    rows = list(
        await uow.session.scalars(
            query.order_by(RoundRow.opened_at.desc(), RoundRow.id).limit(limit)
        )
    )
    open_per_round: dict[str, dict[Partner, int]] = defaultdict(dict)
    if rows:
        counts = await uow.session.execute(
            select(QuestionRow.round_id, QuestionRow.partner, func.count())
            .where(QuestionRow.round_id.in_([r.id for r in rows]))
            .where(QuestionRow.status == QuestionStatus.OPEN.value)
            .group_by(QuestionRow.round_id, QuestionRow.partner)
        )
        for round_id, partner, n in counts:
            open_per_round[round_id][Partner(partner)] = n
    summaries = tuple(
        RoundSummary(
            round_id=r.id,
            case_id=r.case_id,
            colour=Colour(r.colour),
            state=RoundState(r.state),
            opened_at=r.opened_at,
            deadline=r.deadline,
            completed_at=r.completed_at,
            outstanding={p: open_per_round[r.id][p] for p in Partner if p in open_per_round[r.id]},
        )
        for r in rows
    )
    return RoundList(summaries, matching or 0)
