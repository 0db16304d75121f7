"""Read queries over the state file, turning rows back into records and wire models."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection
from typing import Any
from uuid import UUID

import aiosqlite

from contracts import Colour, Partner, PolicyRef, Question, QuestionSet, Subject, SubjectRole
from partner_adapters.lookup import LookupSubject
from partner_adapters.state.codec import parse_ts, ts
from partner_adapters.state.records import (
    AdapterStatus,
    KafkaPosition,
    LookupFailure,
    LookupFailureRecord,
    MunicipalRefusalRecord,
    OpenQuestion,
    OutboxEntry,
    Refusal,
    RefusalRecord,
    RefusalSource,
    Rejection,
    RejectionRecord,
)
from partner_adapters.state.thread_calls import fetch_all

__all__ = [
    "open_questions",
    "pending_question_sets",
    "status",
    "unsent",
]


async def _count(db: aiosqlite.Connection, sql: str, params: tuple[Any, ...] = ()) -> int:
    rows = await fetch_all(db, sql, params)
    return int(rows[0][0])


# Read after every batch: served by the partial index `outbox_unsent`, not a scan.
UNSENT = (
    "SELECT message_id, question_set_id, round_id, correlation_id, payload FROM outbox "
    "WHERE sent_at IS NULL ORDER BY created_at, message_id"
)


async def unsent(
    db: aiosqlite.Connection, *, known_sent: Collection[str] = ()
) -> list[OutboxEntry]:
    """`known_sent`: message ids (as stored) confirmed sent but not marked yet: left out
    before their ids are parsed."""
    rows = await fetch_all(db, UNSENT)
    return [
        OutboxEntry(UUID(r[0]), UUID(r[1]), UUID(r[2]), UUID(r[3]), bytes(r[4]))
        for r in rows
        if r[0] not in known_sent
    ]


_OPEN_QUESTIONS = """
SELECT q.question_set_id, s.round_id, s.colour, s.deadline, q.question_json,
       sub.subject_ref, sub.role, sub.naam, sub.geboortedatum,
       r.question_key, r.reason, r.field, r.source,
       s.correlation_id, s.policy_id, s.policy_version
FROM questions q
JOIN question_sets s ON s.message_id = q.question_set_id
LEFT JOIN subjects sub
       ON sub.question_set_id = q.question_set_id AND sub.subject_ref = q.subject_ref
LEFT JOIN refusals r ON r.id = (
    SELECT max(id) FROM refusals
    WHERE question_set_id = q.question_set_id AND question_id = q.question_id)
