"""Engine and session factory, built on demand (never at import time)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

__all__ = ["make_engine", "make_session_factory"]


def make_engine(url: str) -> AsyncEngine:
    # hide_parameters: an error's text (logged with its traceback) never quotes the values of
    # the statement, which are names and dates of birth.
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 30}, hide_parameters=True)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    # No ping on checkout (`pool_pre_ping`): it costs two round trips per transaction, and a
    # pooled connection the server dropped fails its first statement with a connection error,
    # which every path treats as transient (handlers.db.faults): the pool is invalidated and
    # the transaction retried on a new connection (tests/.../test_postgres_faults.py).
    return create_async_engine(url, hide_parameters=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the CLI read while the service writes; foreign keys are off by default.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    # Deleted content is overwritten with zeros, not left in free pages of the file: an
    # erasure or a purge must not leave a name behind (handlers.rights.erasure).
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def make_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
