"""Rows gathered during a batch and written at its end, one INSERT per table.

A handler that processes many messages in one transaction (`handlers.answers`) opens a
`PendingRows` on its session; while it is open, `add_row` (used by the outbox, the processing
log and the answer records) appends plain values instead of adding ORM objects, and `flush`
writes each table's rows in one executemany, in the order they were added. Without an open
collector `add_row` adds an ORM object, as before: cold paths keep the ORM.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.db.tables import Base

__all__ = ["PendingRows", "add_row"]

_KEY = "iaj_pending_rows"


class PendingRows:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.rows: dict[type[Base], list[dict[str, Any]]] = {}

    def __enter__(self) -> PendingRows:
        if _KEY in self.session.info:
            raise RuntimeError("rows are already being gathered on this session")
        self.session.info[_KEY] = self
        return self

    def __exit__(self, *_: object) -> None:
        self.session.info.pop(_KEY, None)

    async def flush(self, *models: type[Base]) -> None:
        """Write the gathered rows of `models` (in that order), one statement per table."""
        for model in models:
            rows = self.rows.pop(model, [])
            if rows:
                await self.session.execute(insert(cast(Table, model.__table__)), rows)


def add_row(session: AsyncSession, model: type[Base], values: dict[str, Any]) -> None:
    """Gather `values` for `model`'s table if a batch collects rows, else add the ORM row."""
    pending: PendingRows | None = session.info.get(_KEY)
    if pending is None:
        session.add(model(**values))
    else:
        pending.rows.setdefault(model, []).append(values)
