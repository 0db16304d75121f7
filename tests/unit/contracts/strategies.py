"""Hypothesis strategies for the contracts: wire messages, and answers a question permits."""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID

from hypothesis import settings
from hypothesis import strategies as st

from contracts import (
    AnswerItem,
    AnswerShape,
    Colour,
    Completion,
    LifeDomain,
    OpenRoundCommand,
    OutcomeStatus,
    Partner,
    PartnerAnswer,
    PartnerResult,
    PolicyRef,
    Question,
    QuestionOutcome,
    QuestionSet,
    RecordPosition,
    RefusalNotice,
    RefusalReason,
    RefusedItem,
    RoundResult,
    Subject,
    SubjectRole,
    YesNo,
    permitted_fields,
)
from contracts.answers import ANSWER_FIELDS
from contracts.policy import DetailField, DetailFieldKind

__all__ = [
    "CONTENT_FIELDS",
    "SETTINGS",
    "answer_items",
    "content_value",
    "json_values",
    "open_round_commands",
    "partner_answers",
    "permitted_answers",
    "permitted_content",
    "question_sets",
    "questions",
    "refusal_notices",
    "round_results",
    "wire_messages",
]

# Property tests run once per policy question and colour (~60 cases), and the same few forms recur
# across partners, so each case runs a tenth of the profile's examples (`--hypothesis-profile`).
SETTINGS = settings(max_examples=max(10, settings().max_examples // 10), deadline=None)
CONTENT_FIELDS = ("met_wie", "domeinen", "toelichting", "detail")

utc_datetimes = st.datetimes(timezones=st.just(dt.UTC))
keys = st.from_regex(r"[a-z][a-z0-9_]{0,30}", fullmatch=True)
policy_refs = st.builds(
    PolicyRef, id=st.from_regex(r"\A[a-z0-9][a-z0-9-]{0,63}\Z"), version=st.integers(min_value=1)
)
detail_values: st.SearchStrategy[bool | int | str] = st.booleans() | st.integers() | st.text()
json_values: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=6,
)


def _envelope() -> dict[str, Any]:
    return {
        "message_id": st.uuids(),
        "round_id": st.uuids(),
        "correlation_id": st.uuids(),
        "policy": policy_refs,
        "created_at": utc_datetimes,
    }


# --- question sets ----------------------------------------------------------------------------


def _subject(ref: str) -> st.SearchStrategy[Subject]:
    role = SubjectRole.JONGERE if ref == "jongere" else SubjectRole.GEZINSLID
    address = st.none() | st.tuples(
        st.text(min_size=1, max_size=200), st.text(min_size=1, max_size=280)
    )
    return st.builds(
        lambda naam, geboortedatum, adres: Subject(
            subject_ref=ref,
            role=role,
            naam=naam,
            geboortedatum=geboortedatum,
            adres=adres[0] if adres else None,
            adres_reden=adres[1] if adres else None,
        ),
        st.text(min_size=1, max_size=200),
        st.dates(),
        address,
    )


detail_field_sets = st.lists(
    st.builds(DetailField, name=keys, kind=st.sampled_from(DetailFieldKind)),
    min_size=1,
    max_size=4,
    unique_by=lambda f: f.name,
).map(tuple)


@st.composite
def questions(
    draw: st.DrawFn, subject_refs: tuple[str, ...] = ("jongere",), shape: AnswerShape | None = None
) -> Question:
    shape = shape or draw(st.sampled_from(AnswerShape))
    fields = draw(detail_field_sets) if shape is AnswerShape.DETAIL else ()
    # A question whose answer may carry text must state its limit; others may or may not.
    carries_text = shape is AnswerShape.JA_NEE_TOELICHTING or any(
        f.kind is DetailFieldKind.TEKST for f in fields
    )
    limits = st.integers(min_value=1, max_value=2000)
    return Question(
        question_id=draw(st.uuids()),
        key=draw(keys),
        subject_ref=draw(st.sampled_from(subject_refs)),
        text=draw(st.text(min_size=1, max_size=500)),
        shape=shape,
        detail_fields=fields,
        text_limit=draw(limits if carries_text else st.none() | limits),
    )


@st.composite
def question_sets(draw: st.DrawFn) -> QuestionSet:
    colour = draw(st.sampled_from(Colour))
    members = 0 if colour is Colour.GROEN else draw(st.integers(0, 3))
    refs = ("jongere", *(f"gezinslid-{n}" for n in range(1, members + 1)))
    qs = draw(st.lists(questions(refs), min_size=1, max_size=4, unique_by=lambda q: q.question_id))
    return QuestionSet(
        **{name: draw(s) for name, s in _envelope().items()},
        partner=draw(st.sampled_from(Partner)),
        colour=colour,
        deadline=draw(utc_datetimes),
        subjects=tuple(draw(_subject(ref)) for ref in refs),
        questions=tuple(qs),
    )


# --- answers ----------------------------------------------------------------------------------


def answer_items(
    question_id: st.SearchStrategy[UUID] | None = None,
) -> st.SearchStrategy[AnswerItem]:
    """Any well-typed AnswerItem, whatever shape it would fit."""
    return st.builds(
        AnswerItem,
        question_id=question_id or st.uuids(),
        antwoord=st.sampled_from(YesNo),
        met_wie=st.none() | st.lists(st.sampled_from(Partner), max_size=4).map(tuple),
        domeinen=st.none() | st.lists(st.sampled_from(LifeDomain), max_size=4).map(tuple),
        toelichting=st.none() | st.text(),
        detail=st.none() | st.dictionaries(keys, detail_values, max_size=3),
    )


def _detail_value(kind: DetailFieldKind, limit: int | None) -> st.SearchStrategy[bool | int | str]:
    if kind is DetailFieldKind.JA_NEE:
        return st.booleans()
    if kind is DetailFieldKind.AANTAL:
        return st.integers(min_value=0)
    return st.text(min_size=1, max_size=limit)


def permitted_content(q: Question) -> st.SearchStrategy[dict[str, Any]]:
    """Non-empty content that a 'ja' to `q` may carry."""
    if q.shape is AnswerShape.JA_NEE_MET_WIE:
        members = st.lists(st.sampled_from(Partner), min_size=1, unique=True)
        return members.map(lambda m: {"met_wie": tuple(m)})
    if q.shape is AnswerShape.JA_NEE_DOMEINEN:
        domains = st.lists(st.sampled_from(LifeDomain), min_size=1, unique=True)
        return domains.map(lambda d: {"domeinen": tuple(d)})
    if q.shape is AnswerShape.JA_NEE_TOELICHTING:
        return st.text(min_size=1, max_size=q.text_limit).map(lambda t: {"toelichting": t})
    if q.shape is AnswerShape.DETAIL:
        fields = {f.name: _detail_value(f.kind, q.text_limit) for f in q.detail_fields}
        detail = st.fixed_dictionaries({}, optional=fields).filter(bool)
        return detail.map(lambda d: {"detail": d})
    return st.nothing()


def permitted_answers(q: Question) -> st.SearchStrategy[AnswerItem]:
    """Answers within `q`'s shape: a bare 'nee' or 'ja', or a 'ja' with permitted content."""

    def item(antwoord: YesNo, content: dict[str, Any]) -> AnswerItem:
        return AnswerItem(question_id=q.question_id, antwoord=antwoord, **content)

    bare = st.sampled_from(YesNo).map(lambda a: item(a, {}))
    return bare | permitted_content(q).map(lambda c: item(YesNo.JA, c))


def content_value(field: str) -> st.SearchStrategy[Any]:
    """A non-empty, well-typed JSON value for a content field (as a partner would send it)."""
    if field == "met_wie":
        return st.lists(st.sampled_from([p.value for p in Partner]), min_size=1, unique=True)
    if field == "domeinen":
        return st.lists(st.sampled_from([d.value for d in LifeDomain]), min_size=1, unique=True)
    if field == "toelichting":
        return st.text(min_size=1, max_size=50)
    return st.dictionaries(keys, detail_values, min_size=1, max_size=3)


def not_permitted_fields(shape: AnswerShape) -> list[str]:
    return [f for f in CONTENT_FIELDS if f not in permitted_fields(shape)]


# `signature` is a field of every item too: the receiver verifies it (contracts.signing).
unknown_field_names = st.text(min_size=1).filter(
    lambda name: name not in ANSWER_FIELDS and name != "signature"
)


# --- the other wire messages ------------------------------------------------------------------


def partner_answers() -> st.SearchStrategy[PartnerAnswer]:
    return st.builds(
        PartnerAnswer,
        **_envelope(),
        partner=st.sampled_from(Partner),
        in_reply_to=st.uuids(),
        answers=st.lists(answer_items(), min_size=1, max_size=4).map(tuple),
    )


def refusal_notices() -> st.SearchStrategy[RefusalNotice]:
    envelope = _envelope()
    items = st.builds(
        RefusedItem,
        question_id=st.none() | st.uuids(),
        reason=st.sampled_from(RefusalReason),
        field=st.none() | st.text(),
    )
    return st.builds(
        RefusalNotice,
        message_id=envelope["message_id"],
        created_at=envelope["created_at"],
        round_id=st.none() | envelope["round_id"],
        correlation_id=st.none() | envelope["correlation_id"],
        policy=st.none() | envelope["policy"],
        partner=st.sampled_from(Partner),
        in_reply_to=st.none() | st.uuids(),
        source=st.builds(
            RecordPosition,
            topic=st.text(min_size=1, max_size=40),
            partition=st.integers(min_value=0, max_value=1000),
            offset=st.integers(min_value=0),
        ),
        reason=st.sampled_from(RefusalReason),
        items=st.lists(items, max_size=3).map(tuple),
        colour=st.none() | st.sampled_from(Colour),
        detail=st.none() | st.text(max_size=500),
        explanation=st.text(),
    )


@st.composite
def _outcomes(draw: st.DrawFn) -> QuestionOutcome:
    status = draw(st.sampled_from(OutcomeStatus))
    answered = status is OutcomeStatus.ANSWERED
    return QuestionOutcome(
        question_id=draw(st.none() | st.uuids()),
        key=draw(keys),
        subject_ref=draw(st.sampled_from(["jongere", "gezinslid-1", "gezinslid-12"])),
        shape=draw(st.sampled_from(AnswerShape)),
        status=status,
        answer=draw(answer_items()) if answered else None,
    )


def round_results() -> st.SearchStrategy[RoundResult]:
    partner_results = st.builds(
        PartnerResult,
        partner=st.sampled_from(Partner),
        questions=st.lists(_outcomes(), max_size=3).map(tuple),
    )
    return st.builds(
        RoundResult,
        **_envelope(),
        case_id=st.uuids(),
        colour=st.sampled_from(Colour),
        completion=st.sampled_from(Completion),
        opened_at=utc_datetimes,
        completed_at=utc_datetimes,
        partners=st.lists(partner_results, max_size=3).map(tuple),
    )


def open_round_commands() -> st.SearchStrategy[OpenRoundCommand]:
    return st.builds(
        OpenRoundCommand,
        **_envelope(),
        case_id=st.uuids(),
        colour=st.sampled_from(Colour),
        requested_by=st.text(min_size=1, max_size=100),
    )


def wire_messages() -> st.SearchStrategy[Any]:
    return st.one_of(
        question_sets(),
        partner_answers(),
        refusal_notices(),
        round_results(),
        open_round_commands(),
    )
