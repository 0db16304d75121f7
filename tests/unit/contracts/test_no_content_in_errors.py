"""Errors travel into logs, refusal records and notices: they never carry a sender's content."""

from __future__ import annotations

import json
import uuid

import pytest

from contracts.answers import check_answer
from contracts.enums import AnswerShape, Colour
from contracts.errors import AnswerRefused, MalformedMessage, RefusalReason
from contracts.messages import Question
from contracts.wire import decode, decode_answer_envelope

SECRET = "Jan Voorbeeld heeft schulden"


def test_a_made_up_field_name_is_withheld_from_the_refusal() -> None:
    question = Question(
        question_id=uuid.uuid4(),
        key="bekend",
        subject_ref="jongere",
        text="?",
        shape=AnswerShape.JA_NEE,
    )
    answer = {"question_id": str(question.question_id), "antwoord": "ja", SECRET: True}
    with pytest.raises(AnswerRefused) as refused:
        check_answer(question, answer, Colour.ROOD)
    assert refused.value.reason is RefusalReason.EXTRA_FIELD
    assert SECRET not in str(refused.value)
    assert refused.value.field is not None
    assert SECRET not in refused.value.field


def test_a_plain_unknown_field_name_is_still_named() -> None:
    question = Question(
        question_id=uuid.uuid4(),
        key="bekend",
        subject_ref="jongere",
        text="?",
        shape=AnswerShape.JA_NEE,
    )
    answer = {"question_id": str(question.question_id), "antwoord": "ja", "bron": "x"}
    with pytest.raises(AnswerRefused) as refused:
        check_answer(question, answer)
    assert refused.value.field == "bron"


@pytest.mark.parametrize("decoder", [decode, decode_answer_envelope])
def test_an_unknown_type_is_not_echoed(decoder: object) -> None:
    with pytest.raises(MalformedMessage) as malformed:
        decoder(json.dumps({"type": SECRET}).encode())  # type: ignore[operator]
    assert malformed.value.reason == "unknown_type"
    assert SECRET not in str(malformed.value)


def test_a_made_up_key_in_a_schema_violation_is_not_echoed() -> None:
    with pytest.raises(MalformedMessage) as malformed:
        decode(json.dumps({"type": "open_round", SECRET: 1}).encode())
    assert malformed.value.reason == "schema_violation"
    assert SECRET not in str(malformed.value)
