"""The databases a benchmark runs on: a new SQLite file, or a new PostgreSQL database.

Each is created for one run and removed after it, so runs never see each other's rows.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from enum import StrEnum
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from devtools.bench.measure import parent_pid

__all__ = [
    "DEFAULT_POSTGRES_DSN",
    "LOCAL_POSTGRES",
    "Database",
    "DatabaseUnavailable",
    "bench_database",
    "postgres_server_pid",
]

DEFAULT_POSTGRES_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
# `--postgres-dsn local`: a server of the benchmark's own (devtools.local_postgres), flushing
# as production does (fsync on).
LOCAL_POSTGRES = "local"


class Database(StrEnum):
    SQLITE = "sqlite"
    POSTGRESQL = "postgresql"


class DatabaseUnavailable(RuntimeError):
    """The database server cannot be reached or refuses to create a database."""


@asynccontextmanager
async def bench_database(
    kind: Database, workdir: Path, postgres_dsn: str = DEFAULT_POSTGRES_DSN
) -> AsyncIterator[str]:
    """Yield the SQLAlchemy URL of an empty database of `kind`; remove it afterwards."""
    if kind is Database.SQLITE:
        path = workdir / f"iaj-bench-{uuid.uuid4().hex[:8]}.db"
        try:
            yield f"sqlite+aiosqlite:///{path}"
        finally:
            for suffix in ("", "-wal", "-shm"):
                path.with_name(path.name + suffix).unlink(missing_ok=True)
        return
    name = f"iaj_bench_{uuid.uuid4().hex[:12]}"
    await _admin(postgres_dsn, f'CREATE DATABASE "{name}"')
    try:
        url = make_url(postgres_dsn).set(drivername="postgresql+asyncpg", database=name)
        yield url.render_as_string(hide_password=False)
    finally:
        # FORCE ends connections a failed run left open instead of failing the drop.
        await _admin(postgres_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def postgres_server_pid(dsn: str) -> int | None:
    """The process id of the PostgreSQL server (the postmaster, parent of every session's
    process) when it runs on this machine and its processes can be seen; else None."""
    try:
        conn = await asyncpg.connect(dsn, timeout=5)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
        return None
    try:
        backend = await conn.fetchval("SELECT pg_backend_pid()")
        # While this session lives: its process is the postmaster's child.
        return _postmaster_of(int(backend))
    finally:
        await conn.close()


def _postmaster_of(backend: int) -> int | None:
    # Another pid namespace (a container) would name some other process here, or none.
    try:
        name = Path(f"/proc/{backend}/comm").read_text().strip()
    except OSError:
        return None
    return parent_pid(backend) if name.startswith("postgres") else None


async def _admin(dsn: str, statement: str) -> None:
    try:
        conn = await asyncpg.connect(dsn, timeout=5)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        shown = make_url(dsn).render_as_string(hide_password=True)
        raise DatabaseUnavailable(f"PostgreSQL at {shown} cannot be reached: {exc!r}") from exc
    try:
        await conn.execute(statement)
    except asyncpg.PostgresError as exc:
        raise DatabaseUnavailable(f"PostgreSQL refused {statement.split()[0]}: {exc}") from exc
    finally:
        await conn.close()
