"""The consumer's inbox: a primary key per consumed message makes redelivery a no-op."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite

from handlers.db.tables import InboxRow
from handlers.db.uow import UnitOfWork

__all__ = ["claim"]

_INSERT: dict[str, Any] = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


async def claim(uow: UnitOfWork, message_key: str, topic: str, now: dt.datetime) -> bool:
    """Insert the message's inbox row; False when it was already processed.

    The row commits with the message's effects, so "already processed" is decided by the
    database's unique constraint, never by a read-then-write check. ON CONFLICT DO NOTHING
    (rather than catching the violation) leaves the transaction usable, so a batch of
    messages can share one transaction and a duplicate among them costs nothing else.
    """
    dialect = uow.session.get_bind().dialect.name
    try:
        insert = _INSERT[dialect]
    except KeyError:
        raise RuntimeError(f"the inbox supports PostgreSQL and SQLite, not {dialect}") from None
    result = await uow.session.execute(
        insert(InboxRow)
        .values(message_key=message_key, topic=topic, processed_at=now)
        .on_conflict_do_nothing(index_elements=[InboxRow.message_key])
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]
