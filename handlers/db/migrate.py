"""Apply the Alembic migrations shipped in handlers/db/migrations to a database.

Several service instances may start at once against a fresh database: each takes a lock
before it migrates, so the first one migrates and the others find the schema at head.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
from collections.abc import AsyncIterator
from importlib import resources

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

__all__ = ["alembic_config", "upgrade"]

# Any constant both sides agree on: "iaj-migrate" as a bigint.
_PG_LOCK_KEY = int.from_bytes(b"iajmigr", "big")


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(resources.files("handlers.db") / "migrations"))
    config.attributes["connection"] = connection
    return config


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the schema to `revision`. Safe to run on every start-up, by several at once."""
    async with _sqlite_file_lock(engine), engine.begin() as conn:
        await _postgres_lock(conn)
        await conn.run_sync(lambda sync: command.upgrade(alembic_config(sync), revision))


async def _postgres_lock(conn: AsyncConnection) -> None:
    if conn.dialect.name == "postgresql":
        # Held until this transaction ends; the next migrator then sees the new revision.
        await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})


@contextlib.asynccontextmanager
async def _sqlite_file_lock(engine: AsyncEngine) -> AsyncIterator[None]:
    """An exclusive lock on `<database file>.migrate-lock` (SQLite's own locks are taken too
    late: Alembic reads the current revision before its first write)."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        yield
        return
    fd = os.open(f"{database}.migrate-lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        # In a thread: another migrator in this very process must keep running meanwhile.
        await asyncio.to_thread(fcntl.flock, fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock
