"""The state file as the partner desk sees it: pending question sets for the list, one
question set with every question's state, recent answers, and the desk's own log.

The log (`desk_log`) records who did what to which question set, and when; never content
(no name, no answer). The reads return names and dates of birth only while the store still
holds them: they are purged once no question about the person is open (`writes`).
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections import defaultdict
from dataclasses import dataclass
from enum import StrEnum
from uuid import UUID

import aiosqlite

from contracts import Colour, PolicyRef, Question, SubjectRole
from partner_adapters.lookup import LookupSubject
from partner_adapters.state.codec import parse_ts, ts
from partner_adapters.state.records import Refusal, RefusalSource
from partner_adapters.state.thread_calls import fetch_all

__all__ = [
    "DeskAction",
    "DeskEvent",
    "MunicipalRefusalNote",
    "PendingSet",
    "RecentAnswer",
    "SetDetail",
    "SetQuestion",
    "desk_events",
    "insert_desk_event",
    "pending_sets",
    "question_set_detail",
    "recent_answers",
]

_MAX_USER = 100


class DeskAction(StrEnum):
    SIGNED_IN = "signed_in"
    SIGNED_OUT = "signed_out"
    VIEWED_LIST = "viewed_list"
    VIEWED_QUESTION_SET = "viewed_question_set"
    ANSWERED = "answered"
    ANSWER_REFUSED = "answer_refused"  # `detail`: the reason code (and field), never a value
    ALREADY_ANSWERED = "already_answered"


@dataclass(frozen=True, slots=True)
class DeskEvent:
    """One line of the desk's log: who, what, which question set; never content."""

    at: dt.datetime
    user: str
    action: DeskAction
    question_set_id: UUID | None = None
    question_id: UUID | None = None
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class PendingSet:
    """A question set with open questions before its deadline, for the desk's list."""

    question_set_id: UUID
    colour: Colour
    created_at: dt.datetime
    received_at: dt.datetime
    deadline: dt.datetime
    subjects: tuple[LookupSubject, ...]
    open_questions: int


@dataclass(frozen=True, slots=True)
class MunicipalRefusalNote:
    """The municipality did not take an answer (iaj.refusals.<partner>): why, never content."""

    at: dt.datetime
    reason: str
    field: str | None
    explanation: str


@dataclass(frozen=True, slots=True)
class SetQuestion:
    """One question of a set and what became of it."""

    question: Question
    open: bool
    answered_by: str | None
    answered_at: dt.datetime | None
    answer_message_id: UUID | None
    in_outbox: bool  # the answer message is recorded (a withdrawal may have dropped it)
    sent_at: dt.datetime | None
    municipal_refusal: MunicipalRefusalNote | None
    last_refusal: Refusal | None  # the latest refusal at source (a lookup's, a person's)


@dataclass(frozen=True, slots=True)
class SetDetail:
    question_set_id: UUID
    round_id: UUID
    correlation_id: UUID
    policy: PolicyRef
    colour: Colour
    created_at: dt.datetime
    received_at: dt.datetime
    deadline: dt.datetime
    subjects: tuple[LookupSubject, ...]  # empty once purged
    questions: tuple[SetQuestion, ...]


@dataclass(frozen=True, slots=True)
class RecentAnswer:
    """An answer given at the desk, for the list's "recently answered": no content."""

    at: dt.datetime
    user: str
    question_set_id: UUID
    question_id: UUID
    question_key: str
    subject_ref: str
    colour: Colour
    in_outbox: bool
    sent_at: dt.datetime | None
    municipal_refusal: MunicipalRefusalNote | None


def insert_desk_event(db: sqlite3.Connection, event: DeskEvent) -> None:
    db.execute(
        "INSERT INTO desk_log (at, user_name, action, question_set_id, question_id, detail) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (
            ts(event.at),
            event.user[:_MAX_USER],
            event.action.value,
            None if event.question_set_id is None else str(event.question_set_id),
            None if event.question_id is None else str(event.question_id),
            None if event.detail is None else event.detail[:200],
        ),
    )


async def desk_events(db: aiosqlite.Connection, *, limit: int) -> list[DeskEvent]:
    """The most recent lines of the desk's log, newest first."""
    rows = await fetch_all(
        db,
        "SELECT at, user_name, action, question_set_id, question_id, detail FROM desk_log "
        "ORDER BY id DESC LIMIT ?",
        (limit,),
    )
    return [
        DeskEvent(
            at=parse_ts(r[0]),
            user=r[1],
            action=DeskAction(r[2]),
            question_set_id=None if r[3] is None else UUID(r[3]),
            question_id=None if r[4] is None else UUID(r[4]),
            detail=r[5],
        )
        for r in rows
    ]


async def _subjects(db: aiosqlite.Connection, set_ids: list[str]) -> dict[str, list[LookupSubject]]:
    found: dict[str, list[LookupSubject]] = defaultdict(list)
    if not set_ids:
        return found
    for start in range(0, len(set_ids), 500):
        chunk = set_ids[start : start + 500]
        for set_id, ref, role, naam, geboortedatum in await fetch_all(
            db,
            "SELECT question_set_id, subject_ref, role, naam, geboortedatum FROM subjects "
            f"WHERE question_set_id IN ({', '.join('?' * len(chunk))}) ORDER BY rowid",
            tuple(chunk),
        ):
            found[set_id].append(
                LookupSubject(ref, SubjectRole(role), naam, dt.date.fromisoformat(geboortedatum))
            )
    return found


