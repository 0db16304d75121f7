"""The municipal database for the use-case tests: SQLite in memory, migrated by the project's
own migrations. No server, no file: each test gets a new, empty database in well under a second.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from handlers.db.engine import make_engine, make_session_factory
from handlers.db.migrate import upgrade
from tests.unit.handlers.builders import Sessions


@pytest.fixture
async def sessions() -> AsyncIterator[Sessions]:
    """Sessions on a fresh in-memory database at the head revision.

    `make_engine` gives in-memory SQLite a StaticPool (one shared connection), so every unit
    of work of the test sees the same database.
    """
    engine = make_engine("sqlite+aiosqlite:///:memory:")
    await upgrade(engine)
    yield make_session_factory(engine)
    await engine.dispose()
