"""Find the local PostgreSQL server and hand out a fresh, throw-away database per test."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

import asyncpg
from sqlalchemy.engine import make_url

__all__ = [
    "ADMIN_DSN_ENV",
    "PostgresServer",
    "PostgresUnavailable",
    "admin_dsns",
    "fresh_database",
    "probe_postgres",
]

ADMIN_DSN_ENV = "IAJ_TEST_POSTGRES_DSN"
# Trust auth on the local server; `postgres` and `test` both exist there.
_DEFAULT_ADMIN_DSNS = (
    "postgresql://postgres@127.0.0.1:5432/postgres",
    "postgresql://postgres@127.0.0.1:5432/test",
)


@dataclass(frozen=True)
class PostgresServer:
    """A server we may create databases on, through `admin_dsn`."""

    admin_dsn: str
    version: str

    def describe(self) -> str:
        url = make_url(self.admin_dsn)
        return f"{url.host}:{url.port or 5432} ({self.version})"

    def sqlalchemy_url(self, database: str) -> str:
        url = make_url(self.admin_dsn).set(drivername="postgresql+asyncpg", database=database)
        return url.render_as_string(hide_password=False)


@dataclass(frozen=True)
class PostgresUnavailable:
    """Why no PostgreSQL server can be used."""

    reason: str


def admin_dsns(environ: Mapping[str, str]) -> tuple[str, ...]:
    """The DSNs to try: the one in `IAJ_TEST_POSTGRES_DSN`, else the local defaults."""
    given = environ.get(ADMIN_DSN_ENV, "").strip()
    return (given,) if given else _DEFAULT_ADMIN_DSNS


async def probe_postgres(
    dsns: Sequence[str], connect_timeout: float = 3.0
) -> PostgresServer | PostgresUnavailable:
    """Return the first DSN that connects, or the reason none did."""
    problems = []
    for dsn in dsns:
        try:
            conn = await asyncpg.connect(dsn, timeout=connect_timeout)
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            problems.append(f"{make_url(dsn).render_as_string()}: {exc!r}")
            continue
        try:
            version = await conn.fetchval("SHOW server_version")
        finally:
            await conn.close()
        return PostgresServer(dsn, f"PostgreSQL {str(version).split()[0]}")
    return PostgresUnavailable("; ".join(problems))


@asynccontextmanager
async def fresh_database(server: PostgresServer) -> AsyncIterator[str]:
    """Create an empty database, yield its SQLAlchemy URL, drop it afterwards."""
    name = f"iaj_test_{uuid.uuid4().hex[:16]}"
    conn = await asyncpg.connect(server.admin_dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    try:
        yield server.sqlalchemy_url(name)
    finally:
        conn = await asyncpg.connect(server.admin_dsn)
        try:
            # FORCE ends sessions a test left open (a pool not disposed) instead of failing.
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()
