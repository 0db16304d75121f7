"""The adapter's SQLite state file, through aiosqlite (never blocking the event loop).

Writes that belong together happen in one `BEGIN IMMEDIATE` transaction: recording a question
set, what was answered, what was refused and the answer message to send. The question set's
message id is the primary key, so a re-published set is caught by the constraint even when two
processes race; the read-only `knows_question_set` only saves a needless lookup.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from types import TracebackType
from typing import NamedTuple, Self
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
from partner_adapters.state import reads, writes
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

__all__ = ["AdapterStore", "Dropped"]


class AdapterStore:
    """One partner's state file. Open with `await AdapterStore.open(path, partner)`."""

    def __init__(self, db: aiosqlite.Connection, partner: Partner) -> None:
        self._db = db
        self.partner = partner

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
            await db.execute("PRAGMA foreign_keys = ON")
            await db.executescript(SCHEMA)
            await _claim(db, partner, path)
        except BaseException:
            await db.close()
            raise
        return cls(db, partner)

    async def close(self) -> None:
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
        await self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            await self._db.execute("ROLLBACK")
            raise
        await self._db.execute("COMMIT")

    # -- writes -------------------------------------------------------------------------------

    async def record_question_set(
        self, question_set: QuestionSet, answering: Answering, at: dt.datetime
    ) -> bool:
        """Record a newly received set and what was done with it. False if it was seen before."""
        qs = question_set
        try:
            async with self._transaction() as db:
                await db.execute(
                    "INSERT INTO question_sets VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        str(qs.message_id),
                        str(qs.round_id),
                        str(qs.correlation_id),
                        qs.policy.id,
                        qs.policy.version,
                        qs.colour.value,
                        ts(qs.created_at),
                        ts(qs.deadline),
                        ts(at),
                    ),
                )
                await db.executemany(
                    "INSERT INTO subjects VALUES (?, ?, ?, ?, ?)",
                    [
                        (
                            str(qs.message_id),
                            s.subject_ref,
                            s.role.value,
                            s.naam,
                            s.geboortedatum.isoformat(),
                        )
                        for s in qs.subjects
                    ],
                )
                await db.executemany(
                    "INSERT INTO questions (question_set_id, question_id, key, subject_ref, "
                    "question_json, status) VALUES (?, ?, ?, ?, ?, 'open')",
                    [
                        (
                            str(qs.message_id),
                            str(q.question_id),
                            q.key,
                            q.subject_ref,
                            q.model_dump_json(),
                        )
                        for q in qs.questions
                    ],
                )
                if not await writes.write_answering(db, qs.message_id, answering, at):
                    raise RuntimeError("answering names a question that is not in the new set")
                await writes.purge_personal_data(db, at)
        except sqlite3.IntegrityError as exc:
            if "question_sets.message_id" in str(exc):
                return False
            raise
        return True

    async def record_follow_up(
        self, question_set_id: UUID, answering: Answering, at: dt.datetime
    ) -> bool:
        """Record a later answer (retry, manual). False, and nothing written, if any of its
        questions is no longer open (answered meanwhile by another process)."""
        try:
            async with self._transaction() as db:
                if not await writes.write_answering(db, question_set_id, answering, at):
                    raise _NoLongerOpen
                await writes.purge_personal_data(db, at)
        except _NoLongerOpen:
            return False
        return True

    async def record_rejection(self, rejection: Rejection, at: dt.datetime) -> None:
        pos = rejection.position
        async with self._transaction() as db:
            await db.execute(
                "INSERT INTO rejections (at, message_id, reason, detail, topic, partition_no, "
                "offset_no) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    ts(at),
                    None if rejection.message_id is None else str(rejection.message_id),
                    rejection.reason,
                    rejection.detail[:300],
                    None if pos is None else pos.topic,
                    None if pos is None else pos.partition,
                    None if pos is None else pos.offset,
                ),
            )

    async def record_refusals(
        self, question_set_id: UUID | None, refusals: Iterable[Refusal], at: dt.datetime
    ) -> None:
        async with self._transaction() as db:
            await writes.insert_refusals(db, question_set_id, refusals, at)

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
            await writes.purge_personal_data(db, at)
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

    async def mark_sent(self, message_id: UUID, at: dt.datetime) -> None:
        """The answer is on the topic: forget its content, keep that it was sent."""
        async with self._transaction() as db:
            await db.execute(
                "UPDATE outbox SET sent_at = ?, payload = NULL WHERE message_id = ?",
                (ts(at), str(message_id)),
            )

    async def purge_personal_data(self, now: dt.datetime) -> None:
        async with self._transaction() as db:
            await writes.purge_personal_data(db, now)

    # -- reads --------------------------------------------------------------------------------

    async def knows_question_set(self, message_id: UUID) -> bool:
        return await reads.knows_question_set(self._db, message_id)

    async def unsent(self) -> list[OutboxEntry]:
        return await reads.unsent(self._db)

    async def open_questions(
        self, now: dt.datetime, *, include_expired: bool = False
    ) -> list[OpenQuestion]:
        return await reads.open_questions(self._db, now, include_expired=include_expired)

    async def pending_question_sets(self, now: dt.datetime) -> list[QuestionSet]:
        """Stored sets with open questions before their deadline, holding only those questions."""
        return await reads.pending_question_sets(self._db, self.partner, now)

    async def status(self, now: dt.datetime, *, recent: int = 10) -> AdapterStatus:
        return await reads.status(self._db, self.partner, now, recent=recent)


class _NoLongerOpen(Exception):
    pass


class Dropped(NamedTuple):
    """What a withdrawal removed: open questions, and unsent answers."""

    questions: int
    unsent_answers: int


def _answer_items(payload: bytes) -> tuple[AnswerItem, ...]:
    message = decode(payload)
    return message.answers if isinstance(message, PartnerAnswer) else ()


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
