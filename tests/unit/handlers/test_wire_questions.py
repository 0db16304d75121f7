"""The wire form of a question row: validated once per content, copied with each row's id."""

from __future__ import annotations

import uuid

import pytest
from pydantic import ValidationError

from contracts.enums import AnswerShape, Colour, SubjectRole
from contracts.messages import Question
from contracts.policy import DetailField
from handlers.db.tables import QuestionRow
from handlers.questions import _question_template, to_wire_question
from handlers.rounds import question_row
from tests.unit.handlers.builders import POLICY


def _validated_anew(row: QuestionRow) -> Question:
    """What the wire form of a row is by definition: every field validated from the row."""
    return Question(
        question_id=uuid.UUID(row.id),
        key=row.key,
        subject_ref=row.subject_ref,
        text=row.text,
        shape=AnswerShape(row.shape),
        detail_fields=tuple(DetailField.model_validate(f) for f in row.detail_fields),
        text_limit=row.text_limit,
    )


def _every_question_row() -> list[QuestionRow]:
    round_id = str(uuid.uuid4())
    rows = []
    for colour in Colour:
        for asked in POLICY.asked(colour):
            refs = ["jongere"] if asked.subject is SubjectRole.JONGERE else ["gezinslid-1"]
            rows += [question_row(POLICY, asked, round_id, ref) for ref in refs]
    return rows


def test_every_question_of_the_policy_has_the_wire_form_validated_anew() -> None:
    rows = _every_question_row()
    assert any(r.shape == AnswerShape.DETAIL for r in rows)  # detail fields are covered
    for row in rows:
        assert to_wire_question(row) == _validated_anew(row)
    validated = _question_template.cache_info().misses
    for row in rows:  # the second time from the templates
        assert to_wire_question(row) == _validated_anew(row)
    assert _question_template.cache_info().misses == validated  # nothing validated again


def test_rows_with_the_same_content_keep_their_own_ids() -> None:
    asked = POLICY.asked(Colour.ORANJE)[0]
    first, second = (question_row(POLICY, asked, str(uuid.uuid4()), "jongere") for _ in "12")
    one, other = to_wire_question(first), to_wire_question(second)
    assert (one.question_id, other.question_id) == (uuid.UUID(first.id), uuid.UUID(second.id))
    assert one.model_copy(update={"question_id": other.question_id}) == other
    assert second.id in other.model_dump_json()


def test_a_row_the_wire_form_refuses_is_refused_every_time() -> None:
    row = _every_question_row()[0]
    row.text = ""  # a question without text is not a question
    for _ in range(2):  # a refusal is not remembered as a template
        with pytest.raises(ValidationError):
            to_wire_question(row)
    row.text, row.id = "Is er een signaal?", "not-a-uuid"
    with pytest.raises(ValueError, match="badly formed"):
        to_wire_question(row)
