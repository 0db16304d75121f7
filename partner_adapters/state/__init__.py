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
from partner_adapters.state.store import AdapterStore

__all__ = [
    "AdapterStatus",
    "AdapterStore",
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
