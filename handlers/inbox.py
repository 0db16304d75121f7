"""The consumer's inbox: a primary key per consumed message makes redelivery a no-op."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.exc import IntegrityError

from broker.db.tables import InboxRow
from broker.db.uow import UnitOfWork

__all__ = ["claim"]


async def claim(uow: UnitOfWork, message_key: str, topic: str, now: dt.datetime) -> bool:
    """Insert the message's inbox row; False when it was already processed.

    The row commits with the message's effects, so "already processed" is decided by the
    database's unique constraint, never by a read-then-write check.
    """
    uow.session.add(InboxRow(message_key=message_key, topic=topic, processed_at=now))
    try:
        await uow.session.flush()
    except IntegrityError:
        await uow.session.rollback()
        return False
    return True
