"""Wire messages, as pydantic v2 models: frozen, no extra fields, strict types, UTC timestamps.

Every message carries its own `message_id` (consumers de-duplicate on it), the `round_id` it is
about (also the Kafka key), the policy it was made under, a `correlation_id` that follows one
round through every system, and `created_at` in UTC.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated, Literal
from uuid import uuid4

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from contracts.enums import AnswerShape, Colour, LifeDomain, Partner, SubjectRole, YesNo
from contracts.errors import RefusalReason
from contracts.ids import Id
from contracts.limits import MAX_ANSWER_ITEMS
from contracts.policy.model import DetailField, DetailFieldKind, PolicyRef
from contracts.signing import ItemSignature

__all__ = [
    "AnswerItem",
    "CancelRoundCommand",
    "CommandOutcome",
    "CommandReply",
    "Completion",
    "OpenRoundCommand",
    "OutcomeStatus",
    "PartnerAnswer",
    "PartnerResult",
    "Question",
    "QuestionOutcome",
    "QuestionSet",
    "RecordPosition",
    "RefusalNotice",
    "RefusedItem",
    "RelabelCommand",
    "RoundResult",
    "Subject",
    "SubjectCorrection",
    "UtcDatetime",
    "Withdrawal",
    "WithdrawalReason",
    "utc_now",
]

SCHEMA_VERSION = 1


def _require_utc(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None or value.utcoffset() != dt.timedelta(0):
        raise ValueError("timestamps must be in UTC (offset +00:00 or 'Z')")
    return value


UtcDatetime = Annotated[dt.datetime, AfterValidator(_require_utc)]
SubjectRef = Annotated[str, Field(pattern=r"^(jongere|gezinslid-[1-9][0-9]?)$")]
QuestionKey = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
DetailValue = bool | int | str


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class _Wire(BaseModel):
    # Errors never quote the input: a message's content may not reach a log or a header.
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, hide_input_in_errors=True)


class _Envelope(_Wire):
    message_id: Id = Field(default_factory=uuid4)
    round_id: Id
    correlation_id: Id
    policy: PolicyRef
    created_at: UtcDatetime = Field(default_factory=utc_now)


class Subject(_Wire):
    """A person a question set is about: name and date of birth, address only with a reason."""

    subject_ref: SubjectRef
    role: SubjectRole
    naam: str = Field(min_length=1, max_length=200)
    geboortedatum: dt.date
    adres: str | None = Field(default=None, min_length=1, max_length=200)
    adres_reden: str | None = Field(default=None, min_length=1, max_length=280)

    @model_validator(mode="after")
    def _address_needs_reason(self) -> Subject:
        if self.adres is not None and self.adres_reden is None:
            raise ValueError(
                "an address may only be sent with `adres_reden` saying why it is needed"
            )
        if self.adres is None and self.adres_reden is not None:
            raise ValueError("`adres_reden` given without an address; drop it")
        if (self.role is SubjectRole.JONGERE) != (self.subject_ref == "jongere"):
            raise ValueError("subject_ref 'jongere' is the youth; family members are gezinslid-N")
        return self


class Question(_Wire):
    """One question, about one subject, with the exact answer shape it permits."""

    question_id: Id
    key: QuestionKey
    subject_ref: SubjectRef
    text: str = Field(min_length=1, max_length=500)
    shape: AnswerShape
    detail_fields: tuple[DetailField, ...] = ()
    text_limit: int | None = Field(
        default=None, ge=1, description="max characters of a toelichting or a 'tekst' detail field"
    )

    @model_validator(mode="after")
    def _detail_fields_only_for_detail(self) -> Question:
        if (self.shape is AnswerShape.DETAIL) != bool(self.detail_fields):
            raise ValueError("`detail_fields` are given exactly when the shape is 'detail'")
        carries_text = self.shape is AnswerShape.JA_NEE_TOELICHTING or any(
            f.kind is DetailFieldKind.TEKST for f in self.detail_fields
        )
        if carries_text and self.text_limit is None:
            raise ValueError("a question whose answer may carry text must state its `text_limit`")
        return self


class QuestionSet(_Envelope):
    """Municipality -> one partner: the questions of one round, on `iaj.questions.<partner>`."""

    type: Literal["question_set"] = "question_set"
    partner: Partner
    colour: Colour
    deadline: UtcDatetime
    subjects: tuple[Subject, ...] = Field(min_length=1)
    questions: tuple[Question, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _coherent(self) -> QuestionSet:
        refs = [s.subject_ref for s in self.subjects]
        if len(refs) != len(set(refs)):
            raise ValueError("a subject_ref appears twice in `subjects`")
        if "jongere" not in refs:
            raise ValueError("a question set is always about a youth ('jongere')")
        if self.colour is Colour.GROEN and any(
            s.role is SubjectRole.GEZINSLID for s in self.subjects
        ):
            raise ValueError("a groen question set may not name family members")
        unknown = {q.subject_ref for q in self.questions} - set(refs)
        if unknown:
            raise ValueError(f"questions about subjects not in `subjects`: {sorted(unknown)}")
        ids = [q.question_id for q in self.questions]
        if len(ids) != len(set(ids)):
            raise ValueError("a question_id appears twice")
        return self


class AnswerItem(_Wire):
    """The answer to one question. Which optional fields may be present depends on its shape."""

    question_id: Id
    antwoord: YesNo
    met_wie: tuple[Partner, ...] | None = None
    domeinen: tuple[LifeDomain, ...] | None = None
    toelichting: str | None = None
    detail: dict[str, DetailValue] | None = None
    signature: ItemSignature | None = Field(
        default=None, description="the partner's signature of this item (contracts.signing)"
    )


class PartnerAnswer(_Envelope):
    """Partner -> municipality: answers to (part of) a question set, on `iaj.answers.<partner>`."""

    type: Literal["answer"] = "answer"
    partner: Partner
    in_reply_to: Id = Field(description="message_id of the question set answered")
    answers: tuple[AnswerItem, ...] = Field(min_length=1, max_length=MAX_ANSWER_ITEMS)


class RecordPosition(_Wire):
    """Where a Kafka record was: identifies a message whose own ids could not be read."""

    topic: str = Field(min_length=1, max_length=249)
    partition: int = Field(ge=0)
    offset: int = Field(ge=0)


class RefusedItem(_Wire):
    """One answer item the municipality did not take, and why. Never its content."""

    question_id: Id | None = Field(
        description="null when the item named no question of this round that we could read"
    )
    reason: RefusalReason
    field: str | None = Field(
        description="the offending field, or null; a name that is not one of ours is withheld"
    )


class RefusalNotice(_Wire):
    """Municipality -> partner, on `iaj.refusals.<partner>`: one per answer message that was
    not (wholly) taken, saying why. Never its content.

    A message refused as a whole has `reason` and no `items`; otherwise `items` lists every
    refused item (the others were taken) and `reason` is the first item's. When the message
    could not be read, the ids it carried are null and `source` says where it was.
    """

    type: Literal["refusal"] = "refusal"
    message_id: Id = Field(default_factory=uuid4)
    created_at: UtcDatetime = Field(default_factory=utc_now)
    partner: Partner
    in_reply_to: Id | None = Field(
        description="message_id of the refused answer message; null when it could not be read"
    )
    source: RecordPosition = Field(description="where the refused message was on its topic")
    round_id: Id | None
    correlation_id: Id | None
    policy: PolicyRef | None
    reason: RefusalReason
    items: tuple[RefusedItem, ...] = Field(default=(), max_length=MAX_ANSWER_ITEMS)
    colour: Colour | None
    detail: str | None = Field(
        default=None,
        max_length=500,
        description="for `malformed`: what is wrong, naming a field or a position, never a value",
    )
    explanation: str


class OpenRoundCommand(_Envelope):
    """Open an enrichment round. `message_id` is the command id: sent twice, it opens one round."""

    type: Literal["open_round"] = "open_round"
    case_id: Id
    colour: Colour
    requested_by: str = Field(min_length=1, max_length=100)


class _Command(_Wire):
    """A request of the municipal backend on `iaj.commands`; `message_id` is the command id."""

    message_id: Id = Field(default_factory=uuid4)
    correlation_id: Id
    created_at: UtcDatetime = Field(default_factory=utc_now)
    requested_by: str = Field(
        min_length=1, max_length=100, description="an official of the officials file"
    )
    reason: str = Field(min_length=1, max_length=500, description="why, for the processing log")


class RelabelCommand(_Command):
    """Op- of afschalen: give the case another label (an open round follows it)."""

    type: Literal["relabel_case"] = "relabel_case"
    case_id: Id
    colour: Colour


class CancelRoundCommand(_Command):
    """Stop an open round: its open questions are withdrawn from the partners."""

    type: Literal["cancel_round"] = "cancel_round"
    round_id: Id


class CommandOutcome(StrEnum):
    ACCEPTED = "accepted"  # carried out now
    DUPLICATE = "duplicate"  # this command id was carried out before; nothing more was done
    REJECTED = "rejected"  # not carried out: `reason` says why; nothing changed


class CommandReply(_Wire):
    """Municipality -> backend, on `iaj.command-replies`, keyed by the command id: what became
    of a command on `iaj.commands`. One per command record read; never the requester's name
    or other personal data."""

    type: Literal["command_reply"] = "command_reply"
    message_id: Id = Field(default_factory=uuid4)
    created_at: UtcDatetime = Field(default_factory=utc_now)
    in_reply_to: Id = Field(description="the command id (the command's message_id)")
    command_type: Literal["open_round", "relabel_case", "cancel_round"] | None = Field(
        description="the command's type; null when it could not be read"
    )
    correlation_id: Id | None = Field(description="the command's; null when it could not be read")
    outcome: CommandOutcome
    round_id: Id | None = Field(
        default=None, description="the round opened, followed or cancelled (accepted, duplicate)"
    )
    reason: str | None = Field(
        default=None,
        max_length=500,
        description="why it was rejected (or what the duplicate repeats), in the operator's "
        "terms: names fields and ids, never values of the command",
    )
    source: RecordPosition = Field(description="where the command was on iaj.commands")


class WithdrawalReason(StrEnum):
    ROUND_CANCELLED = "round_cancelled"  # a regisseur stopped the round
    LABEL_LOWERED = "label_lowered"  # afschalen: the lower label does not ask these
    UITSTROOM = "uitstroom"  # the youth left the approach
    ERASED = "erased"  # the youth was erased (registered by mistake, or a granted objection)


class Withdrawal(_Envelope):
    """Municipality -> partner, on `iaj.questions.<partner>`: these questions are no longer
    asked. Drop them (and what was gathered for them); an answer to them is not taken."""

    type: Literal["withdrawal"] = "withdrawal"
    partner: Partner
    question_ids: tuple[Id, ...] = Field(min_length=1, max_length=MAX_ANSWER_ITEMS)
    reason: WithdrawalReason


class SubjectCorrection(_Envelope):
    """Municipality -> partner, on `iaj.questions.<partner>`: the youth's data a partner was
    sent in this round was wrong (AVG art. 16 and 19); `subject` holds the corrected data, and
    only the fields this partner was sent."""

    type: Literal["subject_correction"] = "subject_correction"
    partner: Partner
    subject: Subject
    corrected: tuple[Literal["naam", "geboortedatum", "adres"], ...] = Field(min_length=1)


class Completion(StrEnum):
    COMPLETE = "complete"  # every question that applies was answered
    DEADLINE = "deadline"  # the deadline passed; unanswered questions expired
    CANCELLED = "cancelled"  # stopped by a regisseur, by uitstroom or by an erasure


class OutcomeStatus(StrEnum):
    ANSWERED = "answered"
    EXPIRED = "expired"
    NOT_APPLICABLE = "not_applicable"  # a dependent question whose condition was not met
    WITHDRAWN = "withdrawn"  # no longer asked: the round was cancelled or the label lowered


class QuestionOutcome(_Wire):
    question_id: Id | None
    key: QuestionKey
    subject_ref: SubjectRef
    shape: AnswerShape
    status: OutcomeStatus
    answer: AnswerItem | None = None

    @model_validator(mode="after")
    def _answer_iff_answered(self) -> QuestionOutcome:
        if (self.status is OutcomeStatus.ANSWERED) != (self.answer is not None):
            raise ValueError("an outcome carries an answer exactly when its status is 'answered'")
        return self


class PartnerResult(_Wire):
    partner: Partner
    questions: tuple[QuestionOutcome, ...]


class RoundResult(_Envelope):
    """The aggregated, label-scoped result of one round, on `iaj.results`. One per round and
    revision: a later revision (after afschalen) replaces the earlier one and holds only what
    the lower label permits."""

    type: Literal["round_result"] = "round_result"
    case_id: Id
    colour: Colour
    revision: int = Field(default=1, ge=1)
    completion: Completion
    opened_at: UtcDatetime
    completed_at: UtcDatetime
    partners: tuple[PartnerResult, ...]
