"""Turning bytes into wire messages, and back. Pure functions: no Kafka, no files."""

from __future__ import annotations

import json
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from contracts.enums import Partner
from contracts.errors import MalformedMessage, safe_name
from contracts.messages import (
    OpenRoundCommand,
    PartnerAnswer,
    QuestionSet,
    RefusalNotice,
    RoundResult,
    UtcDatetime,
)
from contracts.policy.model import PolicyRef

__all__ = [
    "REQUIRED_ON_WIRE",
    "AnswerEnvelope",
    "WireMessage",
    "decode",
    "decode_answer_envelope",
    "encode",
]

# Fields the models default when built in code, but that a message on the wire must carry:
# a receiver de-duplicates on `message_id`, so decoding may never invent one.
REQUIRED_ON_WIRE = ("type", "message_id", "created_at")

WireMessage = Annotated[
    QuestionSet | PartnerAnswer | RefusalNotice | RoundResult | OpenRoundCommand,
    Field(discriminator="type"),
]
_WIRE: TypeAdapter[WireMessage] = TypeAdapter(WireMessage)
_KNOWN_TYPES = frozenset({"question_set", "answer", "refusal", "round_result", "open_round"})


def encode(message: BaseModel) -> bytes:
    return message.model_dump_json().encode()


def decode(raw: bytes) -> WireMessage:
    """Parse any wire message; raise MalformedMessage saying why it cannot be read."""
    obj = _json_object(raw)
    try:
        message = _WIRE.validate_json(raw)
    except ValidationError as exc:
        raise _malformed(obj, exc) from exc
    missing = [name for name in REQUIRED_ON_WIRE if name not in obj]
    if missing:
        detail = f"{obj['type']}.{missing[0]}: Field required on the wire"
        raise MalformedMessage("schema_violation", detail)
    return message


class AnswerEnvelope(BaseModel):
    """A PartnerAnswer whose answer items are not yet judged.

    The municipal broker reads answers this way so that an item richer than its label permits
    becomes a refusal the partner is told about (with the reason), not an unreadable message.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)
    type: str
    message_id: UUID
    round_id: UUID
    correlation_id: UUID
    policy: PolicyRef
    created_at: UtcDatetime
    partner: Partner
    in_reply_to: UUID
    answers: tuple[dict[str, Any], ...] = Field(min_length=1)


def decode_answer_envelope(raw: bytes) -> AnswerEnvelope:
    obj = _json_object(raw)
    if obj.get("type") != "answer":
        known = obj.get("type") in _KNOWN_TYPES
        raise MalformedMessage(
            "unexpected_type" if known else "unknown_type",
            f"expected type 'answer', got {safe_name(obj.get('type'))!r}",
        )
    try:
        return AnswerEnvelope.model_validate_json(raw)
    except ValidationError as exc:
        raise _malformed(obj, exc) from exc


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        obj = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedMessage("not_json", f"the message is not UTF-8 JSON ({exc})") from exc
    if not isinstance(obj, dict):
        raise MalformedMessage("not_json_object", "the message must be a JSON object")
    return obj


def _malformed(obj: dict[str, Any], exc: ValidationError) -> MalformedMessage:
    if obj.get("type") not in _KNOWN_TYPES:
        return MalformedMessage(
            "unknown_type",
            f"'type' is {safe_name(obj.get('type'))!r}; expected one of {sorted(_KNOWN_TYPES)}",
        )
    err = exc.errors()[0]
    loc = ".".join(safe_name(p) if isinstance(p, str) else str(p) for p in err["loc"])
    return MalformedMessage("schema_violation", f"{loc}: {err['msg']}")
