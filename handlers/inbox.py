"""The consumer's inbox: a primary key per consumed message makes redelivery a no-op."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite

from handlers.db.tables import InboxRow
from handlers.db.uow import UnitOfWork

__all__ = ["claim", "claim_all"]

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


async def claim_all(
    uow: UnitOfWork, messages: Sequence[tuple[str, str]], now: dt.datetime
) -> set[str]:
    """`claim` for a batch of (message_key, topic) in one statement: the keys claimed now.

    `INSERT ... ON CONFLICT DO NOTHING RETURNING message_key`: a key already in the inbox is
    not returned. A key repeated within `messages` is inserted once (with its first topic);
    the caller takes its first occurrence as the claim and the others as duplicates.
    """
    first: dict[str, str] = {}
    for message_key, topic in messages:
        first.setdefault(message_key, topic)
    if not first:
        return set()
    dialect = uow.session.get_bind().dialect.name
    try:
        insert = _INSERT[dialect]
    except KeyError:
        raise RuntimeError(f"the inbox supports PostgreSQL and SQLite, not {dialect}") from None
    table = InboxRow.__table__
    rows = [{"message_key": k, "topic": t, "processed_at": now} for k, t in first.items()]
    # One statement for any batch the service takes: executemany with RETURNING, which
    # SQLAlchemy sends as multi-row INSERTs ("insertmanyvalues", in pages under the
    # databases' limits on bound parameters) from one compiled form, whatever the batch size.
    result = await uow.session.execute(
        insert(table)
        .on_conflict_do_nothing(index_elements=[table.c.message_key])
        .returning(table.c.message_key),
        rows,
    )
    return set(result.scalars())
