"""Wire messages: lossless JSON, and the rules a message must keep to be read at all."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from contracts import (
    AnswerItem,
    AnswerRefused,
    AnswerShape,
    Colour,
    MalformedMessage,
    Partner,
    PolicyRef,
    Question,
    QuestionSet,
    RefusalReason,
    Subject,
    SubjectRole,
    check_answer,
    decode,
    decode_answer_envelope,
    encode,
)
from tests.unit.contracts.strategies import (
    answer_items,
    open_round_commands,
    partner_answers,
    question_sets,
    refusal_notices,
    round_results,
    wire_messages,
)

NOW = dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.UTC)
POLICY_REF = PolicyRef(id="haarlem-iaj", version=1)


# --- (c) JSON round-trips losslessly ----------------------------------------------------------


def _same(decoded: BaseModel, original: BaseModel) -> None:
    assert decoded == original
    # `==` would not tell True from 1 inside an answer's `detail`; the JSON does.
    assert decoded.model_dump_json() == original.model_dump_json()


@pytest.mark.parametrize(
    "messages",
    [question_sets(), partner_answers(), refusal_notices(), round_results(), open_round_commands()],
    ids=["QuestionSet", "PartnerAnswer", "RefusalNotice", "RoundResult", "OpenRoundCommand"],
)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_every_wire_message_round_trips(messages: Any, data: st.DataObject) -> None:
    message = data.draw(messages)
    decoded = decode(encode(message))
    assert type(decoded) is type(message)
    _same(decoded, message)


@settings(max_examples=60, deadline=None)
@given(message=wire_messages())
def test_encoding_is_stable(message: BaseModel) -> None:
    assert encode(decode(encode(message))) == encode(message)


@settings(max_examples=60, deadline=None)
@given(item=answer_items())
def test_answer_item_round_trips(item: AnswerItem) -> None:
    _same(AnswerItem.model_validate_json(item.model_dump_json()), item)


@settings(max_examples=60, deadline=None)
@given(message=partner_answers())
def test_answer_envelope_keeps_every_item(message: Any) -> None:
    envelope = decode_answer_envelope(encode(message))
    assert [AnswerItem.model_validate_json(json.dumps(i)) for i in envelope.answers] == list(
        message.answers
    )
    assert envelope.message_id == message.message_id


# --- the rules of a question set --------------------------------------------------------------


def _subject(ref: str = "jongere", **extra: Any) -> Subject:
    role = SubjectRole.JONGERE if ref == "jongere" else SubjectRole.GEZINSLID
    return Subject(
        subject_ref=ref, role=role, naam="A. Jansen", geboortedatum=dt.date(2009, 5, 1), **extra
    )


def _question(ref: str = "jongere") -> Question:
    return Question(
        question_id=uuid.uuid4(),
        key="risicosignalen",
        subject_ref=ref,
        text="Zijn er risicosignalen?",
        shape=AnswerShape.JA_NEE_DOMEINEN,
    )


def _question_set(colour: Colour = Colour.ORANJE, **changes: Any) -> QuestionSet:
    fields: dict[str, Any] = {
        "round_id": uuid.uuid4(),
        "correlation_id": uuid.uuid4(),
        "policy": POLICY_REF,
        "created_at": NOW,
        "partner": Partner.RN,
        "colour": colour,
        "deadline": NOW + dt.timedelta(days=5),
        "subjects": (_subject(),),
        "questions": (_question(),),
    }
    return QuestionSet(**{**fields, **changes})


def _json(message: BaseModel, **changes: Any) -> bytes:
    return json.dumps({**json.loads(encode(message)), **changes}).encode()


def _malformed(raw: bytes, reason: str) -> str:
    with pytest.raises(MalformedMessage) as caught:
        decode(raw)
    assert caught.value.reason == reason, str(caught.value)
    return caught.value.detail


def test_a_family_member_may_be_named_in_oranje_and_rood() -> None:
    for colour in (Colour.ORANJE, Colour.ROOD):
        qs = _question_set(colour, subjects=(_subject(), _subject("gezinslid-1")))
        assert decode(encode(qs)) == qs


def test_groen_question_set_naming_a_family_member_is_rejected() -> None:
    family = (_subject(), _subject("gezinslid-1"))
    with pytest.raises(ValidationError, match="groen question set may not name family members"):
        _question_set(Colour.GROEN, subjects=family)
    oranje = _question_set(Colour.ORANJE, subjects=family)
    detail = _malformed(_json(oranje, colour="groen"), "schema_violation")
    assert "family members" in detail


def test_address_without_a_reason_is_rejected() -> None:
    with pytest.raises(ValidationError, match="adres_reden"):
        _subject(adres="Grote Markt 2, Haarlem")
    with_reason = _subject(adres="Grote Markt 2, Haarlem", adres_reden="huisbezoek gepland")
    qs = _question_set(subjects=(with_reason,))
    assert decode(encode(qs)) == qs
    subject = json.loads(encode(qs))["subjects"][0]
    del subject["adres_reden"]
    _malformed(_json(qs, subjects=[subject]), "schema_violation")


@pytest.mark.parametrize(
    "when",
    [
        dt.datetime(2026, 3, 1, 9, 30),
        dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=1))),
    ],
    ids=["naive", "plus-one"],
)
def test_non_utc_timestamps_are_rejected(when: dt.datetime) -> None:
    with pytest.raises(ValidationError, match="UTC"):
        _question_set(created_at=when)
    with pytest.raises(ValidationError, match="UTC"):
        _question_set(deadline=when)


@pytest.mark.parametrize("stamp", ["2026-03-01T09:30:00+01:00", "2026-03-01T09:30:00"])
def test_non_utc_timestamps_are_rejected_on_the_wire(stamp: str) -> None:
    detail = _malformed(_json(_question_set(), deadline=stamp), "schema_violation")
    assert detail.startswith("question_set.deadline: ")


def test_extra_field_is_rejected() -> None:
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        _question_set(groepsgedrag="ja")
    detail = _malformed(_json(_question_set(), groepsgedrag="ja"), "schema_violation")
    assert detail.startswith("question_set.groepsgedrag: ")


def test_extra_field_in_a_nested_model_is_rejected() -> None:
    qs = _question_set()
    subject = {**json.loads(encode(qs))["subjects"][0], "bsn": "123456782"}
    assert "bsn" in _malformed(_json(qs, subjects=[subject]), "schema_violation")


# --- decode: why a message cannot be read ----------------------------------------------------


@pytest.mark.parametrize("raw", [b"", b"{not json", b"\xff\xfe", b'{"type": "answer"'])
def test_not_json(raw: bytes) -> None:
    _malformed(raw, "not_json")


def test_not_a_json_object() -> None:
    _malformed(b"[1, 2]", "not_json_object")


@pytest.mark.parametrize("kind", ["groepsgedrag", None, 7])
def test_unknown_type(kind: Any) -> None:
    detail = _malformed(_json(_question_set(), type=kind), "unknown_type")
    assert "question_set" in detail


def test_missing_type_is_an_unknown_type() -> None:
    raw = json.loads(encode(_question_set()))
    del raw["type"]
    _malformed(json.dumps(raw).encode(), "unknown_type")


def test_schema_violation_names_the_field() -> None:
    detail = _malformed(_json(_question_set(), partner="politie"), "schema_violation")
    assert detail.startswith("question_set.partner: ")


@pytest.mark.parametrize("field", ["message_id", "created_at"])
def test_a_message_on_the_wire_carries_its_own_id_and_time(field: str) -> None:
    # Consumers de-duplicate on message_id: decoding may not make up a fresh one.
    raw = json.loads(encode(_question_set()))
    del raw[field]
    detail = _malformed(json.dumps(raw).encode(), "schema_violation")
    assert detail.startswith(f"question_set.{field}: ")


# --- decode_answer_envelope: items are judged later, by check_answer ---------------------------


def _answer_json(*items: dict[str, Any]) -> bytes:
    return json.dumps(
        {
            "type": "answer",
            "message_id": str(uuid.uuid4()),
            "round_id": str(uuid.uuid4()),
            "correlation_id": str(uuid.uuid4()),
            "policy": {"id": "haarlem-iaj", "version": 1},
            "created_at": "2026-03-01T09:30:00Z",
            "partner": "rn",
            "in_reply_to": str(uuid.uuid4()),
            "answers": list(items),
        }
    ).encode()


def test_envelope_accepts_items_richer_than_permitted() -> None:
    question = _question()
    item = {"question_id": str(question.question_id), "antwoord": "ja", "naam_dader": "X"}
    raw = _answer_json(item)
    _malformed(raw, "schema_violation")  # as a PartnerAnswer it cannot be read ...
    envelope = decode_answer_envelope(raw)  # ... as an envelope it can, and the item is judged
    assert envelope.answers == (item,)
    with pytest.raises(AnswerRefused) as caught:
        check_answer(question, envelope.answers[0], Colour.ORANJE)
    assert (caught.value.reason, caught.value.field) == (RefusalReason.EXTRA_FIELD, "naam_dader")


def test_envelope_refuses_another_message_type() -> None:
    with pytest.raises(MalformedMessage) as caught:
        decode_answer_envelope(encode(_question_set()))
    assert caught.value.reason == "unexpected_type"


def test_envelope_refuses_a_bad_envelope() -> None:
    raw = json.loads(_answer_json({"antwoord": "ja"}))
    raw["created_at"] = "2026-03-01T10:30:00+01:00"
    with pytest.raises(MalformedMessage) as caught:
        decode_answer_envelope(json.dumps(raw).encode())
    assert caught.value.reason == "schema_violation"
