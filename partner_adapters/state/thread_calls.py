"""Work on the state file's `sqlite3` connection in one call to aiosqlite's thread."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any, TypeVar

import aiosqlite

__all__ = ["fetch_all", "in_thread"]

_T = TypeVar("_T")


async def in_thread(db: aiosqlite.Connection, work: Callable[[sqlite3.Connection], _T]) -> _T:
    """Run `work` on the plain `sqlite3` connection, in aiosqlite's thread: one round-trip.

    aiosqlite queues every call to its one thread; `_execute` is that queue (aiosqlite has
    kept it since 0.17), and `_conn` the connection it owns (it is only used in that thread).
    """
    result: _T = await db._execute(work, db._conn)  # type: ignore[no-untyped-call]
    return result


async def fetch_all(db: aiosqlite.Connection, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
    """Every row of one query, in one round-trip to the thread (aiosqlite's cursor takes
    three: execute, fetch and close); read after every batch, so it counts."""
    return await in_thread(db, lambda conn: conn.execute(sql, params).fetchall())
