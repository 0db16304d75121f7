"""Write statements that several of the store's transactions share: an answering (questions
answered, refusals, a lookup failure, the answer to send), refusals, and the purge of
personal data.

Separate from `partner_adapters.state.store`, which owns the connection and decides what is
written together in one `BEGIN IMMEDIATE` transaction; like `reads`, these only run
statements on the connection they are given.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from uuid import UUID

import aiosqlite

from contracts import encode
from partner_adapters.state.codec import ts
from partner_adapters.state.records import Answering, Refusal

__all__ = ["insert_refusals", "purge_personal_data", "write_answering"]


async def write_answering(
    db: aiosqlite.Connection, question_set_id: UUID, answering: Answering, at: dt.datetime
) -> bool:
    message = answering.message
    message_id = None if message is None else str(message.message_id)
    for question_id in answering.answered:
        cursor = await db.execute(
            "UPDATE questions SET status = 'answered', answered_by = ?, answered_at = ?, "
            "answer_message_id = ? "
            "WHERE question_set_id = ? AND question_id = ? AND status = 'open'",
            (
                answering.answered_by.value,
                ts(at),
                message_id,
                str(question_set_id),
                str(question_id),
            ),
        )
        if cursor.rowcount != 1:
            return False
    await insert_refusals(db, question_set_id, answering.refusals, at)
    if answering.lookup_failure is not None:
        await db.execute(
            "INSERT INTO lookup_failures (at, question_set_id, kind, attempts) VALUES (?, ?, ?, ?)",
            (
                ts(at),
                str(question_set_id),
                answering.lookup_failure.kind,
                answering.lookup_failure.attempts,
            ),
        )
    if message is not None:
        await db.execute(
            "INSERT INTO outbox (message_id, question_set_id, round_id, correlation_id, payload, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (
                str(message.message_id),
                str(question_set_id),
                str(message.round_id),
                str(message.correlation_id),
                encode(message),
                ts(at),
            ),
        )
    return True


async def insert_refusals(
    db: aiosqlite.Connection,
    question_set_id: UUID | None,
    refusals: Iterable[Refusal],
    at: dt.datetime,
) -> None:
    await db.executemany(
        "INSERT INTO refusals (at, question_set_id, question_id, question_key, reason, field, "
        "source) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            (
                ts(at),
                None if question_set_id is None else str(question_set_id),
                None if r.question_id is None else str(r.question_id),
                r.question_key,
                r.reason,
                r.field,
                r.source.value,
            )
            for r in refusals
        ],
    )


async def purge_personal_data(db: aiosqlite.Connection, now: dt.datetime) -> None:
    # Names and birth dates are kept only as long as someone may still need them to answer.
    # Driven from `subjects`, which only ever holds the few sets still open: cheap every time.
    await db.execute(
        "DELETE FROM subjects WHERE EXISTS ("
        "  SELECT 1 FROM question_sets s WHERE s.message_id = subjects.question_set_id"
        "  AND (s.deadline <= ? OR NOT EXISTS ("
        "    SELECT 1 FROM questions q WHERE q.question_set_id = s.message_id"
        "    AND q.status = 'open')))",
        (ts(now),),
    )
