"""Write statements that several of the store's transactions share: a new question set, an
answering (questions answered, refusals, a lookup failure, the answer to send), rejections,
refusals, marking answers sent, and the purge of personal data.

Separate from `partner_adapters.state.store`, which owns the connection and decides what is
written together in one `BEGIN IMMEDIATE` transaction. These are plain `sqlite3` functions:
the store runs a whole transaction of them in the connection's thread in one call, so a
transaction costs one thread round-trip however many statements it has.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterable
from uuid import UUID

from contracts import QuestionSet, encode
from partner_adapters.state.codec import ts
from partner_adapters.state.records import Answering, Refusal, Rejection

__all__ = [
    "insert_question_set",
    "insert_refusals",
    "insert_rejection",
    "mark_sent",
    "purge_personal_data",
    "write_answering",
]


def insert_question_set(
    db: sqlite3.Connection, qs: QuestionSet, answering: Answering, at: dt.datetime
) -> bool:
    """Record a new question set and its answering; False, and nothing written, when its
    message id is known already (the primary key decides: no read before).

    Each question is written once, with the status the answering gave it. The names and
    birth dates are written only when a question stays open: they are kept for as long as
    someone may still need them to answer, and a set answered at once never needs them.
    """
    cursor = db.execute(
        "INSERT INTO question_sets VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (message_id) DO NOTHING",
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
    if cursor.rowcount != 1:
        return False
    set_id = str(qs.message_id)
    answered = set(answering.answered)
    if not answered <= {q.question_id for q in qs.questions}:
        raise RuntimeError("answering names a question that is not in the new set")
    if len(answered) < len(qs.questions):
        db.executemany(
            "INSERT INTO subjects VALUES (?, ?, ?, ?, ?)",
            [
                (set_id, s.subject_ref, s.role.value, s.naam, s.geboortedatum.isoformat())
                for s in qs.subjects
            ],
        )
    by, when, message_id = answering.answered_by.value, ts(at), _message_id(answering)
    db.executemany(
        "INSERT INTO questions (question_set_id, question_id, key, subject_ref, question_json, "
        "status, answered_by, answered_at, answer_message_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (set_id, str(q.question_id), q.key, q.subject_ref, q.model_dump_json())
            + (("answered", by, when, message_id) if q.question_id in answered else _OPEN)
            for q in qs.questions
        ],
    )
    _write_outcome(db, qs.message_id, answering, at)
    return True


_OPEN = ("open", None, None, None)


def _message_id(answering: Answering) -> str | None:
    return None if answering.message is None else str(answering.message.message_id)


def write_answering(
    db: sqlite3.Connection, question_set_id: UUID, answering: Answering, at: dt.datetime
) -> bool:
    """Record an answering of questions recorded before (by hand, or after a failed lookup);
    False when one of them is not open."""
    message_id = _message_id(answering)
    for question_id in answering.answered:
        cursor = db.execute(
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
    _write_outcome(db, question_set_id, answering, at)
    return True


def _write_outcome(
    db: sqlite3.Connection, question_set_id: UUID, answering: Answering, at: dt.datetime
) -> None:
    """The refusals, the lookup's failure and the answer to send of an answering."""
    set_id = str(question_set_id)
    insert_refusals(db, question_set_id, answering.refusals, at)
    if answering.lookup_failure is not None:
        db.execute(
            "INSERT INTO lookup_failures (at, question_set_id, kind, attempts) VALUES (?, ?, ?, ?)",
            (ts(at), set_id, answering.lookup_failure.kind, answering.lookup_failure.attempts),
        )
    message = answering.message
    if message is not None:
        db.execute(
            "INSERT INTO outbox (message_id, question_set_id, round_id, correlation_id, payload, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (
                str(message.message_id),
                set_id,
                str(message.round_id),
                str(message.correlation_id),
                encode(message),
                ts(at),
            ),
        )


def insert_rejection(
    db: sqlite3.Connection, rejection: Rejection, at: dt.datetime, *, unless_known: bool = False
) -> bool:
    """Record a rejected message. `unless_known`: not when a question set with its message id
    was recorded before (a set answered in time and read again late is a duplicate)."""
    pos = rejection.position
    message_id = None if rejection.message_id is None else str(rejection.message_id)
    values = (
        ts(at),
        message_id,
        rejection.reason,
        rejection.detail[:300],
        None if pos is None else pos.topic,
        None if pos is None else pos.partition,
        None if pos is None else pos.offset,
    )
    columns = "(at, message_id, reason, detail, topic, partition_no, offset_no)"
    if unless_known:
        cursor = db.execute(
            f"INSERT INTO rejections {columns} SELECT ?, ?, ?, ?, ?, ?, ? "
            "WHERE NOT EXISTS (SELECT 1 FROM question_sets WHERE message_id = ?)",
            (*values, message_id),
        )
        return cursor.rowcount == 1
    db.execute(f"INSERT INTO rejections {columns} VALUES (?, ?, ?, ?, ?, ?, ?)", values)
    return True


def insert_refusals(
    db: sqlite3.Connection,
    question_set_id: UUID | None,
    refusals: Iterable[Refusal],
    at: dt.datetime,
) -> None:
    db.executemany(
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


def mark_sent(db: sqlite3.Connection, message_ids: Iterable[UUID], at: dt.datetime) -> None:
    """The answers are on the topic: forget their content, keep that they were sent."""
    ids = [str(m) for m in message_ids]
    for start in range(0, len(ids), 500):  # well below SQLite's limit on bound variables
        chunk = ids[start : start + 500]
        db.execute(
            "UPDATE outbox SET sent_at = ?, payload = NULL "
            f"WHERE message_id IN ({', '.join('?' * len(chunk))})",
            (ts(at), *chunk),
        )


def purge_personal_data(db: sqlite3.Connection, now: dt.datetime) -> None:
    # Names and birth dates are kept only as long as someone may still need them to answer.
    # Driven from `subjects`, which only ever holds the few sets still open: cheap every time.
    db.execute(
        "DELETE FROM subjects WHERE EXISTS ("
        "  SELECT 1 FROM question_sets s WHERE s.message_id = subjects.question_set_id"
        "  AND (s.deadline <= ? OR NOT EXISTS ("
        "    SELECT 1 FROM questions q WHERE q.question_set_id = s.message_id"
        "    AND q.status = 'open')))",
        (ts(now),),
    )
