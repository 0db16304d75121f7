"""The municipal database. Stores the netto focus list, rounds and permitted answers only.

What is never stored: bruto-list persons, the content of refused answers, the payload of
dead letters. Unique constraints carry exactly-once effect over at-least-once delivery.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

__all__ = [
    "AnswerRow",
    "Base",
    "CaseRow",
    "DeadLetterRow",
    "FamilyMemberRow",
    "InboxRow",
    "JobRunRow",
    "LateAnswerRow",
    "OutboxRow",
    "ProcessingLogRow",
    "QuestionRow",
    "RefusalRow",
    "RoundRow",
]

_NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=_NAMING)


class CaseRow(Base):
    """A youth on the netto focus list."""

    __tablename__ = "cases"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    naam: Mapped[str] = mapped_column(String(200))
    geboortedatum: Mapped[dt.date] = mapped_column(Date)
    district: Mapped[str] = mapped_column(String(20))
    track: Mapped[str] = mapped_column(String(10))
    criteria: Mapped[list[str]] = mapped_column(JSON)
    adres: Mapped[str | None] = mapped_column(String(200))
    adres_reden: Mapped[str | None] = mapped_column(String(280))
    informed_on: Mapped[dt.date | None] = mapped_column(Date)
    # The label (groen/oranje/rood); null only for cases registered before labels were kept
    # on the case (then the label of its latest round applies).
    colour: Mapped[str | None] = mapped_column(String(10))
    # The day the youth was put on the focus list, if known (the overleg's decision).
    listed_on: Mapped[dt.date | None] = mapped_column(Date)
    # Uitstroom: the youth left the approach; personal data goes at most a year later.
    left_on: Mapped[dt.date | None] = mapped_column(Date)
    # The day the uitstroombrief was sent.
    uitstroombrief_on: Mapped[dt.date | None] = mapped_column(Date)
    registered_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    registered_by: Mapped[str] = mapped_column(String(100))
    family: Mapped[list[FamilyMemberRow]] = relationship(
        order_by="FamilyMemberRow.ordinal", cascade="all, delete-orphan", lazy="selectin"
    )


class FamilyMemberRow(Base):
    __tablename__ = "family_members"
    __table_args__ = (UniqueConstraint("case_id", "ordinal"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    ordinal: Mapped[int] = mapped_column(Integer)
    naam: Mapped[str] = mapped_column(String(200))
    geboortedatum: Mapped[dt.date] = mapped_column(Date)


class RoundRow(Base):
    __tablename__ = "rounds"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    colour: Mapped[str] = mapped_column(String(10))
    policy_id: Mapped[str] = mapped_column(String(64))
    policy_version: Mapped[int] = mapped_column(Integer)
    correlation_id: Mapped[str] = mapped_column(String(36))
    # An open-round command opens at most one round: the unique command id is the proof.
    command_id: Mapped[str | None] = mapped_column(String(36), unique=True)
    state: Mapped[str] = mapped_column(String(12), index=True)  # open | complete | deadline
    opened_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    deadline: Mapped[dt.datetime] = mapped_column(UtcDateTime, index=True)
    completed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    opened_by: Mapped[str] = mapped_column(String(100))
    # The revision of the round's published result: 1 at completion, one more each time it is
    # re-published scoped to a lower label (afschalen, handlers.relabel).
    result_revision: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class QuestionRow(Base):
    __tablename__ = "questions"
    __table_args__ = (
        UniqueConstraint("round_id", "partner", "key", "subject_ref"),
        Index("ix_questions_partner_status", "partner", "status"),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    round_id: Mapped[str] = mapped_column(ForeignKey("rounds.id"), index=True)
    partner: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(64))
    subject_ref: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(String(500))
    shape: Mapped[str] = mapped_column(String(32))
    detail_fields: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    text_limit: Mapped[int | None] = mapped_column(Integer)
    # The condition, copied from the policy so a later policy version cannot change a round.
    after_partner: Mapped[str | None] = mapped_column(String(32))
    after_key: Mapped[str | None] = mapped_column(String(64))
    after_answer: Mapped[str | None] = mapped_column(String(3))
    # waiting (condition unresolved) | open | answered | expired | not_applicable
    status: Mapped[str] = mapped_column(String(16))
    question_set_id: Mapped[str | None] = mapped_column(String(36))
    issued_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class AnswerRow(Base):
    """An accepted answer: only the content its label permits (checked before insert)."""

    __tablename__ = "answers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # One accepted answer per question, whatever the number of deliveries.
    question_id: Mapped[str] = mapped_column(ForeignKey("questions.id"), unique=True)
    round_id: Mapped[str] = mapped_column(ForeignKey("rounds.id"), index=True)
    partner: Mapped[str] = mapped_column(String(32))
    message_id: Mapped[str] = mapped_column(String(36))
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    # The partner's signature of this item (contracts.signing) and the key that made it: with
    # the content and the ids above, the signed bytes can be rebuilt and verified later.
    key_id: Mapped[str | None] = mapped_column(String(16))
    signature: Mapped[str | None] = mapped_column(String(88))
    received_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class LateAnswerRow(Base):
    """An answer that arrived after its round completed: recorded, never merged, no content."""

    __tablename__ = "late_answers"
    __table_args__ = (UniqueConstraint("message_id", "question_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    question_id: Mapped[str] = mapped_column(ForeignKey("questions.id"))
    round_id: Mapped[str] = mapped_column(ForeignKey("rounds.id"), index=True)
    partner: Mapped[str] = mapped_column(String(32))
    message_id: Mapped[str] = mapped_column(String(36))
    received_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class RefusalRow(Base):
    """Audit of a refused answer: who, which question, why. Never the content."""

    __tablename__ = "refusals"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    round_id: Mapped[str | None] = mapped_column(String(36), index=True)
    partner: Mapped[str] = mapped_column(String(32), index=True)
    message_id: Mapped[str] = mapped_column(String(36))
    question_id: Mapped[str | None] = mapped_column(String(36))
    reason: Mapped[str] = mapped_column(String(32))
    field: Mapped[str | None] = mapped_column(String(64))
    received_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class DeadLetterRow(Base):
    """A message that could not be read: where it was, how big, why. Its bytes went to
    iaj.deadletter and never to the database."""

    __tablename__ = "dead_letters"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    topic: Mapped[str] = mapped_column(String(100))
    partition: Mapped[int | None] = mapped_column(Integer)
    offset: Mapped[int | None] = mapped_column(BigInteger)
    size_bytes: Mapped[int | None] = mapped_column(Integer)
    partner: Mapped[str | None] = mapped_column(String(32), index=True)
    reason: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(String(500))
    received_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class InboxRow(Base):
    """Every consumed message, by message id (or log position when unreadable).

    Inserted in the same transaction as the message's effects: a redelivery hits the primary
    key and changes nothing.
    """

    __tablename__ = "inbox"
    message_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    topic: Mapped[str] = mapped_column(String(100))
    processed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class OutboxRow(Base):
    """A message to publish, written in the transaction that decided it. The relay sends it."""

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(String(36), unique=True)
    topic: Mapped[str] = mapped_column(String(100))
    key: Mapped[bytes] = mapped_column(LargeBinary)
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    headers: Mapped[dict[str, str]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, index=True)


class ProcessingLogRow(Base):
    """Logboek dataverwerkingen: who processed which person's data, what, and why."""

    __tablename__ = "processing_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(40))
    case_id: Mapped[str | None] = mapped_column(String(36), index=True)
    round_id: Mapped[str | None] = mapped_column(String(36))
    # The partner data went to or came from, when data crossed to or from a partner.
    partner: Mapped[str | None] = mapped_column(String(32), index=True)
    purpose: Mapped[str] = mapped_column(Text)
    # The W3C trace id of the traced operation it was written in (the round's, when traced).
    trace_id: Mapped[str | None] = mapped_column(String(32))


class JobRunRow(Base):
    """A pass of a periodic job of the service (the retention purge): when, and what it did.
    Names no one: `iaj status` reads it to show the last pass and the next."""

    __tablename__ = "job_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job: Mapped[str] = mapped_column(String(40), index=True)
    finished_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    detail: Mapped[str] = mapped_column(String(200))
