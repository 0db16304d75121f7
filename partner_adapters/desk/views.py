"""What the desk's pages show, prepared from the state file's records (no I/O here)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from uuid import UUID

from starlette.datastructures import FormData

from contracts import Partner, Policy, Question
from partner_adapters.desk.forms import QuestionForm, form_ids, question_form
from partner_adapters.desk.wording import (
    COLOUR_LABELS,
    format_date,
    format_moment,
    municipal_refusal_text,
    policy_refusal_text,
    role_label,
    shape_hint,
    waiting_text,
)
from partner_adapters.lookup import LookupSubject
from partner_adapters.state import OpenQuestion, Refusal
from partner_adapters.state.desk import (
    MunicipalRefusalNote,
    PendingSet,
    RecentAnswer,
    SetDetail,
    SetQuestion,
)
from partner_adapters.views import effective_question

__all__ = [
    "DeliveryState",
    "FormError",
    "PersonView",
    "QuestionView",
    "RecentView",
    "SetRowView",
    "SetView",
    "answer_href",
    "list_rows",
    "recent_rows",
    "set_href",
    "set_view",
]


def set_href(question_set_id: UUID) -> str:
    """A question set's page. The id is the municipality's random message id: no name."""
    return f"/vragensets/{question_set_id}"


def answer_href(question_set_id: UUID, question_id: UUID) -> str:
    return f"{set_href(question_set_id)}/vragen/{question_id}"


@dataclass(frozen=True, slots=True)
class PersonView:
    naam: str
    geboortedatum: str
    role: str

    @classmethod
    def of(cls, subject: LookupSubject) -> PersonView:
        return cls(
            subject.naam, format_date(subject.geboortedatum), role_label(subject.subject_ref)
        )


@dataclass(frozen=True, slots=True)
class SetRowView:
    question_set_id: UUID
    href: str
    colour: str
    colour_label: str
    youth: PersonView | None
    family: tuple[PersonView, ...]
    open_questions: int
    waiting: str
    received: str
    deadline: str


def _people(subjects: Sequence[LookupSubject]) -> tuple[PersonView | None, tuple[PersonView, ...]]:
    youth = next((PersonView.of(s) for s in subjects if s.subject_ref == "jongere"), None)
    family = tuple(PersonView.of(s) for s in subjects if s.subject_ref != "jongere")
    return youth, family


def list_rows(sets: Sequence[PendingSet], now: dt.datetime) -> list[SetRowView]:
    rows = []
    for pending in sets:
        youth, family = _people(pending.subjects)
        rows.append(
            SetRowView(
                question_set_id=pending.question_set_id,
                href=set_href(pending.question_set_id),
                colour=pending.colour.value,
                colour_label=COLOUR_LABELS[pending.colour],
                youth=youth,
                family=family,
                open_questions=pending.open_questions,
                waiting=waiting_text(pending.received_at, now),
                received=format_moment(pending.received_at),
                deadline=format_moment(pending.deadline),
            )
        )
    return rows


@dataclass(frozen=True, slots=True)
class DeliveryState:
    """What became of an answer: `verzonden`, `vastgelegd` (not sent yet), `ingetrokken`
    (withdrawn before it was sent), and the municipality's refusal if one came back."""

    code: str
    label: str
    refusal: str | None


def _delivery(
    in_outbox: bool, sent_at: dt.datetime | None, refusal: MunicipalRefusalNote | None
) -> DeliveryState:
    refused = None
    if refusal is not None:
        refused = (
            f"De gemeente heeft dit antwoord geweigerd op {format_moment(refusal.at)}: "
            f"{municipal_refusal_text(refusal.reason)} ({refusal.reason})."
        )
    if sent_at is not None:
        return DeliveryState("verzonden", f"Verzonden op {format_moment(sent_at)}", refused)
    if in_outbox:
        return DeliveryState(
            "vastgelegd", "Vastgelegd, nog niet verzonden: de adapter verstuurt het", refused
        )
    return DeliveryState("ingetrokken", "Niet verzonden: de vraag is ingetrokken", refused)


@dataclass(frozen=True, slots=True)
class RecentView:
    href: str
    at: str
    user: str
    colour_label: str
    question_key: str
    about: str
    delivery: DeliveryState


def recent_rows(answers: Sequence[RecentAnswer]) -> list[RecentView]:
    return [
        RecentView(
            href=set_href(a.question_set_id),
            at=format_moment(a.at),
            user=a.user,
            colour_label=COLOUR_LABELS[a.colour],
            question_key=a.question_key,
            about=role_label(a.subject_ref),
            delivery=_delivery(a.in_outbox, a.sent_at, a.municipal_refusal),
        )
        for a in answers
    ]


@dataclass(frozen=True, slots=True)
class FormError:
    """A post that was refused, to show again with its reason and what was typed."""

    question_id: UUID
    message: str
    posted: FormData


