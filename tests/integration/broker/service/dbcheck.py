"""Looking inside the municipal database the way an auditor would."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.db.tables import Base


async def all_text(sessions: async_sessionmaker[AsyncSession]) -> str:
    """Every value of every row of every table, as one string."""
    parts: list[str] = []
    async with sessions() as session:
        for table in Base.metadata.sorted_tables:
            for row in (await session.execute(select(table))).all():
                parts.extend(
                    v.decode(errors="replace") if isinstance(v, bytes) else str(v) for v in row
                )
    return "\n".join(parts)


async def count(sessions: async_sessionmaker[AsyncSession], table: str) -> int:
    async with sessions() as session:
        result = await session.scalar(select(func.count()).select_from(text(table)))
        return int(result or 0)


async def counted(
    sessions: async_sessionmaker[AsyncSession], table: str, expected: int, within: float = 30.0
) -> int:
    """`count(table)` once it equals `expected` (or, after `within` seconds, whatever it is:
    the caller's assertion then shows the difference). Waits for a condition, not a time."""
    deadline = asyncio.get_running_loop().time() + within
    while (found := await count(sessions, table)) != expected:
        if asyncio.get_running_loop().time() > deadline:
            break
        await asyncio.sleep(0.05)
    return found
