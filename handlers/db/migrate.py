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
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

__all__ = [
    "Schema",
    "SchemaNotCurrent",
    "SchemaState",
    "alembic_config",
    "head_revision",
    "require_current",
    "schema_state",
    "upgrade",
]

# Any constant both sides agree on: "iaj-migrate" as a bigint.
_PG_LOCK_KEY = int.from_bytes(b"iajmigr", "big")


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(resources.files("handlers.db") / "migrations"))
    config.attributes["connection"] = connection
    return config


class Schema(StrEnum):
    """How a database's schema stands to this code's migrations."""

    CURRENT = "current"  # at this code's head: usable
    EMPTY = "empty"  # no schema at all: a new database, never upgraded
    OLDER = "older"  # a revision this code knows, before its head: `iaj db upgrade`
    NEWER = "newer"  # a revision this code does not know: a newer iaj migrated it


@dataclass(frozen=True)
class SchemaState:
    current: str | None  # the database's revision; None when it has no schema
    head: str  # this code's newest revision

    @property
    def schema(self) -> Schema:
        if self.current is None:
            return Schema.EMPTY
        if self.current == self.head:
            return Schema.CURRENT
        if self.current in _known_revisions():
            return Schema.OLDER
        return Schema.NEWER

    def refusal(self) -> str | None:
        """Why code at `head` must not work on this database, in an operator's terms; None
        when it may."""
        match self.schema:
            case Schema.CURRENT:
                return None
            case Schema.EMPTY:
                return (
                    "the database has no schema: is it the right one? A new database gets "
                    "its schema from `iaj db upgrade`"
                )
            case Schema.OLDER:
                return (
                    f"the database schema is older than this iaj (revision {self.current}, "
                    f"this iaj needs {self.head}): run `iaj db upgrade` first"
                )
            case Schema.NEWER:
                return (
                    f"this iaj is older than the database (its schema is at revision "
                    f"{self.current}, which this iaj does not know; it knows up to "
                    f"{self.head}): use the iaj of the database's version. Nothing was changed"
                )


class SchemaNotCurrent(Exception):
    """The database's schema is not this code's, and this process may not migrate it."""


async def require_current(engine: AsyncEngine) -> SchemaState:
    """The schema state; SchemaNotCurrent (with what to do) unless it is this code's."""
    state = await schema_state(engine)
    refusal = state.refusal()
    if refusal is not None:
        raise SchemaNotCurrent(refusal)
    return state


def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    head = _scripts().get_current_head()
    assert head is not None, "the migrations have one head"
    return head


def _known_revisions() -> set[str]:
    return {script.revision for script in _scripts().walk_revisions()}


async def schema_state(engine: AsyncEngine) -> SchemaState:
    """Where the database's schema stands, read without changing anything."""
    async with engine.connect() as conn:
        heads = await conn.run_sync(
            lambda sync: MigrationContext.configure(sync).get_current_heads()
        )
    # One line of history: at most one head (several would be a branch this code never makes).
    return SchemaState(current=max(heads) if heads else None, head=head_revision())


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
