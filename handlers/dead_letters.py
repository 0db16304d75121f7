"""Messages that cannot be read go to iaj.deadletter, with the reason in headers, and are acked."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from contracts.enums import Partner
from contracts.topics import DEADLETTER, partner_of_answer_topic
from handlers.db.tables import DeadLetterRow
from handlers.db.uow import UnitOfWork
from handlers.inbox import claim
from handlers.outbox import enqueue_raw

__all__ = ["Delivery", "dead_letter", "dead_letter_failure"]


@dataclass(frozen=True)
class Delivery:
    """Where a consumed message came from: its log position identifies it when nothing else can."""

    topic: str
    partition: int
    offset: int
    key: bytes | None = None

    @property
    def position(self) -> str:
        return f"{self.topic}:{self.partition}:{self.offset}"


def dead_letter(
    uow: UnitOfWork,
    delivery: Delivery,
    raw: bytes,
    *,
    reason: str,
    detail: str,
    partner: Partner | None,
    now: dt.datetime,
) -> None:
    """Record the dead letter (no payload in the database) and forward the bytes. Caller commits."""
    uow.session.add(
        DeadLetterRow(
            topic=delivery.topic,
            partner=partner.value if partner else None,
            reason=reason,
            detail=detail[:500],
            received_at=now,
        )
    )
    enqueue_raw(
        uow.session,
        DEADLETTER,
        raw,
        # Derived from the log position: a redelivery re-creates the same id, not a new letter.
        message_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"iaj-deadletter:{delivery.position}")),
        key=delivery.key or b"",
        headers={
            "dlq_reason": reason,
            "dlq_detail": detail[:500],
            "dlq_source_topic": delivery.topic,
            "dlq_source_partition": str(delivery.partition),
            "dlq_source_offset": str(delivery.offset),
        },
    )


async def dead_letter_failure(
    uow: UnitOfWork, raw: bytes, delivery: Delivery, exc: BaseException, now: dt.datetime
) -> None:
    """A message whose processing failed unexpectedly: keep it for the operator, and commit."""
    if not await claim(uow, delivery.position, delivery.topic, now):
        return
    dead_letter(
        uow,
        delivery,
        raw,
        reason="processing_error",
        detail=f"{type(exc).__name__}; see the service log at this position",
        partner=partner_of_answer_topic(delivery.topic),
        now=now,
    )
    await uow.commit()
