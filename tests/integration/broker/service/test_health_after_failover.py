"""/health/ready right after PostgreSQL dropped the service's pooled connections.

The pool does not ping on checkout (handlers.db.engine); the readiness check must still say
"ok" at its first probe when the database answers, not report the dead pooled connection."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from broker.service.health import service_readiness
from broker.service.municipal import MunicipalService
from broker.settings import ServiceSettings

pytestmark = pytest.mark.integration


async def _terminate_other_sessions(url: str) -> int:
    plain = make_url(url).set(drivername="postgresql")
    admin = await asyncpg.connect(plain.render_as_string(hide_password=False))
    try:
        return int(
            await admin.fetchval(
                """SELECT count(*) FROM (
                       SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                       WHERE datname = $1 AND pid <> pg_backend_pid()
                   ) AS t""",
                plain.database,
            )
        )
    finally:
        await admin.close()


async def test_a_pooled_connection_the_server_dropped_does_not_fail_readiness(
    postgresql_url: str,
) -> None:
    service = MunicipalService(ServiceSettings(_env_file=None, database_url=postgresql_url))
    try:
        async with service.engine.connect() as connection:  # one connection, back in the pool
            await connection.execute(text("SELECT 1"))
        assert await _terminate_other_sessions(postgresql_url) == 1

        state = await service_readiness(service, limit_seconds=5)

        assert state.checks["database"] == "ok"
        # And the pool holds a working connection again.
        async with service.engine.connect() as connection:
            assert (await connection.execute(text("SELECT 1"))).scalar() == 1
    finally:
        await service.engine.dispose()
