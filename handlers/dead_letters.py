"""Messages that cannot be read go to iaj.deadletter, with the reason in headers, and are acked.

The bytes never touch the database: they are published straight to iaj.deadletter before
the transaction that records the dead letter commits (`UnitOfWork.publish_first`). The
database keeps the reason, where the message was (topic, partition, offset) and its size.
After a crash between publishing and committing the dead letter is published again when the
message is redelivered: the same `dlq_id` header marks the repeat.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

from contracts.enums import Partner
from contracts.topics import DEADLETTER, partner_of_answer_topic
from handlers.db.tables import DeadLetterRow
from handlers.db.uow import DirectMessage, UnitOfWork
from handlers.inbox import claim

__all__ = ["Delivery", "dead_letter", "dead_letter_failure", "dlq_id"]

log = logging.getLogger("handlers.dead_letters")


@dataclass(frozen=True)
class Delivery:
    """Where a consumed message came from: its log position identifies it when nothing else can."""

    topic: str
    partition: int
    offset: int
    key: bytes | None = None
    # The record's headers (decoded): message and correlation ids, the W3C `traceparent`.
    headers: Mapping[str, str] = field(default_factory=dict, compare=False)

    @property
    def position(self) -> str:
        return f"{self.topic}:{self.partition}:{self.offset}"

    def log_fields(self) -> dict[str, str | int]:
        """Ids for a log line's `extra` (never content): where it was, and the headers' ids."""
        fields: dict[str, str | int] = {
            "source_topic": self.topic,
            "source_partition": self.partition,
            "source_offset": self.offset,
        }
        for name in ("message_id", "correlation_id"):
            if self.headers.get(name):
                fields[name] = self.headers[name][:64]
        return fields


def dlq_id(position: str) -> str:
    """The `dlq_id` header of the dead letter of the message at `position` (topic:partition:
    offset). Derived from the log position: a redelivery re-creates the same id."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"iaj-deadletter:{position}"))


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
    """Record the dead letter (never its bytes) and have the bytes published to
    iaj.deadletter when the caller commits."""
    uow.session.add(
        DeadLetterRow(
            topic=delivery.topic,
            partition=delivery.partition,
            offset=delivery.offset,
            size_bytes=len(raw),
            partner=partner.value if partner else None,
            reason=reason,
            detail=detail[:500],
            received_at=now,
        )
    )
    letter_id = dlq_id(delivery.position)
    fields = {
        **delivery.log_fields(),
        "event": "dead_letter",
        "reason": reason,
        "partner": partner.value if partner else None,
        "dlq_id": letter_id,
        "size_bytes": len(raw),
    }
    # The reason and ids only: the detail may quote an official's name or the message.
    uow.after_commit.append(
        lambda: log.warning(
            "dead letter %s: %s from %s", letter_id, reason, delivery.position, extra=fields
        )
    )
    uow.publish_first(
        DirectMessage(
            topic=DEADLETTER,
            value=raw,
            key=delivery.key or b"",
            headers={
                "message_id": letter_id,
                "dlq_id": letter_id,
                "dlq_reason": reason,
                "dlq_detail": detail[:500],
                "dlq_source_topic": delivery.topic,
                "dlq_source_partition": str(delivery.partition),
                "dlq_source_offset": str(delivery.offset),
            },
        )
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
