"""The CLI tests' databases are made as an operator makes one on the first run.

No `iaj` command creates a database or changes its schema except `iaj db upgrade` (`--create`
for a new SQLite file): a fresh `sqlite_url` or `database_url` here has been through it once,
so the commands under test find the schema they need. Tests of a missing or stale database
(`test_database_safety.py`) use their own files.
"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from broker.cli import app


def upgrade_database(database_url: str) -> None:
    """`iaj db upgrade --create` on `database_url`, as on the first run."""
    result = CliRunner().invoke(
        app, ["db", "upgrade", "--create"], env={"IAJ_DATABASE_URL": database_url}
    )
    assert result.exit_code == 0, result.output


@pytest.fixture
def sqlite_url(sqlite_url: str) -> str:
    """A new SQLite file, upgraded (the root fixture's, then `iaj db upgrade --create`)."""
    upgrade_database(sqlite_url)
    return sqlite_url


@pytest.fixture
def database_url(database_url: str) -> str:
    """A new SQLite file or PostgreSQL database, upgraded by `iaj db upgrade --create`."""
    upgrade_database(database_url)
    return database_url
