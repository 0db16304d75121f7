"""The documentation-only FastStream brokers the AsyncAPI documents are built from: which
topics each side reads and writes, with which `contracts` message model, in which group.

The running apps cannot describe themselves fully: the municipal service reads raw bytes (so
that a poison message reaches its dead-letter handling) and publishes through the outbox relay,
a plain aiokafka producer. So these brokers declare the same topics with the message models;
they never connect. A unit test holds them to the subscriptions of the real apps.

Separate from `devtools.generators.asyncapi`, which turns a broker into a finished document:
this is what the documents say, that is how they are written.
"""

from __future__ import annotations

from typing import Any

from faststream.kafka import KafkaBroker
from faststream.security import SASLScram512

from contracts.messages import (
    CancelRoundCommand,
    CommandReply,
    OpenRoundCommand,
    PartnerAnswer,
    QuestionSet,
    RefusalNotice,
    RelabelCommand,
    RoundResult,
    SubjectCorrection,
    Withdrawal,
)
from contracts.topics import COMMAND_REPLIES, COMMANDS, DEADLETTER, RESULTS
from kafka_access.principals import MUNICIPAL_GROUP

__all__ = [
    "COMMAND_MODELS",
    "PARTNER_PARAMETER",
    "QUESTION_TOPIC_MODELS",
    "municipal_broker",
    "partner_broker",
]

# What the question topic carries: question sets, and the notices about them.
QuestionTopicMessage = QuestionSet | Withdrawal | SubjectCorrection
QUESTION_TOPIC_MODELS = (QuestionSet, Withdrawal, SubjectCorrection)
# What the municipal backend may send on iaj.commands.
Command = OpenRoundCommand | RelabelCommand | CancelRoundCommand
COMMAND_MODELS = (OpenRoundCommand, RelabelCommand, CancelRoundCommand)
_QUESTIONS_TOO = (
    " The same topic carries `withdrawal` notices (these questions are no longer asked: the "
    "round was cancelled, the label lowered, the youth left or was erased; drop them, an "
    "answer to them is refused as `late`) and `subject_correction` notices (the youth's "
    "name, date of birth or address this partner was sent was wrong: use the corrected data)."
)

PARTNER_PARAMETER = "{partner}"
QUESTIONS = f"iaj.questions.{PARTNER_PARAMETER}"
ANSWERS = f"iaj.answers.{PARTNER_PARAMETER}"
REFUSALS = f"iaj.refusals.{PARTNER_PARAMETER}"
_PARTNER_GROUP = f"iaj-adapter-{PARTNER_PARAMETER}"
_SERVER = "kafka.example.nl:9093"  # a placeholder: the municipality tells each partner its address
_SECURITY = (
    "Apache Kafka of the municipality of Haarlem, SASL/SCRAM-SHA-512 over TLS (SASL_SSL). "
    "Every client logs in as its own user and the ACLs allow it only its own topics: "
)
_MUNICIPAL_SERVER = _SECURITY + (
    "the municipal service (`iaj-municipal`) reads the answer topics and `iaj.commands` in "
    "consumer group `iaj-municipal`, and writes the other topics."
)
_PARTNER_SERVER = _SECURITY + (
    "partner `<code>` logs in as `partner-<code>`, reads only `iaj.questions.<code>` and "
    "`iaj.refusals.<code>` in consumer group `iaj-adapter-<code>`, and writes only "
    "`iaj.answers.<code>`."
)


async def _document_only(body: Any) -> None:  # pragma: no cover - never called
    raise AssertionError("a documentation-only broker handles no messages")


def _doc_broker(description: str) -> KafkaBroker:
    return KafkaBroker(
        _SERVER,
        # Credentials are placeholders: only the scheme (SCRAM-SHA-512 over TLS) is documented.
        security=SASLScram512(username="-", password="-", use_ssl=True),
        description=description,
    )


def _subscribe(
    broker: KafkaBroker, topic: str, model: Any, *, group: str, title: str, description: str
) -> None:
    async def handler(body: Any) -> None:
        await _document_only(body)

    # The annotation is what FastStream documents as the payload.
    handler.__annotations__ = {"body": model, "return": None}
    broker.subscriber(
        topic, group_id=group, title=title, description=description, include_in_schema=True
    )(handler)


