"""Refusing answers: the refusal records (who, which question, why — never content) and the
one notice per message that tells the partner, both in the transaction of the message.

Separate from `handlers.answers`, which decides what to refuse; this is what a refusal writes.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid

from contracts.enums import Colour, Partner
from contracts.errors import MalformedMessage, RefusalReason
from contracts.messages import RecordPosition, RefusalNotice, RefusedItem
from contracts.policy import PolicyRef
from contracts.topics import message_key, refusal_topic
from contracts.wire import AnswerEnvelope
from handlers.db.pending import add_row
from handlers.db.tables import QuestionRow, RefusalRow
from handlers.db.uow import UnitOfWork
from handlers.dead_letters import Delivery
from handlers.outbox import enqueue
from handlers.processing_log import log_processing

__all__ = ["Refuser", "notify_malformed"]

log = logging.getLogger("handlers.answers")


class Refuser:
    """Collects the refusals of one answer message; `send()` records them and writes the one
    notice for the partner."""

    def __init__(
        self,
        uow: UnitOfWork,
        env: AnswerEnvelope,
        sender: Partner,
        delivery: Delivery,
        refused: list[RefusalReason],
        now: dt.datetime,
    ) -> None:
        """`refused` is the message's `AnswerReport.refused`: each refusal adds its reason."""
        # The sender is the partner whose answer topic the message came on: only it can write
        # there, whatever the message claims.
        self.uow, self.env, self.sender, self.now = uow, env, sender, now
        self.delivery, self.refused = delivery, refused
        # The round's label and policy, once the round is known: a notice repeats what we
        # hold, never what the message claims (its policy could be anything it made up).
        self.colour: Colour | None = None
        self.policy: PolicyRef | None = None
        # The case the refused answer was about, once the round is known: then the refusal
        # is a receipt of data about a youth, and the processing log names the partner.
        self.case_id: str | None = None
        self._whole: RefusalReason | None = None
        self._items: list[RefusedItem] = []

    def whole(self, reason: RefusalReason, field: str | None) -> None:
        """The message is refused as a whole: nothing of it is taken."""
        self._whole = reason
        self._record(reason, field, None)

    def item(self, reason: RefusalReason, field: str | None, question: QuestionRow | None) -> None:
        question_id = question.id if question else None
        self._items.append(
            RefusedItem(
                question_id=uuid.UUID(question_id) if question_id else None,
                reason=reason,
                field=field,
            )
        )
        self._record(reason, field, question_id)

    def send(self) -> None:
        """The notice, if anything was refused. Call once, after the last item."""
        reason = self._whole or (self._items[0].reason if self._items else None)
        if reason is None:
            return
        notice = RefusalNotice(
            partner=self.sender,
            in_reply_to=self.env.message_id,
            source=_position(self.delivery),
            round_id=self.env.round_id,
            correlation_id=self.env.correlation_id,
            policy=self.policy,
            created_at=self.now,
            reason=reason,
            items=tuple(self._items),
            colour=self.colour,
            explanation=reason.explanation,
        )
        _enqueue(self.uow, notice, key=message_key(self.env.round_id))
        reasons = sorted({r.value for r in self.refused})
        fields = {
            "event": "answer_refused",
            "partner": self.sender.value,
            "round_id": str(self.env.round_id),
            "correlation_id": str(self.env.correlation_id),
            "message_id": str(self.env.message_id),
            "notice_id": str(notice.message_id),
            "reasons": reasons,
            "whole": self._whole is not None,
            "items_refused": len(self._items),
        }
        # Who, which message, why: never the content (it is not kept either).
        self.uow.after_commit.append(
            lambda: log.info(
                "answer %s of %s refused: %s",
                fields["message_id"],
                fields["partner"],
                ", ".join(reasons),
                extra=fields,
            )
        )
        if self.case_id is not None:
            reasons = sorted({r.value for r in self.refused})
            log_processing(
                self.uow,
                f"partner:{self.sender.value}",
                "answers_refused",
                f"{f'{len(self._items)} item(s) of' if self._items else 'the whole'} message "
                f"{self.env.message_id} refused ({', '.join(reasons)}); content not kept",
                case_id=self.case_id,
                round_id=str(self.env.round_id),
                partner=self.sender.value,
            )

    def _record(self, reason: RefusalReason, field: str | None, question_id: str | None) -> None:
        self.refused.append(reason)
        add_row(
            self.uow.session,
            RefusalRow,
            {
                "round_id": str(self.env.round_id),
                "partner": self.sender.value,
                "message_id": str(self.env.message_id),
                "question_id": question_id,
                "reason": reason.value,
                "field": field,
                "received_at": self.now,
            },
        )


def notify_malformed(
    uow: UnitOfWork,
    sender: Partner,
    delivery: Delivery,
    error: MalformedMessage,
    now: dt.datetime,
) -> None:
    """Tell the partner its message could not be read: the reason, never a value of it."""
    notice = RefusalNotice(
        partner=sender,
        in_reply_to=error.message_id,
        source=_position(delivery),
        round_id=None,
        correlation_id=None,
        policy=None,
        created_at=now,
        reason=RefusalReason.MALFORMED,
        colour=None,
        detail=f"{error.reason.value}: {error.detail}"[:500],
        explanation=RefusalReason.MALFORMED.explanation,
    )
    # No key: the message's own key is the partner's bytes, which we do not keep.
    _enqueue(uow, notice, key=b"")


def _position(delivery: Delivery) -> RecordPosition:
    return RecordPosition(
        topic=delivery.topic, partition=delivery.partition, offset=delivery.offset
    )


def _enqueue(uow: UnitOfWork, notice: RefusalNotice, *, key: bytes) -> None:
    enqueue(
        uow.session,
        refusal_topic(notice.partner),
        notice,
        message_id=str(notice.message_id),
        key=key,
        headers={
            "partner": notice.partner.value,
            # The round's, like every message of a round (none for an unreadable message).
            **({"correlation_id": str(notice.correlation_id)} if notice.correlation_id else {}),
        },
    )
