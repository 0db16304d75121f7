"""The Alembic migrations build exactly the schema the code's tables describe."""

from __future__ import annotations

import asyncio
import os
import sys
from asyncio.subprocess import PIPE
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect, text

from handlers.db.engine import make_engine
from handlers.db.migrate import alembic_config, upgrade
from handlers.db.tables import Base

pytestmark = pytest.mark.integration


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_migrations_match_the_tables_and_downgrade_cleanly(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        await upgrade(engine)
        async with engine.connect() as conn:
            assert await conn.run_sync(_differences) == [], "run a new Alembic revision"
        async with engine.begin() as conn:
            await conn.run_sync(lambda c: command.downgrade(alembic_config(c), "base"))
            tables = await conn.run_sync(lambda c: inspect(c).get_table_names())
        assert set(tables) <= {"alembic_version"}
        await upgrade(engine)  # and back up again
        await upgrade(engine)  # a second upgrade is a no-op
    finally:
        await engine.dispose()


async def test_instances_starting_together_on_a_fresh_database_migrate_it_once(
    database_url: str,
) -> None:
    """Four `iaj db upgrade` processes at once on a new database (as four service instances
    starting together): all succeed, and the schema is migrated exactly once."""
    env = {**os.environ, "IAJ_DATABASE_URL": database_url}
    processes = [
        await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "broker.cli", "db", "upgrade", "--create"),
            env=env,
            stdout=PIPE,
            stderr=PIPE,
        )
        for _ in range(4)
    ]
    outcomes = [await p.communicate() for p in processes]
    for process, (_, stderr) in zip(processes, outcomes, strict=True):
        assert process.returncode == 0, stderr.decode()
    engine = make_engine(database_url)
    try:
        async with engine.connect() as conn:
            versions = (await conn.execute(text("SELECT version_num FROM alembic_version"))).all()
            assert len(versions) == 1
            assert await conn.run_sync(_differences) == []
    finally:
        await engine.dispose()
