"""One round as an operator sees it: its state, and per partner what was asked and answered.

Answer content is shown as stored, which is already scoped to the round's label.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from contracts.enums import AnswerShape, Colour, Partner
from handlers.db.tables import AnswerRow, LateAnswerRow, QuestionRow, RefusalRow, RoundRow
from handlers.db.uow import UnitOfWork
from handlers.errors import UnknownRound
from handlers.processing_log import log_view
from handlers.states import QuestionStatus, RoundState

__all__ = ["QuestionView", "RoundView", "round_view"]


@dataclass(frozen=True)
class QuestionView:
    question_id: str
    partner: Partner
    key: str
    subject_ref: str
    shape: AnswerShape
    status: QuestionStatus
    issued_at: dt.datetime | None
    closed_at: dt.datetime | None
    answer: Mapping[str, Any] | None  # the stored, label-scoped content; None unless answered


@dataclass(frozen=True)
class RoundView:
    round_id: str
    case_id: str
    colour: Colour
    state: RoundState
    policy_id: str
    policy_version: int
    opened_at: dt.datetime
    opened_by: str
    deadline: dt.datetime
    completed_at: dt.datetime | None
    questions: tuple[QuestionView, ...]
    refusals: int
    late_answers: int

    def by_partner(self) -> dict[Partner, list[QuestionView]]:
        """Questions grouped per partner, partners in the order of the Partner enum."""
        grouped: dict[Partner, list[QuestionView]] = {}
        for p in Partner:
            asked = [q for q in self.questions if q.partner is p]
            if asked:
                grouped[p] = asked
        return grouped

    def partners_with(self, status: QuestionStatus) -> list[Partner]:
        return [p for p, qs in self.by_partner().items() if any(q.status is status for q in qs)]


async def round_view(uow: UnitOfWork, round_id: str, *, actor: str | None) -> RoundView:
    """The round as an official sees it; logged when `actor` is given. Caller commits."""
    session = uow.session
    row = await session.get(RoundRow, round_id)
    if row is None:
        raise UnknownRound(f"no round {round_id!r}; `iaj status` counts the rounds there are")
    if actor is not None:
        log_view(uow, actor, "round shown (iaj round show)", case_id=row.case_id, round_id=row.id)
    questions = sorted(
        await session.scalars(select(QuestionRow).where(QuestionRow.round_id == round_id)),
        key=lambda q: (_subject_order(q.subject_ref), q.key),
    )
    answers = {
        a.question_id: a.content
        for a in await session.scalars(select(AnswerRow).where(AnswerRow.round_id == round_id))
    }
    refusals = await session.scalar(
        select(func.count()).select_from(RefusalRow).where(RefusalRow.round_id == round_id)
    )
    late = await session.scalar(
        select(func.count()).select_from(LateAnswerRow).where(LateAnswerRow.round_id == round_id)
    )
    return RoundView(
        round_id=row.id,
        case_id=row.case_id,
        colour=Colour(row.colour),
        state=RoundState(row.state),
        policy_id=row.policy_id,
        policy_version=row.policy_version,
        opened_at=row.opened_at,
        opened_by=row.opened_by,
        deadline=row.deadline,
        completed_at=row.completed_at,
        questions=tuple(
            QuestionView(
                question_id=q.id,
                partner=Partner(q.partner),
                key=q.key,
                subject_ref=q.subject_ref,
                shape=AnswerShape(q.shape),
                status=QuestionStatus(q.status),
                issued_at=q.issued_at,
                closed_at=q.closed_at,
                answer=answers.get(q.id),
            )
            for q in questions
        ),
        refusals=refusals or 0,
        late_answers=late or 0,
    )


def _subject_order(ref: str) -> int:
    """The youth first, then family members by number (gezinslid-10 after gezinslid-9)."""
    return 0 if ref == "jongere" else int(ref.rpartition("-")[2])
