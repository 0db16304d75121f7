"""Plain records passed between the answering logic and the store. None holds answer content
except `Answering.message` (what is about to be sent) and `OutboxEntry.payload` (until sent)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from uuid import UUID

from contracts import (
    AnswerItem,
    AnswerRefused,
    Colour,
    Partner,
    PartnerAnswer,
    PolicyRef,
    Question,
)
from partner_adapters.lookup import LookupSubject

__all__ = [
    "AdapterStatus",
    "AnsweredBy",
    "Answering",
    "KafkaPosition",
    "LookupFailure",
    "LookupFailureRecord",
    "MunicipalRefusalRecord",
    "OpenQuestion",
    "OutboxEntry",
    "Refusal",
    "RefusalRecord",
    "RefusalSource",
    "Rejection",
    "RejectionRecord",
]

# A field name a lookup made up could itself be content ("heeft_schulden_bij_x"); only short
# identifiers are kept in the refusal record.
_SAFE_FIELD = re.compile(r"^[a-z_][a-z0-9_]{0,39}(\.[a-z_][a-z0-9_]{0,39})?$")
_WITHHELD = "(field name withheld)"


class RefusalSource(StrEnum):
    """Who produced the answer that was refused before it could leave."""

    LOOKUP = "lookup"
    MANUAL = "manual"
    POLICY = "policy"  # the question itself asks more than the local policy permits


class AnsweredBy(StrEnum):
    LOOKUP = "lookup"
    MANUAL = "manual"


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why an answer (or a question) was stopped at source: reason and field, never content."""

    question_id: UUID | None
    question_key: str | None
    reason: str
    field: str | None
    source: RefusalSource

    def __post_init__(self) -> None:
        if self.field is not None and not _SAFE_FIELD.match(self.field):
            object.__setattr__(self, "field", _WITHHELD)

    @classmethod
    def from_error(cls, error: AnswerRefused, source: RefusalSource) -> Refusal:
        field = None if error.field is None else str(error.field)
        return cls(error.question_id, error.question_key, error.reason.value, field, source)


@dataclass(frozen=True, slots=True)
class MunicipalRefusalRecord:
    """The municipality did not accept (part of) an answer this adapter sent, and said why."""

    at: dt.datetime
    in_reply_to: UUID  # the answer message
    question_id: UUID | None
    reason: str
    field: str | None
    explanation: str


@dataclass(frozen=True, slots=True)
class LookupFailure:
    """The lookup could not answer: `kind` is an error class name, never its message."""

    kind: str
    attempts: int


@dataclass(frozen=True, slots=True)
class KafkaPosition:
    topic: str
    partition: int
    offset: int


@dataclass(frozen=True, slots=True)
class Rejection:
    """A message that is not answered at all: malformed, for another partner, or too late."""

    reason: str
    detail: str
    message_id: UUID | None = None
    position: KafkaPosition | None = None


@dataclass(frozen=True, slots=True)
class Answering:
    """Everything one attempt to answer decided, written in one transaction."""

    answered: Mapping[UUID, AnswerItem]
    answered_by: AnsweredBy
    refusals: Sequence[Refusal] = ()
    lookup_failure: LookupFailure | None = None
    message: PartnerAnswer | None = None


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """An answer message recorded locally and not yet confirmed sent."""

    message_id: UUID
    question_set_id: UUID
    round_id: UUID
    correlation_id: UUID
    payload: bytes


@dataclass(frozen=True, slots=True)
class OpenQuestion:
    """A question still waiting for an answer, with what a person needs to answer it."""

    question_set_id: UUID
    round_id: UUID
    correlation_id: UUID
    policy: PolicyRef
    colour: Colour
    deadline: dt.datetime
    question: Question
    subject: LookupSubject | None  # None once the deadline passed (personal data purged)
    last_refusal: Refusal | None


@dataclass(frozen=True, slots=True)
class RefusalRecord:
    at: dt.datetime
    question_set_id: UUID | None
    refusal: Refusal


@dataclass(frozen=True, slots=True)
class RejectionRecord:
    at: dt.datetime
    rejection: Rejection


@dataclass(frozen=True, slots=True)
class LookupFailureRecord:
    at: dt.datetime
    question_set_id: UUID
    failure: LookupFailure


@dataclass(frozen=True, slots=True)
class AdapterStatus:
    """Counts and the most recent problems, for `iaj adapter status`. No answer content."""

    partner: Partner
    question_sets_received: int
    question_sets_answered: int
    question_sets_pending: int
    question_sets_expired: int
    questions_open: int
    questions_answered: int
    refused_at_source: int
    rejected: int
    lookup_failures: int
    undelivered: int
    refused_by_municipality: int = 0
    recent_refusals: Sequence[RefusalRecord] = field(default_factory=tuple)
    recent_rejections: Sequence[RejectionRecord] = field(default_factory=tuple)
    recent_lookup_failures: Sequence[LookupFailureRecord] = field(default_factory=tuple)
    recent_municipal_refusals: Sequence[MunicipalRefusalRecord] = field(default_factory=tuple)
