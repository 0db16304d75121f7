"""The adapter's SQLite state file, through aiosqlite (never blocking the event loop).

Writes that belong together happen in one `BEGIN IMMEDIATE` transaction: recording a question
set, what was answered, what was refused and the answer message to send. The question set's
message id is the primary key, so a re-published set is recognised by the constraint
(`INSERT ... ON CONFLICT DO NOTHING`), also when two processes race; there is no read before.

The hot path records a whole batch of consumed messages in one transaction, and runs it as one
plain `sqlite3` function in the connection's thread (`record_batch`): one thread round-trip
and one fsync'd commit per batch, however many question sets it holds.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import NamedTuple, Self, TypeAlias, TypeVar
from uuid import UUID

import aiosqlite

from contracts import (
    AnswerItem,
    Partner,
    PartnerAnswer,
    QuestionSet,
    RefusalNotice,
    SubjectCorrection,
    Withdrawal,
    decode,
)
from partner_adapters.errors import WrongStateFile
from partner_adapters.state import desk as desk_
from partner_adapters.state import reads
from partner_adapters.state import writes as writes_
from partner_adapters.state.codec import ts
from partner_adapters.state.records import (
    AdapterStatus,
    Answering,
    OpenQuestion,
    OutboxEntry,
    Refusal,
    Rejection,
)
from partner_adapters.state.schema import SCHEMA, SCHEMA_VERSION
from partner_adapters.state.thread_calls import in_thread

__all__ = ["AdapterStore", "BatchWrite", "Dropped", "LateQuestionSet", "NewQuestionSet"]

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class NewQuestionSet:
    """A question set read in time, and what was decided for it: recorded unless known."""

    question_set: QuestionSet
    answering: Answering


@dataclass(frozen=True, slots=True)
class LateQuestionSet:
    """A question set read after its deadline: rejected, unless it was recorded before (then it
    is a duplicate, answered in time)."""

    rejection: Rejection


BatchWrite: TypeAlias = NewQuestionSet | LateQuestionSet | Rejection


class AdapterStore:
    """One partner's state file. Open with `await AdapterStore.open(path, partner)`."""

    def __init__(self, db: aiosqlite.Connection, partner: Partner) -> None:
        self._db = db
        self.partner = partner
        # One transaction at a time on the connection: a BEGIN inside another's would fail.
        self._writing = asyncio.Lock()
        # Answers the broker confirmed, to be marked sent by the next transaction (`mark_sent`
        # with `fold=True`): the hot path writes once per batch, not twice. Lost in a crash,
        # they are sent again with the same bytes, as any answer not yet marked sent is.
        self._sent_later: dict[UUID, dt.datetime] = {}

    @classmethod
    async def open(cls, path: Path, partner: Partner) -> AdapterStore:
        """Open (creating if needed) the state file; refuse one that belongs to another partner.

        A new file is readable by its owner only: it holds names and dates of birth while
        questions are open. SQLite gives its -wal and -shm files the same permissions.
        """
        await asyncio.to_thread(_prepare_file, path)
        # isolation_level=None: we issue BEGIN/COMMIT ourselves, so a transaction is explicit.
        db = await aiosqlite.connect(path, isolation_level=None, timeout=30.0)
        try:
            await db.execute("PRAGMA journal_mode = WAL")  # the CLI reads while `run` writes
            # A purged name is overwritten with zeros, not left in a free part of its page
            # (`checkpoint` then takes the old pages out of the WAL).
            await db.execute("PRAGMA secure_delete = ON")
            await db.execute("PRAGMA foreign_keys = ON")
            await db.executescript(SCHEMA)
            await _claim(db, partner, path)
        except BaseException:
            await db.close()
            raise
        return cls(db, partner)

    async def close(self) -> None:
        await self.flush_sent()
        await self._db.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """A transaction of several awaited statements (for the rare notices)."""
        async with self._writing:
            folded = dict(self._sent_later)
            await self._db.execute("BEGIN IMMEDIATE")
            try:
                if folded:
                    await in_thread(self._db, lambda conn: _mark_folded(conn, folded))
                yield self._db
            except BaseException:
                await self._db.execute("ROLLBACK")
                raise
            await self._db.execute("COMMIT")
            self._forget_folded(folded)

    async def _write(self, work: Callable[[sqlite3.Connection], _T]) -> _T:
        """Run `work` in one `BEGIN IMMEDIATE` transaction, in one call to the connection's
        thread: its statements cost no round-trip each."""

        def transaction(conn: sqlite3.Connection) -> _T:
            conn.execute("BEGIN IMMEDIATE")
            try:
                # First what was confirmed sent since the last transaction: `work` (a
                # withdrawal dropping unsent answers) must see those answers as sent.
                _mark_folded(conn, folded)
                result = work(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            return result

        async with self._writing:
            folded = dict(self._sent_later)
            result = await in_thread(self._db, transaction)
            self._forget_folded(folded)
            return result

    def _forget_folded(self, folded: dict[UUID, dt.datetime]) -> None:
        for message_id in folded:
            self._sent_later.pop(message_id, None)

    # -- writes -------------------------------------------------------------------------------

    async def record_batch(self, writes: Sequence[BatchWrite], at: dt.datetime) -> list[bool]:
        """Record a batch of consumed messages in one transaction, in order; per write, whether
        it was recorded: False for a question set whose message id is known (a duplicate, also
        within the batch), and for a late one recorded before. A failure records none of them."""

        def record(conn: sqlite3.Connection) -> list[bool]:
            done = []
            for item in writes:
                if isinstance(item, NewQuestionSet):
                    done.append(
                        writes_.insert_question_set(conn, item.question_set, item.answering, at)
                    )
                elif isinstance(item, LateQuestionSet):
                    done.append(
                        writes_.insert_rejection(conn, item.rejection, at, unless_known=True)
                    )
                else:
                    done.append(writes_.insert_rejection(conn, item, at))
            if any(isinstance(item, NewQuestionSet) for item in writes):
                writes_.purge_personal_data(conn, at)
            return done

        if not writes:
            return []
        return await self._write(record)

    async def record_question_set(
        self, question_set: QuestionSet, answering: Answering, at: dt.datetime
    ) -> bool:
        """Record a newly received set and what was done with it. False if it was seen before."""
        [recorded] = await self.record_batch([NewQuestionSet(question_set, answering)], at)
        return recorded

    async def record_follow_up(
        self, question_set_id: UUID, answering: Answering, at: dt.datetime
    ) -> bool:
        """Record a later answer (retry, manual). False, and nothing written, if any of its
        questions is no longer open (answered meanwhile by another process)."""

        def record(conn: sqlite3.Connection) -> bool:
            if not writes_.write_answering(conn, question_set_id, answering, at):
                raise _NoLongerOpen
            writes_.purge_personal_data(conn, at)
            return True

        try:
            return await self._write(record)
        except _NoLongerOpen:
            return False

    async def record_rejection(self, rejection: Rejection, at: dt.datetime) -> None:
        await self.record_batch([rejection], at)

    async def record_refusals(
        self, question_set_id: UUID | None, refusals: Iterable[Refusal], at: dt.datetime
    ) -> None:
        await self._write(lambda conn: writes_.insert_refusals(conn, question_set_id, refusals, at))

    async def record_municipal_refusal(self, notice: RefusalNotice, at: dt.datetime) -> bool:
        """Keep the municipality's refusal notice; False when it was recorded before.

        One row per notice: its reason, and the first refused item's question and field
        (`iaj-adapter status` shows the most recent notices, not every item)."""
        first = notice.items[0] if notice.items else None
        async with self._transaction() as db:
            cursor = await db.execute(
                "INSERT OR IGNORE INTO municipal_refusals (message_id, at, round_id, "
                "in_reply_to, question_id, reason, field, explanation) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    str(notice.message_id),
                    ts(at),
                    "" if notice.round_id is None else str(notice.round_id),
                    "" if notice.in_reply_to is None else str(notice.in_reply_to),
                    None if first is None or first.question_id is None else str(first.question_id),
                    notice.reason.value,
                    None if first is None else first.field,
                    notice.explanation[:300],
                ),
            )
            return cursor.rowcount == 1

    async def record_withdrawal(self, notice: Withdrawal, at: dt.datetime) -> Dropped | None:
        """Drop the withdrawn questions that are still open, and an unsent answer that answers
        nothing but withdrawn questions, so they are never answered or sent. Names and dates
        of birth go with them (no open question about the person is left). None when the
        notice was handled before.

        An unsent answer that also answers questions still asked is sent as it is: the
        municipality records its withdrawn items as late and keeps nothing of them."""
        withdrawn = {str(q) for q in notice.question_ids}
        round_id = str(notice.round_id)
        async with self._transaction() as db:
            cursor = await db.execute(
                "INSERT OR IGNORE INTO withdrawals (message_id, at, round_id, reason, questions, "
                "dropped, unsent) VALUES (?, ?, ?, ?, ?, 0, 0)",
                (str(notice.message_id), ts(at), round_id, notice.reason.value, len(withdrawn)),
            )
            if cursor.rowcount != 1:
                return None
            dropped = 0
            for question_id in sorted(withdrawn):
                cursor = await db.execute(
                    "DELETE FROM questions WHERE question_id = ? AND status = 'open' AND "
                    "question_set_id IN (SELECT message_id FROM question_sets WHERE round_id = ?)",
                    (question_id, round_id),
                )
                dropped += cursor.rowcount
            unsent = 0
            for entry in await reads.unsent(db):
                if str(entry.round_id) != round_id:
                    continue
                answered = {str(item.question_id) for item in _answer_items(entry.payload)}
                if answered and answered <= withdrawn:
                    await db.execute(
                        "DELETE FROM outbox WHERE message_id = ?", (str(entry.message_id),)
                    )
                    unsent += 1
            await db.execute(
                "UPDATE withdrawals SET dropped = ?, unsent = ? WHERE message_id = ?",
                (dropped, unsent, str(notice.message_id)),
            )
            await in_thread(db, lambda conn: writes_.purge_personal_data(conn, at))
        return Dropped(dropped, unsent)

    async def record_subject_correction(
        self, correction: SubjectCorrection, at: dt.datetime
    ) -> int | None:
        """Put the corrected name or date of birth into this round's pending question sets,
        so a later lookup or a manual answer uses it. Returns the number of question sets
        updated; None when the correction was handled before. The adapter keeps no address,
        so a corrected address changes nothing here."""
        subject = correction.subject
        fields = {"naam": subject.naam, "geboortedatum": subject.geboortedatum.isoformat()}
        changed = [f for f in correction.corrected if f in fields]
        async with self._transaction() as db:
            cursor = await db.execute(
                "INSERT OR IGNORE INTO subject_corrections (message_id, at, round_id, "
                "subject_ref, corrected, sets) VALUES (?, ?, ?, ?, ?, 0)",
                (
                    str(correction.message_id),
                    ts(at),
                    str(correction.round_id),
                    subject.subject_ref,
                    ",".join(correction.corrected),
                ),
            )
            if cursor.rowcount != 1:
                return None
            updated = 0
            if changed:
                cursor = await db.execute(
                    f"UPDATE subjects SET {', '.join(f'{f} = ?' for f in changed)} "
                    "WHERE subject_ref = ? AND question_set_id IN "
                    "(SELECT message_id FROM question_sets WHERE round_id = ?)",
                    (*(fields[f] for f in changed), subject.subject_ref, str(correction.round_id)),
                )
                updated = cursor.rowcount
            await db.execute(
                "UPDATE subject_corrections SET sets = ? WHERE message_id = ?",
                (updated, str(correction.message_id)),
            )
        return updated

    async def mark_sent(
        self, message_ids: Iterable[UUID], at: dt.datetime, *, fold: bool = False
    ) -> None:
        """The answers are on the topic: forget their content, keep that they were sent. One
        statement for all of them. `fold`: in the next transaction instead of one of its own
        (`unsent` no longer returns them meanwhile; `flush_sent` or `close` writes them)."""
        ids = list(message_ids)
        if not ids:
            return
        if fold:
            for message_id in ids:
                self._sent_later.setdefault(message_id, at)
            return
        await self._write(lambda conn: writes_.mark_sent(conn, ids, at))

    async def flush_sent(self) -> None:
        """Write the folded marks now, in a transaction of their own, if there are any."""
        if self._sent_later:
            await self._write(lambda conn: None)

    async def checkpoint(self) -> bool:
        """Copy the WAL into the state file and empty it: the WAL still holds the pages as
        they were before the last purges, names included. False when a reader (the desk, the
        CLI) kept it from finishing; the next call tries again."""
        async with self._writing, self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)") as cursor:
            row = await cursor.fetchone()
        return row is not None and row[0] == 0

    async def purge_personal_data(self, now: dt.datetime) -> None:
        await self._write(lambda conn: writes_.purge_personal_data(conn, now))

    # -- reads --------------------------------------------------------------------------------

    async def unsent(self) -> list[OutboxEntry]:
        return await reads.unsent(self._db, known_sent={str(m) for m in self._sent_later})

    async def open_questions(
        self, now: dt.datetime, *, include_expired: bool = False
    ) -> list[OpenQuestion]:
        return await reads.open_questions(self._db, now, include_expired=include_expired)

    async def pending_question_sets(self, now: dt.datetime) -> list[QuestionSet]:
        """Stored sets with open questions before their deadline, holding only those questions."""
        return await reads.pending_question_sets(self._db, self.partner, now)

    async def status(self, now: dt.datetime, *, recent: int = 10) -> AdapterStatus:
        await self.flush_sent()  # `undelivered` counts what is not marked sent
        return await reads.status(self._db, self.partner, now, recent=recent)

    # -- the partner desk (partner_adapters.desk) --------------------------------------------

    async def record_desk_event(self, event: desk_.DeskEvent) -> None:
        """One line of the desk's log: who did what to which question set; never content."""
        await self._write(lambda conn: desk_.insert_desk_event(conn, event))

    async def desk_events(self, *, limit: int = 100) -> list[desk_.DeskEvent]:
        return await desk_.desk_events(self._db, limit=limit)

    async def desk_pending_sets(self, now: dt.datetime) -> list[desk_.PendingSet]:
        """Question sets with open questions before their deadline, oldest first."""
        return await desk_.pending_sets(self._db, now)

    async def desk_question_set(self, question_set_id: UUID) -> desk_.SetDetail | None:
        return await desk_.question_set_detail(self._db, question_set_id)

    async def desk_recent_answers(
        self, since: dt.datetime, *, limit: int = 50
    ) -> list[desk_.RecentAnswer]:
        return await desk_.recent_answers(self._db, since, limit=limit)