@dataclass(frozen=True, slots=True)
class QuestionView:
    number: int
    form_id: str
    action: str  # where its form posts
    question: Question
    about: PersonView | None
    about_ref: str
    hint: str
    state: str  # "open", "blocked", "expired", "answered"
    form: QuestionForm | None = None
    blocked: str | None = None
    answered: str | None = None
    delivery: DeliveryState | None = None
    source_note: str | None = None
    flash: str | None = None


@dataclass(frozen=True, slots=True)
class SetView:
    question_set_id: UUID
    colour: str
    colour_label: str
    youth: PersonView | None
    family: tuple[PersonView, ...]
    received: str
    waiting: str
    deadline: str
    expired: bool
    open_count: int
    questions: tuple[QuestionView, ...]
    error: str | None = None  # a refused post: its reason, shown above the questions too
    error_anchor: str | None = None  # the refused question's section


_ANSWERED_BY = {"lookup": "door uw eigen systeem", "manual": "met de hand"}


def _source_note(refusal: Refusal | None) -> str | None:
    if refusal is None or refusal.source.value == "policy":
        return None
    by = "Uw eigen systeem" if refusal.source.value == "lookup" else "Een eerder antwoord"
    on = f" ({refusal.field})" if refusal.field else ""
    return (
        f"{by} gaf een antwoord dat niet mocht worden verstuurd{on}; er is niets verstuurd. "
        "Beantwoord de vraag hier."
    )


def set_view(
    detail: SetDetail,
    partner: Partner,
    policy: Policy,
    now: dt.datetime,
    *,
    error: FormError | None = None,
    flash: tuple[UUID, str] | None = None,
) -> SetView:
    expired = detail.deadline <= now
    # Past the deadline names are no longer shown, also before the next write purges them.
    subjects = () if expired else detail.subjects
    youth, family = _people(subjects)
    people = {s.subject_ref: s for s in subjects}
    ids = form_ids([q.question for q in detail.questions])
    views = []
    for number, (item, form_id) in enumerate(zip(detail.questions, ids, strict=True), start=1):
        views.append(
            _question_view(
                detail, item, number, form_id, people, partner, policy, expired, error, flash
            )
        )
    return SetView(
        question_set_id=detail.question_set_id,
        colour=detail.colour.value,
        colour_label=COLOUR_LABELS[detail.colour],
        youth=youth,
        family=family,
        received=format_moment(detail.received_at),
        waiting=waiting_text(detail.received_at, now),
        deadline=format_moment(detail.deadline),
        expired=expired,
        open_count=sum(1 for v in views if v.state == "open"),
        questions=tuple(views),
        error=None if error is None else error.message,
        error_anchor=next(
            (v.form_id for v in views if error and v.question.question_id == error.question_id),
            None,
        ),
    )


def _question_view(
    detail: SetDetail,
    item: SetQuestion,
    number: int,
    form_id: str,
    people: dict[str, LookupSubject],
    partner: Partner,
    policy: Policy,
    expired: bool,
    error: FormError | None,
    flash: tuple[UUID, str] | None,
) -> QuestionView:
    question = item.question
    subject = people.get(question.subject_ref)
    base = QuestionView(
        number=number,
        form_id=form_id,
        action=answer_href(detail.question_set_id, question.question_id),
        question=question,
        about=None if subject is None else PersonView.of(subject),
        about_ref=role_label(question.subject_ref),
        hint=shape_hint(question),
        state="open",
        flash=flash[1] if flash is not None and flash[0] == question.question_id else None,
    )
    if not item.open:
        by = _ANSWERED_BY.get(item.answered_by or "", "")
        when = "" if item.answered_at is None else f" op {format_moment(item.answered_at)}"
        return replace(
            base,
            state="answered",
            answered=" ".join(f"Beantwoord {by}{when}.".split()),
            delivery=_delivery(item.in_outbox, item.sent_at, item.municipal_refusal),
        )
    if expired or subject is None:
        return replace(
            base,
            state="expired",
            blocked="De termijn is verstreken: deze vraag kan niet meer worden beantwoord.",
        )
    open_question = OpenQuestion(
        question_set_id=detail.question_set_id,
        round_id=detail.round_id,
        correlation_id=detail.correlation_id,
        policy=detail.policy,
        colour=detail.colour,
        deadline=detail.deadline,
        question=question,
        subject=subject,
        last_refusal=item.last_refusal,
    )
    scoped = effective_question(open_question, partner, policy)
    if isinstance(scoped, Refusal):
        return replace(base, state="blocked", blocked=policy_refusal_text(scoped.reason))
    mine = error if error is not None and error.question_id == question.question_id else None
    form = question_form(
        scoped,
        form_id,
        posted=None if mine is None else mine.posted,
        error=None if mine is None else mine.message,
    )
    return replace(
        base,
        question=scoped,
        hint=shape_hint(scoped),
        form=form,
        source_note=_source_note(item.last_refusal),
    )
