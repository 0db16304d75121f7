"""The shared language of iaj-broker: enums, the policy, wire messages and the answer check.

This is the only package a partner needs. It does no I/O beyond reading its own policy file.
"""

from contracts.answers import check_answer, permitted_fields
from contracts.enums import (
    AnswerShape,
    Colour,
    District,
    LifeDomain,
    Partner,
    SubjectRole,
    Track,
    YesNo,
)
from contracts.errors import (
    AnswerRefused,
    ContractError,
    DecodeFailure,
    MalformedMessage,
    RefusalReason,
)
from contracts.messages import (
    AnswerItem,
    Completion,
    OpenRoundCommand,
    OutcomeStatus,
    PartnerAnswer,
    PartnerResult,
    Question,
    QuestionOutcome,
    QuestionSet,
    RecordPosition,
    RefusalNotice,
    RefusedItem,
    RoundResult,
    Subject,
)
from contracts.policy import Policy, PolicyError, PolicyRef, haarlem_policy, load_policy
from contracts.wire import decode, decode_answer_envelope, encode

__all__ = [
    "AnswerItem",
    "AnswerRefused",
    "AnswerShape",
    "Colour",
    "Completion",
    "ContractError",
    "DecodeFailure",
    "District",
    "LifeDomain",
    "MalformedMessage",
    "OpenRoundCommand",
    "OutcomeStatus",
    "Partner",
    "PartnerAnswer",
    "PartnerResult",
    "Policy",
    "PolicyError",
    "PolicyRef",
    "Question",
    "QuestionOutcome",
    "QuestionSet",
    "RecordPosition",
    "RefusalNotice",
    "RefusalReason",
    "RefusedItem",
    "RoundResult",
    "Subject",
    "SubjectRole",
    "Track",
    "YesNo",
    "check_answer",
    "decode",
    "decode_answer_envelope",
    "encode",
    "haarlem_policy",
    "load_policy",
    "permitted_fields",
]