class _NoLongerOpen(Exception):
    pass


class Dropped(NamedTuple):
    """What a withdrawal removed: open questions, and unsent answers."""

    questions: int
    unsent_answers: int


def _answer_items(payload: bytes) -> tuple[AnswerItem, ...]:
    message = decode(payload)
    return message.answers if isinstance(message, PartnerAnswer) else ()


def _mark_folded(conn: sqlite3.Connection, folded: dict[UUID, dt.datetime]) -> None:
    by_time: dict[dt.datetime, list[UUID]] = {}
    for message_id, at in folded.items():
        by_time.setdefault(at, []).append(message_id)
    for at, ids in by_time.items():
        writes_.mark_sent(conn, ids, at)


def _prepare_file(path: Path) -> None:
    if str(path) == ":memory:":
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.touch(mode=0o600)


async def _claim(db: aiosqlite.Connection, partner: Partner, path: Path) -> None:
    await db.execute(
        "INSERT OR IGNORE INTO adapter_meta VALUES ('partner', ?), ('schema_version', ?)",
        (partner.value, str(SCHEMA_VERSION)),
    )
    async with db.execute("SELECT value FROM adapter_meta WHERE key = 'partner'") as cursor:
        row = await cursor.fetchone()
    owner = None if row is None else row[0]
    if owner != partner.value:
        raise WrongStateFile(
            f"{path} is the state file of partner {owner!r}, not {partner.value!r}; "
            "give this partner its own file (--state-db / IAJ_ADAPTER_STATE_DB)"
        )
