"""Turning bytes into wire messages, and back. Pure functions: no Kafka, no files."""

from __future__ import annotations

import json
import re
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from contracts.enums import Partner
from contracts.errors import DecodeFailure, MalformedMessage, safe_name
from contracts.ids import Id, canonical_uuid
from contracts.limits import MAX_ANSWER_ITEMS, MAX_JSON_DEPTH, MAX_MESSAGE_BYTES
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
    UtcDatetime,
    Withdrawal,
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
    QuestionSet
    | Withdrawal
    | SubjectCorrection
    | PartnerAnswer
    | RefusalNotice
    | RoundResult
    | OpenRoundCommand
    | RelabelCommand
    | CancelRoundCommand
    | CommandReply,
    Field(discriminator="type"),
]
# Errors never quote the input: they end up in logs and dead-letter headers.
_WIRE: TypeAdapter[WireMessage] = TypeAdapter(
    WireMessage, config=ConfigDict(hide_input_in_errors=True)
)
_KNOWN_TYPES = frozenset(
    {
        "question_set",
        "withdrawal",
        "subject_correction",
        "answer",
        "refusal",
        "round_result",
        "open_round",
        "relabel_case",
        "cancel_round",
        "command_reply",
    }
)


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
        raise MalformedMessage(DecodeFailure.SCHEMA_VIOLATION, detail)
    return message


class AnswerEnvelope(BaseModel):
    """A PartnerAnswer whose answer items are not yet judged.

    The municipal broker reads answers this way so that an item richer than its label permits
    becomes a refusal the partner is told about (with the reason), not an unreadable message.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, hide_input_in_errors=True)
    type: str
    message_id: Id
    round_id: Id
    correlation_id: Id
    policy: PolicyRef
    created_at: UtcDatetime
    partner: Partner
    in_reply_to: Id
    answers: tuple[dict[str, Any], ...] = Field(min_length=1, max_length=MAX_ANSWER_ITEMS)


def decode_answer_envelope(raw: bytes) -> AnswerEnvelope:
    obj = _json_object(raw)
    if obj.get("type") != "answer":
        raise MalformedMessage(
            DecodeFailure.UNEXPECTED_TYPE if _known_type(obj) else DecodeFailure.UNKNOWN_TYPE,
            f"expected type 'answer', got {safe_name(obj.get('type'))!r}",
            canonical_uuid(obj.get("message_id")),
        )
    try:
        return AnswerEnvelope.model_validate_json(raw)
    except ValidationError as exc:
        malformed = _malformed(obj, exc)
        malformed.message_id = canonical_uuid(obj.get("message_id"))
        raise malformed from exc


def _json_object(raw: bytes) -> dict[str, Any]:
    """The message as a JSON object, within the limits, or the reason it is not one."""
    if len(raw) > MAX_MESSAGE_BYTES:
        raise MalformedMessage(
            DecodeFailure.TOO_LARGE, f"{len(raw)} bytes; at most {MAX_MESSAGE_BYTES}"
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedMessage(DecodeFailure.NOT_JSON, f"not UTF-8 (byte {exc.start})") from None
    # Nesting is no deeper than the number of opening brackets. A text with few is parsed
    # first and its depth read from the parsed object (a sixth of the cost of scanning the
    # text); one with many is scanned before the parser can recurse into it.
    openings = text.count("[") + text.count("{")
    if openings > _SCAN_BEFORE_PARSING:
        _refuse_too_deep(_nesting_depth(text))
    try:
        obj = json.loads(text, parse_constant=_no_constant)
    except ValueError as exc:  # JSONDecodeError, or NaN, Infinity or a too long integer
        if openings > MAX_JSON_DEPTH:  # too deep is the reason given first, as before parsing
            _refuse_too_deep(_nesting_depth(text))
        detail = (
            f"not JSON ({exc.msg}, char {exc.pos})"
            if isinstance(exc, json.JSONDecodeError)
            else "a number JSON cannot hold"
        )
        raise MalformedMessage(DecodeFailure.NOT_JSON, detail) from None
    if openings > MAX_JSON_DEPTH:
        _refuse_too_deep(_parsed_depth(obj))
    if not isinstance(obj, dict):
        raise MalformedMessage(DecodeFailure.NOT_JSON_OBJECT, "the message must be a JSON object")
    return obj


# Above this many opening brackets a text is scanned for its depth before it is parsed: the
# parser recurses once per level, and few messages of ours have as many.
_SCAN_BEFORE_PARSING = 256


def _refuse_too_deep(depth: int) -> None:
    if depth > MAX_JSON_DEPTH:
        raise MalformedMessage(
            DecodeFailure.TOO_DEEP, f"nested {depth} deep; at most {MAX_JSON_DEPTH}"
        )


def _parsed_depth(obj: Any) -> int:
    """How deep a parsed JSON value nests (the same count as `_nesting_depth` of its text)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(obj, 1)] if isinstance(obj, dict | list) else []
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        for child in node.values() if isinstance(node, dict) else node:
            if isinstance(child, dict | list):
                stack.append((child, depth + 1))
    return deepest


_SPECIAL = re.compile(r'[\[\]{}"\\]')


def _nesting_depth(text: str) -> int:
    """How deep arrays and objects nest, counted in one pass without parsing (so without
    recursion, and in time linear in the text even when a string never closes): brackets
    inside strings do not count. Unbalanced or otherwise invalid text is left to the parser."""
    depth = deepest = 0
    in_string = False
    escaped = -1  # the position a backslash in a string escapes
    for match in _SPECIAL.finditer(text):
        at = match.start()
        char = text[at]
        if at == escaped:
            continue
        if in_string:
            if char == "\\":
                escaped = at + 1
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _known_type(obj: dict[str, Any]) -> bool:
    kind = obj.get("type")
    return isinstance(kind, str) and kind in _KNOWN_TYPES


def _malformed(obj: dict[str, Any], exc: ValidationError) -> MalformedMessage:
    if not _known_type(obj):
        return MalformedMessage(
            DecodeFailure.UNKNOWN_TYPE,
            f"'type' is {safe_name(obj.get('type'))!r}; expected one of {sorted(_KNOWN_TYPES)}",
        )
    err = exc.errors()[0]
    loc = ".".join(safe_name(p) if isinstance(p, str) else str(p) for p in err["loc"])
    return MalformedMessage(DecodeFailure.SCHEMA_VIOLATION, f"{loc}: {err['msg']}")
