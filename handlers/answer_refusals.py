"""Refusing answer items: the refusal record (who, which question, why — never content) and
the notice that tells the partner, both in the transaction of the answer message.

Separate from `handlers.answers`, which decides what to refuse; this is what a refusal writes.
"""

from __future__ import annotations

import datetime as dt
import uuid

from contracts.enums import Colour, Partner
from contracts.errors import RefusalReason
from contracts.messages import RefusalNotice
from contracts.topics import message_key, refusal_topic
from contracts.wire import AnswerEnvelope
from handlers.db.tables import QuestionRow, RefusalRow
from handlers.db.uow import UnitOfWork
from handlers.outbox import enqueue

__all__ = ["Refuser"]


class Refuser:
    """Records refusals (who, which question, why — never content) and notifies the partner."""

    def __init__(
        self,
        uow: UnitOfWork,
        env: AnswerEnvelope,
        sender: Partner,
        refused: list[RefusalReason],
        now: dt.datetime,
    ) -> None:
        """`refused` is the message's `AnswerReport.refused`: each refusal adds its reason."""
        # The sender is the partner whose answer topic the message came on: only it can write
        # there, whatever the message claims.
        self.uow, self.env, self.sender, self.refused, self.now = uow, env, sender, refused, now
        self.colour: Colour | None = None

    def all(self, reason: RefusalReason, field: str) -> None:
        self.one(reason, field, None)

    def one(self, reason: RefusalReason, field: str | None, question: QuestionRow | None) -> None:
        self.refused.append(reason)
        question_id = question.id if question else None
        self.uow.session.add(
            RefusalRow(
                round_id=str(self.env.round_id),
                partner=self.sender.value,
                message_id=str(self.env.message_id),
                question_id=question_id,
                reason=reason.value,
                field=field,
                received_at=self.now,
            )
        )
        notice = RefusalNotice(
            message_id=uuid.uuid4(),
            round_id=self.env.round_id,
            correlation_id=self.env.correlation_id,
            policy=self.env.policy,
            created_at=self.now,
            partner=self.sender,
            in_reply_to=self.env.message_id,
            question_id=uuid.UUID(question_id) if question_id else None,
            reason=reason,
            field=field,
            colour=self.colour,
            explanation=reason.explanation,
        )
        enqueue(
            self.uow.session,
            refusal_topic(self.sender),
            notice,
            message_id=str(notice.message_id),
            key=message_key(self.env.round_id),
            headers={"partner": self.sender.value},
        )