async def pending_sets(db: aiosqlite.Connection, now: dt.datetime) -> list[PendingSet]:
    """Question sets with open questions before their deadline, oldest first."""
    rows = await fetch_all(
        db,
        "SELECT s.message_id, s.colour, s.created_at, s.received_at, s.deadline, "
        "(SELECT count(*) FROM questions q WHERE q.question_set_id = s.message_id "
        " AND q.status = 'open') AS open_count "
        "FROM question_sets s WHERE s.deadline > ? AND EXISTS ("
        "SELECT 1 FROM questions q WHERE q.question_set_id = s.message_id "
        "AND q.status = 'open') ORDER BY s.created_at, s.received_at, s.message_id",
        (ts(now),),
    )
    subjects = await _subjects(db, [r[0] for r in rows])
    return [
        PendingSet(
            question_set_id=UUID(r[0]),
            colour=Colour(r[1]),
            created_at=parse_ts(r[2]),
            received_at=parse_ts(r[3]),
            deadline=parse_ts(r[4]),
            subjects=tuple(subjects.get(r[0], ())),
            open_questions=int(r[5]),
        )
        for r in rows
    ]


# The latest notice about the answer message, for the question (or for the whole message).
_MUNICIPAL_REFUSAL = """
LEFT JOIN municipal_refusals mr ON mr.rowid = (
    SELECT rowid FROM municipal_refusals
    WHERE in_reply_to = q.answer_message_id
      AND (question_id IS NULL OR question_id = q.question_id)
    ORDER BY at DESC, rowid DESC LIMIT 1)
"""


def _note(at: str | None, reason: str, field: str | None, text: str) -> MunicipalRefusalNote | None:
    return None if at is None else MunicipalRefusalNote(parse_ts(at), reason, field, text)


async def question_set_detail(db: aiosqlite.Connection, set_id: UUID) -> SetDetail | None:
    """One question set with all its questions (open and answered); None if unknown."""
    sets = await fetch_all(
        db,
        "SELECT message_id, round_id, correlation_id, policy_id, policy_version, colour, "
        "created_at, deadline, received_at FROM question_sets WHERE message_id = ?",
        (str(set_id),),
    )
    if not sets:
        return None
    [s] = sets
    rows = await fetch_all(
        db,
        "SELECT q.question_json, q.status, q.answered_by, q.answered_at, q.answer_message_id, "
        "o.message_id, o.sent_at, mr.at, mr.reason, mr.field, mr.explanation, "
        "r.question_key, r.reason, r.field, r.source "
        "FROM questions q "
        "LEFT JOIN outbox o ON o.message_id = q.answer_message_id "
        f"{_MUNICIPAL_REFUSAL}"
        "LEFT JOIN refusals r ON r.id = ("
        "  SELECT max(id) FROM refusals"
        "  WHERE question_set_id = q.question_set_id AND question_id = q.question_id) "
        "WHERE q.question_set_id = ? ORDER BY q.rowid",
        (str(set_id),),
    )
    questions = []
    for r in rows:
        question = Question.model_validate_json(r[0])
        questions.append(
            SetQuestion(
                question=question,
                open=r[1] == "open",
                answered_by=r[2],
                answered_at=None if r[3] is None else parse_ts(r[3]),
                answer_message_id=None if r[4] is None else UUID(r[4]),
                in_outbox=r[5] is not None,
                sent_at=None if r[6] is None else parse_ts(r[6]),
                municipal_refusal=_note(r[7], r[8], r[9], r[10]),
                last_refusal=None
                if r[12] is None
                else Refusal(question.question_id, r[11], r[12], r[13], RefusalSource(r[14])),
            )
        )
    subjects = await _subjects(db, [s[0]])
    return SetDetail(
        question_set_id=UUID(s[0]),
        round_id=UUID(s[1]),
        correlation_id=UUID(s[2]),
        policy=PolicyRef(id=s[3], version=s[4]),
        colour=Colour(s[5]),
        created_at=parse_ts(s[6]),
        deadline=parse_ts(s[7]),
        received_at=parse_ts(s[8]),
        subjects=tuple(subjects.get(s[0], ())),
        questions=tuple(questions),
    )


async def recent_answers(
    db: aiosqlite.Connection, since: dt.datetime, *, limit: int
) -> list[RecentAnswer]:
    """Answers given at the desk since `since`, newest first, with their delivery state."""
    rows = await fetch_all(
        db,
        "SELECT d.at, d.user_name, d.question_set_id, d.question_id, q.key, q.subject_ref, "
        "s.colour, o.message_id, o.sent_at, mr.at, mr.reason, mr.field, mr.explanation "
        "FROM desk_log d "
        "JOIN questions q ON q.question_set_id = d.question_set_id "
        " AND q.question_id = d.question_id "
        "JOIN question_sets s ON s.message_id = d.question_set_id "
        "LEFT JOIN outbox o ON o.message_id = q.answer_message_id "
        f"{_MUNICIPAL_REFUSAL}"
        "WHERE d.action = ? AND d.at >= ? ORDER BY d.id DESC LIMIT ?",
        (DeskAction.ANSWERED.value, ts(since), limit),
    )
    return [
        RecentAnswer(
            at=parse_ts(r[0]),
            user=r[1],
            question_set_id=UUID(r[2]),
            question_id=UUID(r[3]),
            question_key=r[4],
            subject_ref=r[5],
            colour=Colour(r[6]),
            in_outbox=r[7] is not None,
            sent_at=None if r[8] is None else parse_ts(r[8]),
            municipal_refusal=_note(r[9], r[10], r[11], r[12]),
        )
        for r in rows
    ]
