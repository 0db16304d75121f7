"""Writing to the outbox: a message is published only if the transaction that decided it commits."""

from __future__ import annotations

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.messages import utc_now
from handlers.db.pending import add_row
from handlers.db.tables import OutboxRow
from handlers.db.uow import OUTBOX_WRITTEN
from handlers.tracing import current_trace_headers

__all__ = ["enqueue", "enqueue_raw"]


def enqueue(
    session: AsyncSession,
    topic: str,
    message: BaseModel,
    *,
    message_id: str,
    key: bytes,
    headers: dict[str, str] | None = None,
) -> None:
    enqueue_raw(
        session,
        topic,
        message.model_dump_json().encode(),
        message_id=message_id,
        key=key,
        headers={"message_type": str(getattr(message, "type", "")), **(headers or {})},
    )


def enqueue_raw(
    session: AsyncSession,
    topic: str,
    payload: bytes,
    *,
    message_id: str,
    key: bytes,
    headers: dict[str, str],
) -> None:
    session.info[OUTBOX_WRITTEN] = True
    # An ORM row, or plain values when a batch gathers its rows (`handlers.db.pending`).
    add_row(
        session,
        OutboxRow,
        {
            "message_id": message_id,
            "topic": topic,
            "key": key,
            "payload": payload,
            # The trace of the transaction that decided it (`traceparent`), kept with the row:
            # the relay publishes the message in that trace, after a restart too.
            "headers": {**current_trace_headers(), **headers},
            "created_at": utc_now(),
        },
    )
