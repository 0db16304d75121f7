"""One error hierarchy for the contracts: every error says what is wrong and what to do."""

from __future__ import annotations

import re
from enum import StrEnum
from uuid import UUID

from contracts.enums import AnswerShape, Colour

__all__ = [
    "AnswerRefused",
    "ContractError",
    "DecodeFailure",
    "MalformedMessage",
    "RefusalReason",
    "safe_name",
]

_SAFE_NAME = re.compile(r"^[a-z][a-z0-9_.]{0,63}$")
WITHHELD = "<withheld: not a field name>"


def safe_name(value: object) -> str:
    """`value` if it looks like a field or type name, else a placeholder.

    A name a sender made up may itself be content ("jan_heeft_schulden" as a key): errors,
    logs and refusal records carry only names that look like identifiers of ours.
    """
    return value if isinstance(value, str) and _SAFE_NAME.match(value) else WITHHELD


class ContractError(ValueError):
    """Base of every error the contracts raise."""


class DecodeFailure(StrEnum):
    """Why bytes are not a wire message. Every unreadable message gets one of these; the
    dead-letter reason `processing_error` is kept for failures of our own code."""

    TOO_LARGE = "too_large"  # over contracts.limits.MAX_MESSAGE_BYTES
    NOT_JSON = "not_json"  # not UTF-8, not JSON, or a number JSON cannot hold
    TOO_DEEP = "too_deep"  # arrays and objects nested over contracts.limits.MAX_JSON_DEPTH
    NOT_JSON_OBJECT = "not_json_object"
    UNKNOWN_TYPE = "unknown_type"  # `type` missing, not a string, or not a message type
    UNEXPECTED_TYPE = "unexpected_type"  # a message type, but not one this topic carries
    SCHEMA_VIOLATION = "schema_violation"


class MalformedMessage(ContractError):
    """Bytes that are not a valid wire message. The detail names a field or a position,
    never a value of the message."""

    def __init__(self, reason: DecodeFailure, detail: str, message_id: UUID | None = None) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
        # The message's own id, when it could be read in canonical form: a notice names it.
        self.message_id = message_id


class RefusalReason(StrEnum):
    """Machine-readable reason why an answer is richer than its label permits, or misplaced."""

    EXTRA_FIELD = "extra_field"
    FIELD_NOT_PERMITTED = "field_not_permitted"
    CONTENT_ON_NEE = "content_on_nee"
    UNKNOWN_DETAIL_FIELD = "unknown_detail_field"
    INVALID_VALUE = "invalid_value"
    TEXT_TOO_LONG = "text_too_long"
    UNKNOWN_QUESTION = "unknown_question"
    WRONG_PARTNER = "wrong_partner"
    DUPLICATE_ANSWER = "duplicate_answer"
    # Said of a whole message, by the municipality:
    MALFORMED = "malformed"
    UNKNOWN_QUESTION_SET = "unknown_question_set"
    TOO_MANY_ITEMS = "too_many_items"
    ALREADY_ANSWERED = "already_answered"
    LATE = "late"
    BAD_SIGNATURE = "bad_signature"

    @property
    def explanation(self) -> str:
        return _EXPLANATIONS[self]


_EXPLANATIONS: dict[RefusalReason, str] = {
    RefusalReason.EXTRA_FIELD: "the answer has a field that no answer shape has; remove it",
    RefusalReason.FIELD_NOT_PERMITTED: (
        "the question's shape does not permit this field at this label; answer with the asked "
        "shape only"
    ),
    RefusalReason.CONTENT_ON_NEE: "a 'nee' carries nothing else; remove the field",
    RefusalReason.UNKNOWN_DETAIL_FIELD: "the detail has a field the question does not name",
    RefusalReason.INVALID_VALUE: "the value is not one the shape allows",
    RefusalReason.TEXT_TOO_LONG: "the text is longer than the policy allows; shorten it",
    RefusalReason.UNKNOWN_QUESTION: "no open question with this id was asked of this partner",
    RefusalReason.WRONG_PARTNER: "the message names another partner than the topic it came on",
    RefusalReason.DUPLICATE_ANSWER: (
        "the message answers the same question twice; nothing of it was taken: send each "
        "question's answer once"
    ),
    RefusalReason.MALFORMED: (
        "the message is not a valid PartnerAnswer (see `detail`); nothing of it was read: "
        "correct it against the published schema and send it again under a new message_id"
    ),
    RefusalReason.UNKNOWN_QUESTION_SET: (
        "`in_reply_to` names no question set sent to this partner for this round; nothing of "
        "the message was taken"
    ),
    RefusalReason.TOO_MANY_ITEMS: (
        "the message has more answer items than its question set has questions; nothing of "
        "it was taken"
    ),
    RefusalReason.ALREADY_ANSWERED: (
        "the question was answered by an earlier message; this answer was not taken"
    ),
    RefusalReason.BAD_SIGNATURE: (
        "an item's signature is missing or does not verify with a key registered for this "
        "partner; nothing of the message was taken: sign every item (contracts.signing)"
    ),
    RefusalReason.LATE: (
        "the round was completed (all answered, or its deadline passed) before this answer "
        "arrived; it was not taken"
    ),
}


class AnswerRefused(ContractError):
    """An answer that may not leave the partner, or is not accepted by the municipality."""

    def __init__(
        self,
        reason: RefusalReason,
        *,
        field: str | None,
        question_id: UUID | None,
        question_key: str | None = None,
        shape: AnswerShape | None = None,
        colour: Colour | None = None,
    ) -> None:
        self.reason = reason
        field = safe_name(field) if field is not None else None
        self.field = field
        self.question_id = question_id
        self.question_key = question_key
        self.shape = shape
        self.colour = colour
        where = f"question {question_key or question_id}"
        if shape is not None:
            where += f" (shape {shape}"
            where += f", label {colour})" if colour is not None else ")"
        on_field = f", field {field!r}" if field else ""
        super().__init__(f"answer refused [{reason}] on {where}{on_field}: {reason.explanation}")
