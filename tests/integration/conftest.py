"""Fixtures for tests that use the municipal database without Kafka."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.db.engine import make_engine, make_session_factory
from handlers.db.migrate import upgrade


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on a fresh, migrated database (SQLite, then PostgreSQL)."""
    engine = make_engine(database_url)
    await upgrade(engine)
    yield make_session_factory(engine)
    await engine.dispose()
