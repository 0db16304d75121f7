"""AsyncAPI documents for integrators: what flows on which topic, with the message schemas.

The running apps cannot describe themselves fully: the municipal service reads raw bytes (so
that a poison message reaches its dead-letter handling) and publishes through the outbox relay,
a plain aiokafka producer. So the documents are built from documentation-only FastStream
brokers that declare the same topics with the `contracts` message models; they never connect.
A unit test holds them to the subscriptions of the real apps.

A per-partner topic is written once, as `iaj.questions.{partner}` with the partner codes as
the parameter's values.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from faststream.kafka import KafkaBroker
from faststream.security import SASLScram512
from faststream.specification import AsyncAPI

from contracts.enums import Partner
from contracts.messages import (
    OpenRoundCommand,
    PartnerAnswer,
    QuestionSet,
    RefusalNotice,
    RoundResult,
)
from contracts.topics import COMMANDS, DEADLETTER, RESULTS
from kafka_access.principals import MUNICIPAL_GROUP

__all__ = [
    "ASYNCAPI_DIR",
    "ASYNCAPI_DOCUMENTS",
    "PARTNER_PARAMETER",
    "asyncapi_document",
    "expected_asyncapi_files",
    "municipal_broker",
    "partner_broker",
    "render_yaml",
]

PARTNER_PARAMETER = "{partner}"
QUESTIONS = f"iaj.questions.{PARTNER_PARAMETER}"
ANSWERS = f"iaj.answers.{PARTNER_PARAMETER}"
REFUSALS = f"iaj.refusals.{PARTNER_PARAMETER}"
_PARTNER_GROUP = f"iaj-adapter-{PARTNER_PARAMETER}"
_SERVER = "kafka.example.nl:9093"  # a placeholder: the municipality tells each partner its address
_SERVER_NAME = "production"
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
_KEY_BINDING = {
    "kafka": {
        "key": {
            "type": "string",
            "format": "uuid",
            "description": "The round id: every message of a round is in one partition, in order.",
        },
        "bindingVersion": "0.4.0",
    }
}
_DEADLETTER_HEADERS = {
    "type": "object",
    "properties": {
        name: {"type": "string", "description": text}
        for name, text in (
            ("dlq_reason", "why the message could not be processed, e.g. not_json"),
            ("dlq_detail", "more about the reason; never message content"),
            ("dlq_source_topic", "the topic the message was read from"),
            ("dlq_source_partition", "its partition"),
            ("dlq_source_offset", "its offset"),
        )
    },
}


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
    broker: KafkaBroker, topic: str, model: type[Any], *, group: str, title: str, description: str
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
        OpenRoundCommand,
        group=MUNICIPAL_GROUP,
        title="commands",
        description="Open-round commands from the municipal backend; `message_id` is the "
        "command id, so a command sent twice opens one round.",
    )
    broker.publisher(
        QUESTIONS,
        schema=QuestionSet,
        title="questions",
        description="The questions of one round for one partner, scoped to the youth's label.",
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
        QuestionSet,
        group=_PARTNER_GROUP,
        title="questions",
        description="The questions of one round for this partner. Answer each question at "
        "most once, in exactly the shape it was asked with (`contracts.check_answer`); a "
        "question set read after its `deadline` is not answered.",
    )
    _subscribe(
        broker,
        REFUSALS,
        RefusalNotice,
        group=_PARTNER_GROUP,
        title="refusals",
        description="Why the municipality did not accept an answer item (reason and field, "
        "never content). The reference adapter checks every answer before sending, so a "
        "notice means the two sides disagree; it reads this topic with the same consumer as "
        "its questions and shows the notices in `iaj adapter status`.",
    )
    broker.publisher(
        ANSWERS,
        schema=PartnerAnswer,
        title="answers",
        description="Answers to one question set (`in_reply_to`), keyed by its round id. "
        "Publish with acks=all and an idempotent producer; a re-sent answer keeps its "
        "`message_id`, so the municipality keeps one.",
    )
    return broker


def asyncapi_document(broker: KafkaBroker, *, title: str, description: str) -> dict[str, Any]:
    """The AsyncAPI 3.0 document of `broker`, completed with what FastStream cannot say."""
    spec = AsyncAPI(
        broker, title=title, version=_version(), description=description
    ).to_specification()
    document: dict[str, Any] = spec.to_jsonable()
    document = _rename_server(document, "development", _SERVER_NAME)
    # FastStream's order of subscribers varies between runs; the checked-in file must not.
    components = document.get("components", {})
    for parent, key in [
        (document, "channels"),
        (document, "operations"),
        (components, "messages"),
        (components, "schemas"),
    ]:
        if key in parent:
            parent[key] = dict(sorted(parent[key].items()))
    for channel in document.get("channels", {}).values():
        if PARTNER_PARAMETER in channel.get("address", ""):
            channel["parameters"] = {
                "partner": {
                    "enum": [p.value for p in Partner],
                    "description": "The partner's code (contracts.Partner).",
                }
            }
    for name, message in document.get("components", {}).get("messages", {}).items():
        if name.startswith("deadletter:"):
            message.pop("correlationId", None)
            message["contentType"] = "application/octet-stream"
            message["headers"] = copy.deepcopy(_DEADLETTER_HEADERS)
            continue
        # The outbox relay sets no correlation header: the id is in every contract message.
        message["correlationId"] = {"location": "$message.payload#/correlation_id"}
        message["bindings"] = copy.deepcopy(_KEY_BINDING)
    return document


def _rename_server(node: Any, old: str, new: str) -> Any:
    if isinstance(node, dict):
        renamed = {}
        for key, value in node.items():
            if key == "$ref" and value == f"#/servers/{old}":
                value = f"#/servers/{new}"
            renamed[key] = _rename_server(value, old, new)
        if "servers" in renamed and isinstance(renamed["servers"], dict):
            servers = renamed["servers"]
            renamed["servers"] = {new if k == old else k: v for k, v in servers.items()}
        return renamed
    if isinstance(node, list):
        return [_rename_server(item, old, new) for item in node]
    return node


def render_yaml(document: dict[str, Any]) -> str:
    import yaml  # a development dependency: `pip install 'iaj-broker[dev]'`

    header = (
        "# Generated by `iaj contracts asyncapi` from the contracts: do not edit.\n"
        "# After changing a message model or a topic run `make schemas`.\n"
    )
    body = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)
    return header + body


def _version() -> str:
    try:
        return version("iaj-broker")
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "0.0.0"


def _municipal_yaml() -> str:
    return render_yaml(
        asyncapi_document(
            municipal_broker(),
            title="iaj-broker: municipal service",
            description="The municipal side of the Integrale Aanpak Jeugd information "
            "requests: it asks partners colour-scoped ja/nee questions about youths on the "
            "focus list and collects their answers. PostgreSQL is its record; Kafka is "
            "transport.",
        )
    )


def _partner_yaml() -> str:
    return render_yaml(
        asyncapi_document(
            partner_broker(),
            title="iaj-broker: partner adapter",
            description="What a partner of the Integrale Aanpak Jeugd reads and writes. The "
            "reference implementation is `iaj-adapter run` (partner_adapters); a partner may "
            "write its own client from this document and the JSON Schemas in "
            "contracts/schemas.",
        )
    )


# File name in docs/asyncapi -> its text.
ASYNCAPI_DOCUMENTS: dict[str, Callable[[], str]] = {
    "municipal.yaml": _municipal_yaml,
    "partner-adapter.yaml": _partner_yaml,
}


ASYNCAPI_DIR = Path(__file__).resolve().parents[2] / "docs" / "asyncapi"


def expected_asyncapi_files() -> dict[str, str]:
    """File name in docs/asyncapi -> the exact text it should have."""
    return {name: render() for name, render in ASYNCAPI_DOCUMENTS.items()}
