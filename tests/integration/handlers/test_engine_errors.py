"""A database error's text, which ends up in logs with its traceback, quotes no values."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from handlers.db.engine import make_engine

pytestmark = pytest.mark.integration


async def test_a_failed_statement_does_not_quote_its_parameters(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE people (naam VARCHAR(50) PRIMARY KEY)"))
            insert = text("INSERT INTO people (naam) VALUES (:naam)")
            await connection.execute(insert, {"naam": "Sem Testbeek"})
            with pytest.raises(IntegrityError) as raised:
                await connection.execute(insert, {"naam": "Sem Testbeek"})
    finally:
        await engine.dispose()
    assert "Sem Testbeek" not in str(raised.value)
    assert "hidden due to hide_parameters" in str(raised.value)
