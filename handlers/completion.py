"""Completing rounds: when every question that applies is answered, or at the deadline.

Completion publishes exactly one result per round: the state change and the outbox row are
written in one transaction, and only a round still `open` can complete.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from sqlalchemy import select, update

from contracts.enums import AnswerShape, Colour, Partner
from contracts.messages import (
    AnswerItem,
    Completion,
    OutcomeStatus,
    PartnerResult,
    QuestionOutcome,
    RoundResult,
)
from contracts.policy import PolicyRef
from contracts.topics import RESULTS, message_key
from handlers.db.tables import AnswerRow, QuestionRow, RoundRow
from handlers.db.uow import UnitOfWork
from handlers.outbox import enqueue
from handlers.processing_log import log_processing
from handlers.states import QuestionStatus, RoundState

__all__ = [
    "COMPLETION_OF_STATE",
    "build_result",
    "complete_round",
    "enqueue_result",
    "expire_overdue",
    "result_message_id",
    "result_of",
]

_OUTCOME = {
    QuestionStatus.ANSWERED: OutcomeStatus.ANSWERED,
    QuestionStatus.EXPIRED: OutcomeStatus.EXPIRED,
    QuestionStatus.NOT_APPLICABLE: OutcomeStatus.NOT_APPLICABLE,
    QuestionStatus.WITHDRAWN: OutcomeStatus.WITHDRAWN,
}
_STATE = {
    Completion.COMPLETE: RoundState.COMPLETE,
    Completion.DEADLINE: RoundState.DEADLINE,
    Completion.CANCELLED: RoundState.CANCELLED,
}
# A closed round's state, as the completion its result reports.
COMPLETION_OF_STATE = {state: how for how, state in _STATE.items()}


def enqueue_result(
    uow: UnitOfWork,
    round_row: RoundRow,
    message: RoundResult,
    *,
    headers: dict[str, str] | None = None,
) -> None:
    """Put a round's result in the outbox for `iaj.results`, keyed by its round."""
    enqueue(
        uow.session,
        RESULTS,
        message,
        message_id=str(message.message_id),
        key=message_key(message.round_id),
        headers={"correlation_id": round_row.correlation_id, **(headers or {})},
    )


async def expire_overdue(uow: UnitOfWork, now: dt.datetime) -> list[str]:
    """Complete every open round past its deadline; returns their ids. Caller commits."""
    overdue = (
        await uow.session.scalars(
            select(RoundRow)
            .where(RoundRow.state == RoundState.OPEN)
            .where(RoundRow.deadline <= now)
            .order_by(RoundRow.deadline)
            .limit(200)
            # Rounds first, then their questions, as the answer consumer locks them: a round
            # whose answers are being processed right now is expired on the next pass.
            .with_for_update(skip_locked=True)
        )
    ).all()
    done = []
    for round_row in overdue:
        for old, new in (
            (QuestionStatus.OPEN, QuestionStatus.EXPIRED),
            (QuestionStatus.WAITING, QuestionStatus.NOT_APPLICABLE),
        ):
            await uow.session.execute(
                update(QuestionRow)
                .where(QuestionRow.round_id == round_row.id)
                .where(QuestionRow.status == old)
                .values(status=new, closed_at=now)
            )
        if await complete_round(uow, round_row, Completion.DEADLINE, now):
            done.append(round_row.id)
    return done


async def complete_round(
    uow: UnitOfWork, round_row: RoundRow, how: Completion, now: dt.datetime
) -> bool:
    # A conditional update: of two racing completions only one sees rowcount 1.
    state = _STATE[how]
    result = await uow.session.execute(
        update(RoundRow)
        .where(RoundRow.id == round_row.id)
        .where(RoundRow.state == RoundState.OPEN)
        .values(state=state, completed_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return False
    round_row.state = state
    round_row.completed_at = now
    message = await build_result(uow, round_row, how)
    enqueue_result(uow, round_row, message)
    log_processing(
        uow,
        "iaj-broker",
        "round_completed",
        f"round {how.value}",
        round_id=round_row.id,
        case_id=round_row.case_id,
    )
    return True


def result_message_id(round_id: str, revision: int) -> uuid.UUID:
    """Derived from the round id (and the revision): a rebuilt result keeps the id consumers
    de-duplicate on. Revision 1 keeps the id results always had."""
    name = "round_result" if revision == 1 else f"round_result:{revision}"
    return uuid.uuid5(uuid.UUID(round_id), name)


async def build_result(
    uow: UnitOfWork,
    round_row: RoundRow,
    how: Completion,
    *,
    revision: int = 1,
    created_at: dt.datetime | None = None,
    only: Collection[tuple[str, str, str]] | None = None,
) -> RoundResult:
    """The round's result as stored now. A `revision` above 1 (re-published after afschalen)
    gets its own message id and `created_at` (the moment of re-publishing); `only`, the
    (partner, key, subject_ref) of the questions to report (the lower label's), else all."""
    questions = (
        await uow.session.scalars(
            select(QuestionRow)
            .where(QuestionRow.round_id == round_row.id)
            .order_by(QuestionRow.partner, QuestionRow.subject_ref, QuestionRow.key)
        )
    ).all()
    contents = {
        a.question_id: a.content
        for a in await uow.session.scalars(
            select(AnswerRow).where(AnswerRow.round_id == round_row.id)
        )
    }
    return result_of(
        round_row, questions, contents, how, revision=revision, created_at=created_at, only=only
    )


def result_of(
    round_row: RoundRow,
    questions: Sequence[QuestionRow],
    contents: Mapping[str, dict[str, Any]],
    how: Completion,
    *,
    revision: int = 1,
    created_at: dt.datetime | None = None,
    only: Collection[tuple[str, str, str]] | None = None,
) -> RoundResult:
    """`build_result` from rows already loaded: the round's `questions` in result order
    (partner, subject_ref, key) and the stored answers' `contents` by question id."""
    per_partner: dict[Partner, list[QuestionOutcome]] = defaultdict(list)
    for q in questions:
        if only is not None and (q.partner, q.key, q.subject_ref) not in only:
            continue
        answer = contents.get(q.id)
        per_partner[Partner(q.partner)].append(
            QuestionOutcome(
                question_id=uuid.UUID(q.id) if q.issued_at else None,
                key=q.key,
                subject_ref=q.subject_ref,
                shape=AnswerShape(q.shape),
                status=_OUTCOME[QuestionStatus(q.status)],
                answer=AnswerItem.model_validate_json(json.dumps({"question_id": q.id, **answer}))
                if answer
                else None,
            )
        )
    assert round_row.completed_at is not None
    return RoundResult(
        message_id=result_message_id(round_row.id, revision),
        round_id=uuid.UUID(round_row.id),
        correlation_id=uuid.UUID(round_row.correlation_id),
        policy=PolicyRef(id=round_row.policy_id, version=round_row.policy_version),
        created_at=created_at or round_row.completed_at,
        case_id=uuid.UUID(round_row.case_id),
        colour=Colour(round_row.colour),
        revision=revision,
        completion=how,
        opened_at=round_row.opened_at,
        completed_at=round_row.completed_at,
        partners=tuple(
            PartnerResult(partner=p, questions=tuple(per_partner[p]))
            for p in Partner
            if p in per_partner
        ),
    )