def municipal_broker() -> KafkaBroker:
    """The municipal service's topics: what it reads and what its outbox relay publishes."""
    broker = _doc_broker(_MUNICIPAL_SERVER)
    _subscribe(
        broker,
        ANSWERS,
        PartnerAnswer,
        group=MUNICIPAL_GROUP,
        title="answers",
        description="Each partner's answers to a question set. Every item is checked again "
        "against the question it answers; what is not permitted becomes a refusal notice.",
    )
    _subscribe(
        broker,
        COMMANDS,
        Command,
        group=MUNICIPAL_GROUP,
        title="commands",
        description="Commands of the municipal backend: open a round (`open_round`), relabel "
        "a case (`relabel_case`: op- of afschalen), cancel a round (`cancel_round`). "
        "`message_id` is the command id, so a command sent twice is carried out once. "
        "`requested_by` must be an official of the service's officials file. Every command "
        "is answered on iaj.command-replies (accepted, duplicate or rejected, with the "
        "reason); a command that cannot be carried out also goes to iaj.deadletter with "
        "reason `command_rejected`, for operators.",
    )
    broker.publisher(
        QUESTIONS,
        schema=QuestionTopicMessage,
        title="questions",
        description="The questions of one round for one partner, scoped to the youth's label."
        + _QUESTIONS_TOO,
    )
    broker.publisher(
        REFUSALS,
        schema=RefusalNotice,
        title="refusals",
        description="Why an answer item was not accepted: reason, field, label; never its content.",
    )
    broker.publisher(
        RESULTS,
        schema=RoundResult,
        title="results",
        description="One aggregated, label-scoped result per round, for the municipal backend.",
    )
    broker.publisher(
        COMMAND_REPLIES,
        schema=CommandReply,
        title="command-replies",
        description="The answer to each command read from iaj.commands, keyed by the command "
        "id (`in_reply_to`): `accepted` (with the round), `duplicate` (carried out before, "
        "nothing more done) or `rejected` with the `reason` (nothing changed). Written in "
        "the command's own transaction, through the outbox: at least once, de-duplicate on "
        "`message_id`. Never the requester's name or other personal data. For the municipal "
        "backend (`iaj-backend`).",
    )
    broker.publisher(
        DEADLETTER,
        schema=bytes,
        title="deadletter",
        description="Messages that could not be read or processed, byte for byte, with the "
        "reason in the headers. For operators.",
    )
    return broker


def partner_broker() -> KafkaBroker:
    """A partner's side: what its adapter (or its own client) reads and writes."""
    broker = _doc_broker(_PARTNER_SERVER)
    _subscribe(
        broker,
        QUESTIONS,
        QuestionTopicMessage,
        group=_PARTNER_GROUP,
        title="questions",
        description="The questions of one round for this partner. Answer each question at "
        "most once, in exactly the shape it was asked with (`contracts.check_answer`); a "
        "question set read after its `deadline` is not answered." + _QUESTIONS_TOO,
    )
    _subscribe(
        broker,
        REFUSALS,
        RefusalNotice,
        group=_PARTNER_GROUP,
        title="refusals",
        description="One notice for every answer message the municipality did not take "
        "wholly: the message's reason and the refused items (reason and field, never "
        "content); the items not listed were taken. Also for a message it could not read "
        "(`malformed`: ids null, `source` gives the record's position), a second answer "
        "(`already_answered`), a late one (`late`), an unknown question set and a bad "
        "signature. The reference adapter shows the notices in `iaj-adapter status`.",
    )
    broker.publisher(
        ANSWERS,
        schema=PartnerAnswer,
        title="answers",
        description="Answers to one question set (`in_reply_to`), keyed by its round id. "
        "Publish with acks=all and an idempotent producer; a re-sent answer keeps its "
        "`message_id`, so the municipality keeps one. Every item is signed with the "
        "partner's Ed25519 key (contracts/signing.py, test vectors in "
        "contracts/signing-vectors.json). Ids in canonical form only (lower-case, "
        "8-4-4-4-12). Limits: 256 KiB, JSON nested at most 12 deep, at most as many items "
        "as the question set has questions (500 at most); `text_limit` counts Unicode code "
        "points. See contracts/README.md, 'Writing your own client'.",
    )
    return broker
