"""check_answer, property by property, for every question of the Haarlem policy at every colour.

An answer must have exactly the shape its question was asked with: a bare ja/nee always fits,
permitted content on a 'ja' fits, and anything richer is refused with a reason naming the field.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts import (
    AnswerItem,
    AnswerRefused,
    AnswerShape,
    Colour,
    Question,
    RefusalReason,
    SubjectRole,
    YesNo,
    check_answer,
    haarlem_policy,
    permitted_fields,
)
from contracts.errors import safe_name
from contracts.policy import AskedQuestion, DetailField, DetailFieldKind
from tests.unit.contracts.strategies import (
    SETTINGS,
    content_value,
    json_values,
    not_permitted_fields,
    permitted_answers,
    permitted_content,
    questions,
    unknown_field_names,
)

POLICY = haarlem_policy()
ASKED = [(colour, q) for colour in Colour for q in POLICY.asked(colour)]


def _id(asked: tuple[Colour, AskedQuestion]) -> str:
    colour, q = asked
    return f"{colour}-{q.partner}-{q.key}-{q.subject}"


def wire_question(q: AskedQuestion, question_id: uuid.UUID | None = None) -> Question:
    """The Question the municipality would put on the wire for a policy question."""
    return Question(
        question_id=question_id or uuid.uuid4(),
        key=q.key,
        subject_ref="jongere" if q.subject is SubjectRole.JONGERE else "gezinslid-1",
        text=q.text,
        shape=q.shape,
        detail_fields=q.detail_fields,
        text_limit=POLICY.text_limit(q.shape),
    )


def raw(answer: AnswerItem) -> dict[str, Any]:
    """The answer as a partner sends it: JSON, without the fields it leaves out."""
    return answer.model_dump(mode="json", exclude_none=True)


def refused(
    question: Question, answer: dict[str, Any], colour: Colour, reason: RefusalReason, field: str
) -> None:
    with pytest.raises(AnswerRefused) as caught:
        check_answer(question, answer, colour)
    exc = caught.value
    # A name that does not look like one of ours is withheld: it may itself be content.
    assert (exc.reason, exc.field) == (reason, safe_name(field)), str(exc)
    assert (exc.question_id, exc.question_key) == (question.question_id, question.key)
    assert (exc.shape, exc.colour) == (question.shape, colour)
    assert question.key in str(exc)
    assert str(reason) in str(exc)


asked_questions = pytest.mark.parametrize("asked", ASKED, ids=_id)


def test_every_colour_asks_something() -> None:
    assert {colour for colour, _ in ASKED} == set(Colour)


# --- (a) exactly the permitted shape is accepted ---------------------------------------------


@asked_questions
@SETTINGS
@given(data=st.data())
def test_permitted_answer_is_accepted_unchanged(
    asked: tuple[Colour, AskedQuestion], data: st.DataObject
) -> None:
    colour, q = asked
    question = wire_question(q)
    answer = data.draw(permitted_answers(question))
    for sent in (answer, raw(answer)):
        accepted = check_answer(question, sent, colour)
        assert accepted == answer
        # `==` would not tell True from 1 inside `detail`; the JSON does.
        assert accepted.model_dump_json() == answer.model_dump_json()


@asked_questions
def test_a_bare_nee_fits(asked: tuple[Colour, AskedQuestion]) -> None:
    colour, q = asked
    question = wire_question(q)
    sent = {"question_id": str(question.question_id), "antwoord": "nee"}
    assert check_answer(question, sent, colour) == AnswerItem(
        question_id=question.question_id, antwoord=YesNo.NEE
    )


@asked_questions
@pytest.mark.parametrize(
    "spelling",
    [str.upper, lambda i: i.replace("-", ""), lambda i: "{" + i + "}", lambda i: "urn:uuid:" + i],
    ids=["upper-case", "no-hyphens", "braces", "urn"],
)
def test_a_question_id_in_another_spelling_names_no_question(
    asked: tuple[Colour, AskedQuestion], spelling: Callable[[str], str]
) -> None:
    # Ids are taken only as published (contracts.ids): what a partner sent comes back as sent.
    colour, q = asked
    question = wire_question(q)
    sent = {"question_id": spelling(str(question.question_id)), "antwoord": "nee"}
    with pytest.raises(AnswerRefused) as refused:
        check_answer(question, sent, colour)
    assert refused.value.reason is RefusalReason.UNKNOWN_QUESTION


# --- (b) anything richer is refused, naming the field -----------------------------------------


@asked_questions
@SETTINGS
@given(data=st.data(), name=unknown_field_names, value=json_values)
def test_unknown_field_is_refused(
    asked: tuple[Colour, AskedQuestion], data: st.DataObject, name: str, value: Any
) -> None:
    colour, q = asked
    question = wire_question(q)
    answer = raw(data.draw(permitted_answers(question)))
    refused(question, {**answer, name: value}, colour, RefusalReason.EXTRA_FIELD, name)


@asked_questions
@SETTINGS
@given(data=st.data())
def test_content_the_shape_does_not_permit_is_refused(
    asked: tuple[Colour, AskedQuestion], data: st.DataObject
) -> None:
    colour, q = asked
    question = wire_question(q)
    answer = raw(data.draw(permitted_answers(question)))
    field = data.draw(st.sampled_from(not_permitted_fields(q.shape)))
    sent = {**answer, field: data.draw(content_value(field))}
    refused(question, sent, colour, RefusalReason.FIELD_NOT_PERMITTED, field)


WITH_CONTENT = [a for a in ASKED if permitted_fields(a[1].shape)]


@pytest.mark.parametrize("asked", WITH_CONTENT, ids=_id)
@SETTINGS
@given(data=st.data())
def test_content_on_nee_is_refused(
    asked: tuple[Colour, AskedQuestion], data: st.DataObject
) -> None:
    colour, q = asked
    question = wire_question(q)
    content = data.draw(permitted_content(question))
    (field,) = content
    sent = {"question_id": str(question.question_id), "antwoord": "nee", **content}
    refused(question, sent, colour, RefusalReason.CONTENT_ON_NEE, field)


def _text_fields(q: AskedQuestion) -> list[str]:
    if q.shape is AnswerShape.JA_NEE_TOELICHTING:
        return ["toelichting"]
    return [f"detail.{f.name}" for f in q.detail_fields if f.kind is DetailFieldKind.TEKST]


WITH_TEXT = [a for a in ASKED if _text_fields(a[1])]


@pytest.mark.parametrize("asked", WITH_TEXT, ids=_id)
@SETTINGS
@given(data=st.data(), excess=st.integers(min_value=1, max_value=500))
def test_text_over_the_limit_is_refused(
    asked: tuple[Colour, AskedQuestion], data: st.DataObject, excess: int
) -> None:
    colour, q = asked
    question = wire_question(q)
    assert question.text_limit is not None
    field = data.draw(st.sampled_from(_text_fields(q)))
    text = data.draw(
        st.text(min_size=question.text_limit + excess, max_size=question.text_limit + excess)
    )
    if field == "toelichting":
        content: dict[str, Any] = {"toelichting": text}
    else:
        content = {"detail": {field.removeprefix("detail."): text}}
    sent = {"question_id": str(question.question_id), "antwoord": "ja", **content}
    refused(question, sent, colour, RefusalReason.TEXT_TOO_LONG, field)


WITH_DETAIL = [a for a in ASKED if a[1].shape is AnswerShape.DETAIL]


@pytest.mark.parametrize("asked", WITH_DETAIL, ids=_id)
@SETTINGS
@given(data=st.data(), name=st.text(min_size=1), value=st.booleans() | st.integers() | st.text())
def test_unknown_detail_field_is_refused(
    asked: tuple[Colour, AskedQuestion], data: st.DataObject, name: str, value: Any
) -> None:
    colour, q = asked
    question = wire_question(q)
    if name in {f.name for f in q.detail_fields}:
        name += "_x"
    ja = data.draw(permitted_answers(question).filter(lambda a: a.antwoord is YesNo.JA))
    detail = {**(ja.detail or {}), name: value}
    sent = {"question_id": str(question.question_id), "antwoord": "ja", "detail": detail}
    refused(question, sent, colour, RefusalReason.UNKNOWN_DETAIL_FIELD, f"detail.{name}")


def test_the_haarlem_policy_exercises_every_refusal_above() -> None:
    assert WITH_CONTENT
    assert WITH_TEXT
    assert WITH_DETAIL
    assert {q.shape for _, q in ASKED} == set(AnswerShape)


# --- (d) disclosure never shrinks: groen ⊆ oranje ⊆ rood ------------------------------------

_BY_IDENT: dict[tuple[str, str, str], dict[Colour, AskedQuestion]] = {}
for _colour, _q in ASKED:
    _BY_IDENT.setdefault((_q.partner, _q.key, _q.subject), {})[_colour] = _q

RISING = [
    (ident, lower, higher)
    for ident, by_colour in _BY_IDENT.items()
    for lower, higher in itertools.combinations(Colour, 2)
    if lower in by_colour
]


@pytest.mark.parametrize(("ident", "lower", "higher"), RISING, ids=str)
def test_a_higher_colour_asks_at_least_what_a_lower_one_does(
    ident: tuple[str, str, str], lower: Colour, higher: Colour
) -> None:
    by_colour = _BY_IDENT[ident]
    assert higher in by_colour, f"{ident} is asked in {lower} but not in {higher}"
    assert by_colour[higher].shape.covers(by_colour[lower].shape)


@pytest.mark.parametrize(("ident", "lower", "higher"), RISING, ids=str)
@SETTINGS
@given(data=st.data())
def test_an_answer_permitted_lower_is_accepted_higher(
    ident: tuple[str, str, str], lower: Colour, higher: Colour, data: st.DataObject
) -> None:
    qid = uuid.uuid4()
    low, high = (wire_question(_BY_IDENT[ident][c], qid) for c in (lower, higher))
    answer = data.draw(permitted_answers(low))
    assert check_answer(high, raw(answer), higher) == answer


SHAPE_PAIRS = list(itertools.product(AnswerShape, repeat=2))
_FIELDS = (DetailField(name="veld", kind=DetailFieldKind.TEKST),)


@pytest.mark.parametrize(("wide", "narrow"), SHAPE_PAIRS, ids=str)
@SETTINGS
@given(data=st.data())
def test_covers_means_every_narrower_answer_fits_the_wider_shape(
    wide: AnswerShape, narrow: AnswerShape, data: st.DataObject
) -> None:
    narrow_q = data.draw(questions(shape=narrow))
    wide_q = Question(
        question_id=narrow_q.question_id,
        key=narrow_q.key,
        subject_ref=narrow_q.subject_ref,
        text=narrow_q.text,
        shape=wide,
        detail_fields=(narrow_q.detail_fields or _FIELDS) if wide is AnswerShape.DETAIL else (),
        text_limit=narrow_q.text_limit or 280,
    )
    answer = data.draw(permitted_answers(narrow_q))
    if wide.covers(narrow):
        assert check_answer(wide_q, raw(answer)) == answer
    elif answer.antwoord is YesNo.JA and len(raw(answer)) > 2:
        with pytest.raises(AnswerRefused):
            check_answer(wide_q, raw(answer))