WHERE q.status = 'open' AND (s.deadline > ? OR ?)
ORDER BY s.deadline, s.received_at, q.rowid
"""


async def open_questions(
    db: aiosqlite.Connection, now: dt.datetime, *, include_expired: bool
) -> list[OpenQuestion]:
    rows = await fetch_all(db, _OPEN_QUESTIONS, (ts(now), include_expired))
    result = []
    for row in rows:
        question = Question.model_validate_json(row[4])
        subject = None
        if row[5] is not None:
            subject = LookupSubject(
                row[5], SubjectRole(row[6]), row[7], dt.date.fromisoformat(row[8])
            )
        refusal = None
        if row[10] is not None:
            refusal = Refusal(
                question.question_id, row[9], row[10], row[11], RefusalSource(row[12])
            )
        result.append(
            OpenQuestion(
                question_set_id=UUID(row[0]),
                round_id=UUID(row[1]),
                correlation_id=UUID(row[13]),
                policy=PolicyRef(id=row[14], version=row[15]),
                colour=Colour(row[2]),
                deadline=parse_ts(row[3]),
                question=question,
                subject=subject,
                last_refusal=refusal,
            )
        )
    return result


async def pending_question_sets(
    db: aiosqlite.Connection, partner: Partner, now: dt.datetime
) -> list[QuestionSet]:
    sets = await fetch_all(
        db,
        "SELECT message_id, round_id, correlation_id, policy_id, policy_version, colour, "
        "created_at, deadline FROM question_sets s WHERE deadline > ? AND EXISTS ("
        "SELECT 1 FROM questions q WHERE q.question_set_id = s.message_id "
        "AND q.status = 'open') ORDER BY deadline, received_at",
        (ts(now),),
    )
    questions: dict[str, list[Question]] = defaultdict(list)
    for set_id, question_json in await fetch_all(
        db,
        "SELECT question_set_id, question_json FROM questions WHERE status = 'open' ORDER BY rowid",
    ):
        questions[set_id].append(Question.model_validate_json(question_json))
    subjects: dict[str, list[Subject]] = defaultdict(list)
    for set_id, ref, role, naam, geboortedatum in await fetch_all(
        db,
        "SELECT question_set_id, subject_ref, role, naam, geboortedatum FROM subjects "
        "ORDER BY rowid",
    ):
        subjects[set_id].append(
            Subject(
                subject_ref=ref,
                role=SubjectRole(role),
                naam=naam,
                geboortedatum=dt.date.fromisoformat(geboortedatum),
            )
        )
    return [
        QuestionSet(
            message_id=UUID(row[0]),
            round_id=UUID(row[1]),
            correlation_id=UUID(row[2]),
            policy=PolicyRef(id=row[3], version=row[4]),
            partner=partner,
            colour=Colour(row[5]),
            created_at=parse_ts(row[6]),
            deadline=parse_ts(row[7]),
            subjects=tuple(subjects[row[0]]),
            questions=tuple(questions[row[0]]),
        )
        for row in sets
    ]


async def status(
    db: aiosqlite.Connection, partner: Partner, now: dt.datetime, *, recent: int
) -> AdapterStatus:
    now_text = ts(now)
    open_exists = (
        "EXISTS (SELECT 1 FROM questions q WHERE q.question_set_id = s.message_id "
        "AND q.status = 'open')"
    )
    return AdapterStatus(
        partner=partner,
        question_sets_received=await _count(db, "SELECT count(*) FROM question_sets"),
        question_sets_answered=await _count(
            db, f"SELECT count(*) FROM question_sets s WHERE NOT {open_exists}"
        ),
        question_sets_pending=await _count(
            db,
            f"SELECT count(*) FROM question_sets s WHERE {open_exists} AND deadline > ?",
            (now_text,),
        ),
        question_sets_expired=await _count(
            db,
            f"SELECT count(*) FROM question_sets s WHERE {open_exists} AND deadline <= ?",
            (now_text,),
        ),
        questions_open=await _count(db, "SELECT count(*) FROM questions WHERE status = 'open'"),
        questions_answered=await _count(
            db, "SELECT count(*) FROM questions WHERE status = 'answered'"
        ),
        refused_at_source=await _count(db, "SELECT count(*) FROM refusals"),
        rejected=await _count(db, "SELECT count(*) FROM rejections"),
        lookup_failures=await _count(db, "SELECT count(*) FROM lookup_failures"),
        undelivered=await _count(db, "SELECT count(*) FROM outbox WHERE sent_at IS NULL"),
        refused_by_municipality=await _count(db, "SELECT count(*) FROM municipal_refusals"),
        recent_refusals=await _recent_refusals(db, recent),
        recent_rejections=await _recent_rejections(db, recent),
        recent_lookup_failures=await _recent_lookup_failures(db, recent),
        recent_municipal_refusals=await _recent_municipal_refusals(db, recent),
    )


async def _recent_refusals(db: aiosqlite.Connection, limit: int) -> list[RefusalRecord]:
    rows = await fetch_all(
        db,
        "SELECT at, question_set_id, question_id, question_key, reason, field, source "
        "FROM refusals ORDER BY id DESC LIMIT ?",
        (limit,),
    )
    return [
        RefusalRecord(
            at=parse_ts(r[0]),
            question_set_id=None if r[1] is None else UUID(r[1]),
            refusal=Refusal(
                None if r[2] is None else UUID(r[2]), r[3], r[4], r[5], RefusalSource(r[6])
            ),
        )
        for r in rows
    ]


async def _recent_rejections(db: aiosqlite.Connection, limit: int) -> list[RejectionRecord]:
    rows = await fetch_all(
        db,
        "SELECT at, message_id, reason, detail, topic, partition_no, offset_no "
        "FROM rejections ORDER BY id DESC LIMIT ?",
        (limit,),
    )
    return [
        RejectionRecord(
            at=parse_ts(r[0]),
            rejection=Rejection(
                reason=r[2],
                detail=r[3],
                message_id=None if r[1] is None else UUID(r[1]),
                position=None if r[4] is None else KafkaPosition(r[4], r[5], r[6]),
            ),
        )
        for r in rows
    ]


async def _recent_lookup_failures(
    db: aiosqlite.Connection, limit: int
) -> list[LookupFailureRecord]:
    rows = await fetch_all(
        db,
        "SELECT at, question_set_id, kind, attempts FROM lookup_failures ORDER BY id DESC LIMIT ?",
        (limit,),
    )
    return [
        LookupFailureRecord(parse_ts(r[0]), UUID(r[1]), LookupFailure(r[2], r[3])) for r in rows
    ]


async def _recent_municipal_refusals(
    db: aiosqlite.Connection, limit: int
) -> list[MunicipalRefusalRecord]:
    rows = await fetch_all(
        db,
        "SELECT at, in_reply_to, question_id, reason, field, explanation "
        "FROM municipal_refusals ORDER BY at DESC, rowid DESC LIMIT ?",
        (limit,),
    )
    return [
        MunicipalRefusalRecord(
            at=parse_ts(r[0]),
            in_reply_to=UUID(r[1]),
            question_id=None if r[2] is None else UUID(r[2]),
            reason=r[3],
            field=r[4],
            explanation=r[5],
        )
        for r in rows
    ]
