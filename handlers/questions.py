"""Turning question rows into wire questions and question sets."""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from collections.abc import Sequence

from contracts.enums import AnswerShape, Colour, Partner, SubjectRole
from contracts.messages import Question, QuestionSet, Subject
from contracts.policy import DetailField, Policy, PolicyRef
from handlers.db.tables import CaseRow, QuestionRow, RoundRow

__all__ = [
    "AddressNeeds",
    "RoundSubjects",
    "address_needs",
    "question_set_for",
    "subjects_for",
    "to_wire_question",
]

# (partner, key) of the questions that need the youth's address to be answered.
AddressNeeds = frozenset[tuple[str, str]]


def address_needs(policy: Policy, colour: Colour) -> AddressNeeds:
    """The questions asked at `colour` that the policy marks `needs_address`: only a partner
    asked one of them gets the youth's address (and its reason), and never in groen."""
    if colour is Colour.GROEN:
        return frozenset()
    return frozenset(
        (q.partner.value, q.key)
        for q in policy.asked(colour, subject=SubjectRole.JONGERE)
        if q.needs_address
    )


def to_wire_question(row: QuestionRow) -> Question:
    """The wire form of a question row. Rows with the same content (a policy has a few dozen
    questions) share one validated template, copied with the row's own id: opening a round
    and checking each answer need it, and validating it anew each time was about 6% of the
    service's CPU at capacity."""
    template = _question_template(
        row.key,
        row.subject_ref,
        row.text,
        row.shape,
        tuple(tuple(field.items()) for field in row.detail_fields),
        row.text_limit,
    )
    return template.model_copy(update={"question_id": uuid.UUID(row.id)})


# Any id: a template is never sent, only copied with a row's id.
_TEMPLATE_ID = uuid.UUID(int=0)


@functools.lru_cache(maxsize=1024)
def _question_template(
    key: str,
    subject_ref: str,
    text: str,
    shape: str,
    detail_fields: tuple[tuple[tuple[str, str], ...], ...],
    text_limit: int | None,
) -> Question:
    return Question(
        question_id=_TEMPLATE_ID,
        key=key,
        subject_ref=subject_ref,
        text=text,
        shape=AnswerShape(shape),
        detail_fields=tuple(DetailField.model_validate(dict(f)) for f in detail_fields),
        text_limit=text_limit,
    )


def subjects_for(case: CaseRow, colour: Colour, *, with_address: bool = False) -> list[Subject]:
    """The youth, and in oranje/rood the family members: name and date of birth only. The
    youth's address and its reason only `with_address`, and never in groen."""
    send_address = with_address and colour is not Colour.GROEN and case.adres is not None
    subjects = [
        Subject(
            subject_ref="jongere",
            role=SubjectRole.JONGERE,
            naam=case.naam,
            geboortedatum=case.geboortedatum,
            adres=case.adres if send_address else None,
            adres_reden=case.adres_reden if send_address else None,
        )
    ]
    if colour is not Colour.GROEN:
        subjects += [
            Subject(
                subject_ref=f"gezinslid-{m.ordinal}",
                role=SubjectRole.GEZINSLID,
                naam=m.naam,
                geboortedatum=m.geboortedatum,
            )
            for m in case.family
        ]
    return subjects


class RoundSubjects:
    """The subjects a round may disclose (`subjects_for`), built once for all the question sets
    of the round: with the address and without it."""

    def __init__(self, case: CaseRow, colour: Colour) -> None:
        self._case = case
        self._colour = colour
        self._built: dict[bool, list[Subject]] = {}

    def get(self, *, with_address: bool) -> list[Subject]:
        built = self._built.get(with_address)
        if built is None:
            built = subjects_for(self._case, self._colour, with_address=with_address)
            self._built[with_address] = built
        return built


def question_set_for(
    round_row: RoundRow,
    subjects: RoundSubjects,
    partner: Partner,
    questions: Sequence[QuestionRow],
    *,
    message_id: uuid.UUID,
    now: dt.datetime,
    address_for: AddressNeeds = frozenset(),
) -> QuestionSet:
    """One partner's question set: of the round's `subjects`, only those its questions are
    about, and the youth's address only if one of its questions is in `address_for` (see
    `address_needs()`)."""
    colour = Colour(round_row.colour)
    asked_about = {q.subject_ref for q in questions} | {"jongere"}
    with_address = any((q.partner, q.key) in address_for for q in questions)
    everyone = subjects.get(with_address=with_address)
    return QuestionSet(
        message_id=message_id,
        round_id=uuid.UUID(round_row.id),
        correlation_id=uuid.UUID(round_row.correlation_id),
        policy=PolicyRef(id=round_row.policy_id, version=round_row.policy_version),
        created_at=now,
        partner=partner,
        colour=colour,
        deadline=round_row.deadline,
        subjects=tuple(s for s in everyone if s.subject_ref in asked_about),
        questions=tuple(to_wire_question(q) for q in questions),
    )
