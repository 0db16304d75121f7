"""Property: whatever a lookup returns, nothing beyond the permitted shape leaves the adapter;
a permitted answer always does."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from contracts import (
    AnswerShape,
    Colour,
    LifeDomain,
    Partner,
    Question,
    QuestionSet,
    YesNo,
    check_answer,
    permitted_fields,
)
from contracts.answers import ANSWER_FIELDS
from contracts.policy import DetailFieldKind
from partner_adapters.answering import answer_question_set
from partner_adapters.lookup import LookupAnswer, LookupRequest
from partner_adapters.state import AdapterStore
from tests.unit.partner_adapters.builders import asked_pairs, question_set
from tests.unit.partner_adapters.lookups import ScriptedLookup

CONTENT_FIELDS = ("met_wie", "domeinen", "toelichting", "detail")
PROPERTY_SETTINGS = settings(max_examples=150, deadline=None)

names = st.from_regex(r"[a-z][a-z0-9_]{0,20}", fullmatch=True)
json_scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(names, inner, max_size=3),
    max_leaves=5,
)


@dataclass(frozen=True)
class Given:
    """What the lookup answers to one question, and whether the shape permits it."""

    answer: dict[str, Any]
    permitted: bool


def _text(limit: int | None) -> st.SearchStrategy[str]:
    return st.text(min_size=1, max_size=min(limit or 60, 60))


def _detail_value(kind: DetailFieldKind, limit: int | None) -> st.SearchStrategy[Any]:
    if kind is DetailFieldKind.JA_NEE:
        return st.booleans()
    if kind is DetailFieldKind.AANTAL:
        return st.integers(min_value=0, max_value=10_000)
    return _text(limit)


def _permitted_content(q: Question) -> st.SearchStrategy[dict[str, Any]]:
    if q.shape is AnswerShape.JA_NEE_MET_WIE:
        partners = st.lists(st.sampled_from([p.value for p in Partner]), min_size=1, unique=True)
        return partners.map(lambda v: {"met_wie": v})
    if q.shape is AnswerShape.JA_NEE_DOMEINEN:
        domains = st.lists(st.sampled_from([d.value for d in LifeDomain]), min_size=1, unique=True)
        return domains.map(lambda v: {"domeinen": v})
    if q.shape is AnswerShape.JA_NEE_TOELICHTING:
        return _text(q.text_limit).map(lambda v: {"toelichting": v})
    if q.shape is AnswerShape.DETAIL:
        optional = {f.name: _detail_value(f.kind, q.text_limit) for f in q.detail_fields}
        return (
            st.fixed_dictionaries({}, optional=optional).filter(bool).map(lambda d: {"detail": d})
        )
    return st.just({})


@st.composite
def permitted(draw: st.DrawFn, q: Question) -> Given:
    base: dict[str, Any] = {"question_id": str(q.question_id)}
    if draw(st.booleans()):
        return Given({**base, "antwoord": "nee"}, True)
    return Given({**base, "antwoord": "ja", **draw(_permitted_content(q))}, True)


@st.composite
def richer(draw: st.DrawFn, q: Question) -> Given:
    """A permitted answer with at least one thing added that the shape does not permit."""
    answer = dict(draw(permitted(q)).answer)
    not_allowed = [f for f in CONTENT_FIELDS if f not in permitted_fields(q.shape)]
    ways = ["extra_field", "content_on_nee", *(["other_field"] if not_allowed else [])]
    if q.shape is AnswerShape.DETAIL:
        ways.append("unknown_detail_field")
    has_text = q.shape is AnswerShape.JA_NEE_TOELICHTING or any(
        f.kind is DetailFieldKind.TEKST for f in q.detail_fields
    )
    if has_text and q.text_limit:
        ways.append("text_too_long")
    if q.shape in (AnswerShape.JA_NEE_MET_WIE, AnswerShape.JA_NEE_DOMEINEN):
        ways.append("free_text_in_a_closed_list")
    way = draw(st.sampled_from(ways))
    if way == "extra_field":
        name = draw(st.text(min_size=1, max_size=30).filter(lambda n: n not in ANSWER_FIELDS))
        answer[name] = draw(json_values)
    elif way == "other_field":
        field = draw(st.sampled_from(not_allowed))
        answer[field] = draw(_any_content(field))
    elif way == "content_on_nee":
        answer = {"question_id": answer["question_id"], "antwoord": "nee"}
        field = draw(st.sampled_from(CONTENT_FIELDS))
        answer[field] = draw(_any_content(field))
    elif way == "unknown_detail_field":
        known = {f.name for f in q.detail_fields}
        name = draw(names.filter(lambda n: n not in known))
        answer = {**answer, "antwoord": "ja"}
        answer["detail"] = {**answer.get("detail", {}), name: draw(st.booleans() | st.text())}
    elif way == "text_too_long":
        assert q.text_limit is not None
        long_text = "x" * (q.text_limit + draw(st.integers(1, 50)))
        answer["antwoord"] = "ja"
        if q.shape is AnswerShape.JA_NEE_TOELICHTING:
            answer["toelichting"] = long_text
        else:
            tekst = next(f.name for f in q.detail_fields if f.kind is DetailFieldKind.TEKST)
            answer["detail"] = {**answer.get("detail", {}), tekst: long_text}
    else:
        field = "met_wie" if q.shape is AnswerShape.JA_NEE_MET_WIE else "domeinen"
        answer = {**answer, "antwoord": "ja", field: [draw(st.text(min_size=1, max_size=30))]}
        answer[field] = [v for v in answer[field] if v not in _closed_list(field)] or [
            "vrije tekst"
        ]
    return Given(answer, False)


def _closed_list(field: str) -> set[str]:
    return {p.value for p in Partner} if field == "met_wie" else {d.value for d in LifeDomain}


def _any_content(field: str) -> st.SearchStrategy[Any]:
    if field == "met_wie":
        return st.lists(st.sampled_from([p.value for p in Partner]), min_size=1, unique=True)
    if field == "domeinen":
        return st.lists(st.sampled_from([d.value for d in LifeDomain]), min_size=1, unique=True)
    if field == "toelichting":
        return st.text(min_size=1, max_size=40)
    return st.dictionaries(
        names, st.booleans() | st.integers(0, 9) | st.text(min_size=1), min_size=1
    )


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[QuestionSet, dict[str, Given]]:
    partner, colour = draw(st.sampled_from(asked_pairs()))
    qs = question_set(partner, colour)
    given = {str(q.question_id): draw(st.one_of(permitted(q), richer(q))) for q in qs.questions}
    return qs, given


def _content(item: Any) -> set[str]:
    return {f for f in CONTENT_FIELDS if getattr(item, f) not in (None, (), {}, "")}


async def _answer(qs: QuestionSet, given: dict[str, Given], tmp: Path) -> Any:
    def script(request: LookupRequest) -> Sequence[LookupAnswer]:
        return [g.answer for g in given.values()]

    store = await AdapterStore.open(tmp, qs.partner)
    try:
        outcome = await answer_question_set(qs, ScriptedLookup(script), store)
        status = await store.status(qs.created_at)
        open_ids = {oq.question.question_id for oq in await store.open_questions(qs.created_at)}
    finally:
        await store.close()
    return outcome, status, open_ids


@PROPERTY_SETTINGS
@given(scenarios())
async def test_nothing_richer_than_the_shape_leaves_and_permitted_answers_do(
    scenario: tuple[QuestionSet, dict[str, Given]],
) -> None:
    qs, given = scenario
    outcome, status, open_ids = await _answer(qs, given, Path(":memory:"))

    sent = (
        {} if outcome.message is None else {str(i.question_id): i for i in outcome.message.answers}
    )
    for question in qs.questions:
        qid = str(question.question_id)
        if given[qid].permitted:
            assert qid in sent, given[qid]
            assert sent[qid] == check_answer(question, given[qid].answer, qs.colour)
        else:
            assert qid not in sent, given[qid]
            assert question.question_id in {r.question_id for r in outcome.refusals}
            assert question.question_id in open_ids
    for qid, item in sent.items():
        question = next(q for q in qs.questions if str(q.question_id) == qid)
        assert _content(item) <= permitted_fields(question.shape)
        assert item.antwoord is YesNo.JA or _content(item) == set()
    assert status.refused_at_source == sum(not g.permitted for g in given.values())


@PROPERTY_SETTINGS
@given(st.sampled_from(asked_pairs()), st.data())
async def test_a_permitted_answer_always_leaves(
    pair: tuple[Partner, Colour], data: st.DataObject
) -> None:
    qs = question_set(*pair)
    given = {str(q.question_id): data.draw(permitted(q)) for q in qs.questions}
    outcome, status, open_ids = await _answer(qs, given, Path(":memory:"))

    assert outcome.message is not None
    assert len(outcome.message.answers) == len(qs.questions)
    assert (status.refused_at_source, open_ids) == (0, set())
