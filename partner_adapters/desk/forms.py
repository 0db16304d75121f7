"""One form per question, built from the question's permitted shape and nothing else, and
the way back: a posted form as the answer fields `contracts.check_answer` judges.

| shape | inputs (besides `csrf_token`) |
|---|---|
| `ja_nee` | `antwoord` (radio ja/nee) |
| `ja_nee_met_wie` | `antwoord`, `met_wie` (a checkbox per organisation) |
| `ja_nee_domeinen` | `antwoord`, `domeinen` (a checkbox per life domain, the closed list) |
| `ja_nee_toelichting` | `antwoord`, `toelichting` (text area, `maxlength` = the limit) |
| `detail` | `antwoord`, `detail.<name>` per named field (see below) |

A detail field is ja/nee/leeg radios (`ja_nee`), a number >= 0 (`aantal`) or a text area
(`tekst`).

Reading a post does not judge it: every name the form vocabulary knows becomes the answer
field it stands for, as posted, and `check_answer` decides (a `toelichting` on a `ja_nee`
question, domains on `nee`, an unknown domain, a long text, ...). Only names outside the
vocabulary (no answer has them) are refused here, as `extra_field`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import FormData

from contracts import AnswerShape, LifeDomain, Partner, Question, RefusalReason, YesNo
from contracts.errors import safe_name
from contracts.policy.model import DetailFieldKind
from partner_adapters.desk.csrf import FIELD as CSRF_FIELD
from partner_adapters.desk.wording import DOMAIN_LABELS, detail_label

__all__ = [
    "Choice",
    "DetailInput",
    "FormRefused",
    "QuestionForm",
    "TextInput",
    "answer_from_form",
    "form_ids",
    "question_form",
]

DETAIL_PREFIX = "detail."
_MAX_DIGITS = 9
_ID_UNSAFE = re.compile(r"[^a-z0-9-]+")


class FormRefused(Exception):
    """The post has a field no answer has: refused before any check, nothing recorded."""

    def __init__(self, reason: RefusalReason, field: str | None) -> None:
        super().__init__(reason.value)
        self.reason = reason
        self.field = field


@dataclass(frozen=True, slots=True)
class Choice:
    value: str
    label: str
    id: str
    checked: bool = False


@dataclass(frozen=True, slots=True)
class TextInput:
    name: str
    id: str
    label: str
    limit: int | None
    value: str = ""

    @property
    def counter_id(self) -> str:
        return f"{self.id}-teller"

    @property
    def hint_id(self) -> str:
        return f"{self.id}-hint"


@dataclass(frozen=True, slots=True)
class DetailInput:
    """One named detail field: `choices` for ja_nee, `number` for aantal, `text` for tekst."""

    name: str
    kind: DetailFieldKind
    label: str
    id: str
    choices: tuple[Choice, ...] = ()
    number: TextInput | None = None
    text: TextInput | None = None


@dataclass(frozen=True, slots=True)
class QuestionForm:
    """What the template renders for one open, answerable question."""

    question: Question
    form_id: str
    antwoord: tuple[Choice, ...]
    met_wie: tuple[Choice, ...] = ()
    domeinen: tuple[Choice, ...] = ()
    toelichting: TextInput | None = None
    detail: tuple[DetailInput, ...] = ()
    error: str | None = None

    @property
    def shape(self) -> str:
        return self.question.shape.value

    @property
    def has_follow_up(self) -> bool:
        """Whether a `ja` may carry more (shown after `ja` with JavaScript)."""
        return self.question.shape is not AnswerShape.JA_NEE


def form_ids(questions: Sequence[Question]) -> list[str]:
    """A stable, readable id per question of a set: `vraag-<key>-<subject_ref>` (made unique
    with a number when a set asks one key twice about one person). No personal data."""
    ids: list[str] = []
    for question in questions:
        base = _ID_UNSAFE.sub("-", f"vraag-{question.key}-{question.subject_ref}".lower())
        candidate, n = base, 2
        while candidate in ids:
            candidate, n = f"{base}-{n}", n + 1
        ids.append(candidate)
    return ids


def _one(form: FormData | None, name: str) -> str:
    if form is None:
        return ""
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _many(form: FormData | None, name: str) -> set[str]:
    if form is None:
        return set()
    return {v for v in form.getlist(name) if isinstance(v, str)}


def question_form(
    question: Question, form_id: str, *, posted: FormData | None = None, error: str | None = None
) -> QuestionForm:
    """The form for `question` (its effective, policy-scoped version), filled with what was
    posted when it is shown again with an error."""
    chosen = _one(posted, "antwoord")
    antwoord = tuple(
        Choice(v.value, v.value.capitalize(), f"{form_id}-antwoord-{v.value}", chosen == v.value)
        for v in YesNo
    )
    shape = question.shape
    met_wie: tuple[Choice, ...] = ()
    domeinen: tuple[Choice, ...] = ()
    toelichting = None
    detail: tuple[DetailInput, ...] = ()
    if shape is AnswerShape.JA_NEE_MET_WIE:
        picked = _many(posted, "met_wie")
        met_wie = tuple(
            Choice(p.value, p.organisation, f"{form_id}-met-wie-{p.value}", p.value in picked)
            for p in Partner
        )
    elif shape is AnswerShape.JA_NEE_DOMEINEN:
        picked = _many(posted, "domeinen")
        domeinen = tuple(
            Choice(d.value, DOMAIN_LABELS[d], f"{form_id}-domein-{d.value}", d.value in picked)
            for d in LifeDomain
        )
    elif shape is AnswerShape.JA_NEE_TOELICHTING:
        toelichting = TextInput(
            "toelichting",
            f"{form_id}-toelichting",
            "Toelichting",
            question.text_limit,
            _one(posted, "toelichting"),
        )
    elif shape is AnswerShape.DETAIL:
        detail = tuple(
            _detail_input(question, f.name, f.kind, form_id, posted) for f in question.detail_fields
        )
    return QuestionForm(
        question=question,
        form_id=form_id,
        antwoord=antwoord,
        met_wie=met_wie,
        domeinen=domeinen,
        toelichting=toelichting,
        detail=detail,
        error=error,
    )


def _detail_input(
    question: Question, name: str, kind: DetailFieldKind, form_id: str, posted: FormData | None
) -> DetailInput:
    input_name = DETAIL_PREFIX + name
    base = f"{form_id}-detail-{_ID_UNSAFE.sub('-', name.lower())}"
    label = detail_label(name)
    value = _one(posted, input_name)
    if kind is DetailFieldKind.JA_NEE:
        options = (("ja", "Ja"), ("nee", "Nee"), ("", "Niet invullen"))
        choices = tuple(Choice(v, text, f"{base}-{v or 'leeg'}", value == v) for v, text in options)
        return DetailInput(name, kind, label, base, choices=choices)
    if kind is DetailFieldKind.AANTAL:
        return DetailInput(
            name, kind, label, base, number=TextInput(input_name, base, label, None, value)
        )
    text = TextInput(input_name, base, label, question.text_limit, value)
    return DetailInput(name, kind, label, base, text=text)


def _text(value: str) -> str:
    """A text area's value as typed: browsers send line breaks as CRLF (which `maxlength`
    counted as one character each)."""
    return value.replace("\r\n", "\n").replace("\r", "\n").strip()


def _single(values: list[str]) -> Any:
    return values[0] if len(values) == 1 else values  # twice posted: check_answer refuses


def answer_from_form(form: FormData, question: Question) -> dict[str, Any]:
    """The answer fields a post stands for (without `question_id`), unjudged."""
    kinds = {f.name: f.kind for f in question.detail_fields}
    given: dict[str, Any] = {}
    detail: dict[str, Any] = {}
    for name in dict.fromkeys(form.keys()):
        values = [v for v in form.getlist(name) if isinstance(v, str)]
        if len(values) != len(form.getlist(name)):  # an uploaded file
            raise FormRefused(RefusalReason.INVALID_VALUE, safe_name(name))
        if name == CSRF_FIELD:
            continue
        if name == "antwoord":
            given["antwoord"] = _single(values)
        elif name in ("met_wie", "domeinen"):
            given[name] = values
        elif name == "toelichting":
            given[name] = _text(values[0]) if len(values) == 1 else values
        elif name.startswith(DETAIL_PREFIX) and len(name) > len(DETAIL_PREFIX):
            field_name = name.removeprefix(DETAIL_PREFIX)
            if len(values) != 1:
                detail[field_name] = values
            elif (typed := _detail_value(kinds.get(field_name), values[0])) is not None:
                detail[field_name] = typed
        else:
            raise FormRefused(RefusalReason.EXTRA_FIELD, safe_name(name))
    if detail:
        given["detail"] = detail
    return given


def _detail_value(kind: DetailFieldKind | None, raw: str) -> Any:
    """The value as its field's kind; None for an empty field (left out); anything that does
    not fit stays text, for the check to refuse."""
    value = _text(raw)
    if value == "":
        return None
    if kind is DetailFieldKind.JA_NEE and value in (YesNo.JA.value, YesNo.NEE.value):
        return value == YesNo.JA.value
    if kind is DetailFieldKind.AANTAL and value.isascii() and value.isdigit():
        return int(value) if len(value) <= _MAX_DIGITS else value
    return value
