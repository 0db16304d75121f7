"""Unit of work: one database transaction, rolled back unless explicitly committed."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

__all__ = ["OUTBOX_WRITTEN", "UnitOfWork"]

# Set in a session's info by handlers.outbox when it adds a row: the relay then has work.
OUTBOX_WRITTEN = "iaj_outbox_written"


class UnitOfWork:
    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._factory = session_factory
        self._session: AsyncSession | None = None
        # True once a commit included outbox rows: then the relay has something to send.
        self.committed_outbox = False

    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            raise RuntimeError("use the unit of work inside `async with`")
        return self._session

    async def __aenter__(self) -> UnitOfWork:
        self._session = self._factory()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session = self.session
        try:
            await session.rollback()  # a no-op after commit
        finally:
            await session.close()
            self._session = None

    async def commit(self) -> None:
        await self.session.commit()
        self.committed_outbox = self.committed_outbox or bool(
            self.session.info.pop(OUTBOX_WRITTEN, False)
        )
