"""The dead letters as an operator looks at them: why, from where, how big, when.

Never content: the database holds none (the bytes went to iaj.deadletter only, see
handlers/dead_letters.py), and the detail names fields and positions, never values. The
`dlq_id` is the header the record carries on iaj.deadletter, and the source topic, partition
and offset say where the original is, for an operator whose Kafka user may read that topic.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select

from contracts.enums import Partner
from contracts.errors import DecodeFailure
from handlers.db.tables import DeadLetterRow
from handlers.db.uow import UnitOfWork
from handlers.dead_letters import dlq_id
from handlers.errors import ServiceError

__all__ = [
    "KNOWN_REASONS",
    "DeadLetterList",
    "DeadLetterView",
    "UnknownDeadLetter",
    "dead_letter_view",
    "list_dead_letters",
]

# What `reason` can be: why bytes were not a message, a command the service refused, or a
# failure of our own code.
KNOWN_REASONS = (*(f.value for f in DecodeFailure), "command_rejected", "processing_error")


class UnknownDeadLetter(ServiceError):
    """No dead letter with this id (deleted by retention, or never there)."""


@dataclass(frozen=True)
class DeadLetterView:
    id: int
    dlq_id: str | None  # the header on iaj.deadletter; None when the position is not known
    received_at: dt.datetime
    reason: str
    detail: str
    partner: str | None  # the partner whose answer topic it came from, if any
    source_topic: str
    source_partition: int | None
    source_offset: int | None
    size_bytes: int | None


@dataclass(frozen=True)
class DeadLetterList:
    letters: tuple[DeadLetterView, ...]  # newest first, at most `limit`
    matching: int  # how many match the filters in all


def _view(row: DeadLetterRow) -> DeadLetterView:
    known = row.partition is not None and row.offset is not None
    return DeadLetterView(
        id=row.id,
        dlq_id=dlq_id(f"{row.topic}:{row.partition}:{row.offset}") if known else None,
        received_at=row.received_at,
        reason=row.reason,
        detail=row.detail,
        partner=row.partner,
        source_topic=row.topic,
        source_partition=row.partition,
        source_offset=row.offset,
        size_bytes=row.size_bytes,
    )


async def list_dead_letters(
    uow: UnitOfWork,
    *,
    partner: Partner | None = None,
    reason: str | None = None,
    since: dt.datetime | None = None,
    limit: int = 50,
) -> DeadLetterList:
    """The dead letters matching every filter given, newest first. Reads only."""
    query = select(DeadLetterRow)
    if partner is not None:
        query = query.where(DeadLetterRow.partner == partner.value)
    if reason is not None:
        query = query.where(DeadLetterRow.reason == reason)
    if since is not None:
        query = query.where(DeadLetterRow.received_at >= since)
    matching = await uow.session.scalar(select(func.count()).select_from(query.subquery()))
    rows = await uow.session.scalars(
        query.order_by(DeadLetterRow.received_at.desc(), DeadLetterRow.id.desc()).limit(limit)
    )
    return DeadLetterList(tuple(_view(r) for r in rows), matching or 0)


async def dead_letter_view(uow: UnitOfWork, letter_id: int) -> DeadLetterView:
    row = await uow.session.get(DeadLetterRow, letter_id)
    if row is None:
        raise UnknownDeadLetter(
            f"no dead letter {letter_id}; `iaj deadletters list` shows those there are"
        )
    return _view(row)
