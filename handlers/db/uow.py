"""Unit of work: one database transaction, rolled back unless explicitly committed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

__all__ = ["OUTBOX_WRITTEN", "DirectMessage", "Publish", "UnitOfWork"]

# Set in a session's info by handlers.outbox when it adds a row: the relay then has work.
OUTBOX_WRITTEN = "iaj_outbox_written"


@dataclass(frozen=True)
class DirectMessage:
    """Bytes sent straight to Kafka, never through the outbox table (see `publish_first`)."""

    topic: str
    value: bytes
    key: bytes
    headers: dict[str, str]


# Sends one message and returns once Kafka acknowledged it.
Publish = Callable[[DirectMessage], Awaitable[None]]


class UnitOfWork:
    def __init__(
        self, session_factory: async_sessionmaker[AsyncSession], publish: Publish | None = None
    ) -> None:
        self._factory = session_factory
        self._session: AsyncSession | None = None
        self._publish = publish
        self._first: list[DirectMessage] = []
        # True once a commit included outbox rows: then the relay has something to send.
        self.committed_outbox = False
        # Called once the next commit succeeded (dropped by a rollback): the log lines about
        # what was kept, so a line never reports what a rollback undid.
        self.after_commit: list[Callable[[], None]] = []

    def publish_first(self, message: DirectMessage) -> None:
        """Send `message` to Kafka when this unit of work commits, before the transaction.

        For bytes the database may not hold, even for a moment (a dead letter's: content
        the law does not allow us to keep). Publishing before the commit means a crash in
        between sends it again on redelivery; sending it after would lose it. Receivers
        recognise the repeat by its headers' id.
        """
        if self._publish is None:
            raise RuntimeError("this unit of work cannot publish: give it a `publish`")
        self._first.append(message)

    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            raise RuntimeError("use the unit of work inside `async with`")
        return self._session

    async def __aenter__(self) -> UnitOfWork:
        self._session = self._factory()
        event.listen(self._session.sync_session, "after_rollback", self._forget_notes)
        return self

    def _forget_notes(self, _session: object) -> None:
        self.after_commit.clear()

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
        if self._first:
            assert self._publish is not None  # publish_first checked it
            for message in self._first:
                await self._publish(message)
            self._first.clear()
        await self.session.commit()
        self.committed_outbox = self.committed_outbox or bool(
            self.session.info.pop(OUTBOX_WRITTEN, False)
        )
        notes, self.after_commit = self.after_commit, []
        for note in notes:
            note()
