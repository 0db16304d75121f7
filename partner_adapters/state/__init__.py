"""The adapter's local memory: what it received, answered, refused and still has to send."""

from partner_adapters.state.records import (
    AdapterStatus,
    AnsweredBy,
    Answering,
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
from partner_adapters.state.store import (
    AdapterStore,
    BatchWrite,
    LateQuestionSet,
    NewQuestionSet,
)

__all__ = [
    "AdapterStatus",
    "AdapterStore",
    "AnsweredBy",
    "Answering",
    "BatchWrite",
    "KafkaPosition",
    "LateQuestionSet",
    "LookupFailure",
    "LookupFailureRecord",
    "MunicipalRefusalRecord",
    "NewQuestionSet",
    "OpenQuestion",
    "OutboxEntry",
    "Refusal",
    "RefusalRecord",
    "RefusalSource",
    "Rejection",
    "RejectionRecord",
]
