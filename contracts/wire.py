"""Turning bytes into wire messages, and back. Pure functions: no Kafka, no files."""

from __future__ import annotations

import json
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from contracts.enums import Partner
from contracts.errors import MalformedMessage
from contracts.messages import (
    OpenRoundCommand,
    PartnerAnswer,
    QuestionSet,
    RefusalNotice,
    RoundResult,
    UtcDatetime,
)
from contracts.policy.model import PolicyRef

__all__ = ["AnswerEnvelope", "WireMessage", "decode", "decode_answer_envelope", "encode"]

WireMessage = Annotated[
    QuestionSet | PartnerAnswer | RefusalNotice | RoundResult | OpenRoundCommand,
    Field(discriminator="type"),
]
_WIRE: TypeAdapter[WireMessage] = TypeAdapter(WireMessage)


def encode(message: BaseModel) -> bytes:
    return message.model_dump_json().encode()


def decode(raw: bytes) -> WireMessage:
    """Parse any wire message; raise MalformedMessage saying why it cannot be read."""
    obj = _json_object(raw)
    try:
        return _WIRE.validate_json(raw)
    except ValidationError as exc:
        raise _malformed(obj, exc) from exc


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
        raise MalformedMessage(
            "unexpected_type", f"expected type 'answer', got {obj.get('type')!r}"
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
    known = {"question_set", "answer", "refusal", "round_result", "open_round"}
    if obj.get("type") not in known:
        return MalformedMessage(
            "unknown_type", f"'type' is {obj.get('type')!r}; expected one of {sorted(known)}"
        )
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"])
    return MalformedMessage("schema_violation", f"{loc}: {err['msg']}")
