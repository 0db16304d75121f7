"""Whatever bytes arrive, the decoders answer with a classified MalformedMessage — never
another exception (that would be dead-lettered as our own `processing_error`) — and no
error, detail or message quotes a value of the input."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from contracts import wire
from contracts.enums import Partner
from contracts.errors import DecodeFailure, MalformedMessage
from contracts.limits import MAX_ANSWER_ITEMS, MAX_JSON_DEPTH, MAX_MESSAGE_BYTES
from contracts.messages import PartnerAnswer, QuestionSet, utc_now
from contracts.policy import haarlem_policy
from contracts.wire import decode, decode_answer_envelope

MARKER = "Zeldzaam-Merkteken-7731"
DECODERS = [decode, decode_answer_envelope]


def _valid_answer() -> dict[str, Any]:
    return {
        "type": "answer",
        "message_id": str(uuid.uuid4()),
        "round_id": str(uuid.uuid4()),
        "correlation_id": str(uuid.uuid4()),
        "policy": haarlem_policy().ref.model_dump(mode="json"),
        "created_at": utc_now().isoformat(),
        "partner": Partner.CJG.value,
        "in_reply_to": str(uuid.uuid4()),
        "answers": [{"question_id": str(uuid.uuid4()), "antwoord": "nee"}],
    }


def _failed(decoder: Any, raw: bytes) -> MalformedMessage | None:
    try:
        decoder(raw)
    except MalformedMessage as exc:
        return exc
    return None


def _failure(raw: bytes) -> MalformedMessage:
    for decoder in DECODERS:
        with pytest.raises(MalformedMessage) as failed:
            decoder(raw)
    return failed.value


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"x" * (MAX_MESSAGE_BYTES + 1), DecodeFailure.TOO_LARGE),
        (b"\xff\xfe", DecodeFailure.NOT_JSON),
        (b'{"type": "answer",', DecodeFailure.NOT_JSON),
        (b'{"type": "answer", "n": NaN}', DecodeFailure.NOT_JSON),
        (b'{"n": ' + b"9" * 5000 + b"}", DecodeFailure.NOT_JSON),
        (b"[" * 100_000 + b"]" * 100_000, DecodeFailure.TOO_DEEP),
        (b'{"a":' + b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1) + b"}",
         DecodeFailure.TOO_DEEP),
        (b'["answer"]', DecodeFailure.NOT_JSON_OBJECT),
        (b'"answer"', DecodeFailure.NOT_JSON_OBJECT),
        (b'{"type": ["open_round"]}', DecodeFailure.UNKNOWN_TYPE),
        (b'{"type": {"answer": 1}}', DecodeFailure.UNKNOWN_TYPE),
        (b'{"type": "zoiets"}', DecodeFailure.UNKNOWN_TYPE),
        (b"{}", DecodeFailure.UNKNOWN_TYPE),
    ],
    ids=[
        "too-large", "not-utf8", "cut-off", "nan", "huge-int", "deep-array", "deep-in-object",
        "array", "string", "type-array", "type-object", "type-unknown", "no-type",
    ],
)  # fmt: skip
def test_each_kind_of_unreadable_bytes_has_its_reason(raw: bytes, reason: DecodeFailure) -> None:
    assert _failure(raw).reason is reason


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    message = _valid_answer()
    message["answers"][0]["toelichting"] = "[" * 100 + '\\"{' * 50
    assert decode_answer_envelope(json.dumps(message).encode()).partner is Partner.CJG


def test_more_answer_items_than_allowed_are_a_schema_violation() -> None:
    message = _valid_answer()
    message["answers"] = message["answers"] * (MAX_ANSWER_ITEMS + 1)
    failure = _failure(json.dumps(message).encode())
    assert failure.reason is DecodeFailure.SCHEMA_VIOLATION
    assert "answers" in failure.detail


@pytest.mark.parametrize(
    "spell",
    [str.upper, lambda i: i.replace("-", ""), lambda i: "{" + i + "}", lambda i: "urn:uuid:" + i],
    ids=["upper-case", "no-hyphens", "braces", "urn"],
)
@pytest.mark.parametrize("field", ["message_id", "round_id", "correlation_id", "in_reply_to"])
def test_ids_are_read_only_in_the_published_form(field: str, spell: Any) -> None:
    message = _valid_answer()
    message[field] = spell(message[field])
    failure = _failure(json.dumps(message).encode())
    assert failure.reason is DecodeFailure.SCHEMA_VIOLATION
    assert field in failure.detail
    assert message[field] not in str(failure)


def test_an_id_comes_back_exactly_as_it_was_sent() -> None:
    message = _valid_answer()
    decoded = decode(json.dumps(message).encode())
    assert isinstance(decoded, PartnerAnswer)
    assert str(decoded.message_id) == message["message_id"]
    assert str(decoded.in_reply_to) == message["in_reply_to"]


def test_the_published_schema_states_the_id_form() -> None:
    schema = PartnerAnswer.model_json_schema()
    assert schema["properties"]["message_id"]["pattern"].startswith("^[0-9a-f]{8}-")


_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(field=st.sampled_from(sorted(_valid_answer())), value=_VALUES)
def test_a_mutated_answer_is_refused_without_quoting_it(field: str, value: Any) -> None:
    message = _valid_answer()
    message[field] = [MARKER, value] if value is not None else MARKER
    raw = json.dumps(message).encode()
    for decoder in DECODERS:
        failure = _failed(decoder, raw)
        assert failure is None or MARKER not in str(failure)


@settings(max_examples=300)
@given(raw=st.binary(max_size=300))
def test_arbitrary_bytes_only_ever_fail_as_malformed(raw: bytes) -> None:
    for decoder in DECODERS:
        failure = _failed(decoder, raw)  # anything but MalformedMessage fails the test
        assert failure is None or failure.reason in set(DecodeFailure)


def test_a_validation_error_of_a_wire_model_hides_the_input() -> None:
    with pytest.raises(ValidationError) as failed:
        QuestionSet.model_validate_json(json.dumps({"type": "question_set", "partner": MARKER}))
    assert MARKER not in str(failed.value)


@pytest.mark.timeout(60)  # a guard, not a measurement: linear takes milliseconds
def test_a_string_that_never_closes_is_read_in_linear_time() -> None:
    """All escaped quotes up to the size limit and no closing quote: a scan that restarts
    at every quote would take minutes here and hold the service's event loop."""
    raw = ('{"type": "answer", "toelichting": "' + '\\"' * (MAX_MESSAGE_BYTES // 2 - 40)).encode()
    assert len(raw) <= MAX_MESSAGE_BYTES
    assert _failure(raw).reason is DecodeFailure.NOT_JSON


def test_escaped_backslashes_and_quotes_keep_strings_apart_from_brackets() -> None:
    message = _valid_answer()
    message["answers"][0]["toelichting"] = '\\\\"[[[' + "\\\\" * 3 + '\\"{{{'
    assert decode_answer_envelope(json.dumps(message).encode()).partner is Partner.CJG


def _depth_by_scanning(text: str) -> int:
    """The nesting depth as a reader would count it, character by character."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if escaped:
            escaped = False
        elif in_string:
            if char == "\\":
                escaped = True
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


_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='[]{}"\\a', max_size=5),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.text(alphabet="[{a", max_size=3), children, max_size=3)
    ),
    max_leaves=40,
)
_TEXTS = st.text(alphabet='[]{}"\\a,:1 \n', max_size=80) | _JSON_VALUES.map(json.dumps)


@settings(max_examples=3000, suppress_health_check=[HealthCheck.too_slow])
@given(_TEXTS)
def test_too_deep_is_refused_exactly_when_a_reader_counts_too_deep(text: str) -> None:
    # Whether the depth is read from the parsed object, scanned before or after parsing: a
    # text is refused as too deep exactly when a character-by-character reader counts more
    # than the limit, valid JSON or not, brackets in strings or not.
    assert wire._nesting_depth(text) == _depth_by_scanning(text)
    failure = _failed(decode, text.encode())
    too_deep = failure is not None and failure.reason is DecodeFailure.TOO_DEEP
    assert too_deep == (_depth_by_scanning(text) > MAX_JSON_DEPTH)


@pytest.mark.parametrize("levels", [MAX_JSON_DEPTH, MAX_JSON_DEPTH + 1, 200, 300, 50_000])
def test_depth_is_refused_at_the_limit_whether_parsed_or_scanned_first(levels: int) -> None:
    text = '{"a":' + "[" * (levels - 1) + "]" * (levels - 1) + "}"
    failure = _failed(decode, text.encode())
    if levels > MAX_JSON_DEPTH:
        assert failure is not None
        assert failure.reason is DecodeFailure.TOO_DEEP
        assert failure.detail == f"nested {levels} deep; at most {MAX_JSON_DEPTH}"
    else:
        assert failure is None or failure.reason is not DecodeFailure.TOO_DEEP
