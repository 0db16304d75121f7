"""The SQLite schema of the adapter's state file.

Personal data (a subject's name and date of birth) is kept only while a question about that
person is open and its deadline has not passed (and not written when none stays open); answer
content only until it is sent.
"""

from __future__ import annotations

__all__ = ["SCHEMA", "SCHEMA_VERSION"]

SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS adapter_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- One row per question set ever received. The primary key is what recognises a re-published
-- set: it is inserted in the same transaction as the record of answering it.
CREATE TABLE IF NOT EXISTS question_sets (
    message_id     TEXT PRIMARY KEY,
    round_id       TEXT NOT NULL,
    correlation_id TEXT NOT NULL,
    policy_id      TEXT NOT NULL,
    policy_version INTEGER NOT NULL,
    colour         TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    deadline       TEXT NOT NULL,
    received_at    TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS subjects (
    question_set_id TEXT NOT NULL REFERENCES question_sets (message_id),
    subject_ref     TEXT NOT NULL,
    role            TEXT NOT NULL,
    naam            TEXT NOT NULL,
    geboortedatum   TEXT NOT NULL,
    PRIMARY KEY (question_set_id, subject_ref)
);

CREATE TABLE IF NOT EXISTS questions (
    question_set_id   TEXT NOT NULL REFERENCES question_sets (message_id),
    question_id       TEXT NOT NULL,
    key               TEXT NOT NULL,
    subject_ref       TEXT NOT NULL,
    question_json     TEXT NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('open', 'answered')),
    answered_by       TEXT CHECK (answered_by IN ('lookup', 'manual')),
    answered_at       TEXT,
    answer_message_id TEXT,
    PRIMARY KEY (question_set_id, question_id)
);
CREATE INDEX IF NOT EXISTS questions_open ON questions (status, question_id);

CREATE TABLE IF NOT EXISTS refusals (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    at              TEXT NOT NULL,
    question_set_id TEXT,
    question_id     TEXT,
    question_key    TEXT,
    reason          TEXT NOT NULL,
    field           TEXT,
    source          TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS rejections (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    at           TEXT NOT NULL,
    message_id   TEXT,
    reason       TEXT NOT NULL,
    detail       TEXT NOT NULL,
    topic        TEXT,
    partition_no INTEGER,
    offset_no    INTEGER
);

CREATE TABLE IF NOT EXISTS lookup_failures (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    at              TEXT NOT NULL,
    question_set_id TEXT NOT NULL,
    kind            TEXT NOT NULL,
    attempts        INTEGER NOT NULL
);

-- The municipality's refusal notices (iaj.refusals.<partner>): which answer, which question,
-- why. Like every refusal record, never content. The notice's id makes a re-read a no-op.
CREATE TABLE IF NOT EXISTS municipal_refusals (
    message_id  TEXT PRIMARY KEY,
    at          TEXT NOT NULL,
    round_id    TEXT NOT NULL,
    in_reply_to TEXT NOT NULL,
    question_id TEXT,
    reason      TEXT NOT NULL,
    field       TEXT,
    explanation TEXT NOT NULL
);

-- The municipality's withdrawals (a round cancelled, a label lowered, a youth who left or
-- was erased): the withdrawn questions are deleted from `questions`, an unsent answer to
-- nothing but them from `outbox`. The notice's id makes a re-read a no-op. No personal data.
CREATE TABLE IF NOT EXISTS withdrawals (
    message_id TEXT PRIMARY KEY,
    at         TEXT NOT NULL,
    round_id   TEXT NOT NULL,
    reason     TEXT NOT NULL,
    questions  INTEGER NOT NULL,
    dropped    INTEGER NOT NULL,
    unsent     INTEGER NOT NULL
);

-- The municipality's corrections of a subject's data (AVG art. 16 and 19): which round,
-- which subject, which fields, and how many pending question sets were updated. The
-- corrected data itself goes into `subjects` only, where the question sets keep it.
CREATE TABLE IF NOT EXISTS subject_corrections (
    message_id  TEXT PRIMARY KEY,
    at          TEXT NOT NULL,
    round_id    TEXT NOT NULL,
    subject_ref TEXT NOT NULL,
    corrected   TEXT NOT NULL,
    sets        INTEGER NOT NULL
);

-- The partner desk's log (partner_adapters.desk): who signed in, viewed the list or a
-- question set, answered or tried to answer a question, and when. Never content: no name,
-- no answer; `detail` holds a refusal reason code or an answer message id only. Added like
-- every table here (CREATE ... IF NOT EXISTS at every open): an older state file gets it on
-- its next open, nothing else changes.
CREATE TABLE IF NOT EXISTS desk_log (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    at              TEXT NOT NULL,
    user_name       TEXT NOT NULL,
    action          TEXT NOT NULL,
    question_set_id TEXT,
    question_id     TEXT,
    detail          TEXT
);
CREATE INDEX IF NOT EXISTS desk_log_action ON desk_log (action, at);

-- Answers decided but not yet confirmed sent. The payload is cleared once sent.
CREATE TABLE IF NOT EXISTS outbox (
    message_id      TEXT PRIMARY KEY,
    question_set_id TEXT NOT NULL,
    round_id        TEXT NOT NULL,
    correlation_id  TEXT NOT NULL,
    payload         BLOB,
    created_at      TEXT NOT NULL,
    sent_at         TEXT
);
-- What is still to send, read after every batch: without it each read scans every answer
-- ever sent, and the adapter's cost per question set grows with its history.
CREATE INDEX IF NOT EXISTS outbox_unsent ON outbox (created_at, message_id) WHERE sent_at IS NULL;
"""
