"""Turning question rows into wire questions and question sets."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

from contracts.enums import AnswerShape, Colour, Partner, SubjectRole
from contracts.messages import Question, QuestionSet, Subject
from contracts.policy import DetailField, PolicyRef
from handlers.db.tables import CaseRow, QuestionRow, RoundRow

__all__ = ["question_set_for", "subjects_for", "to_wire_question"]


def to_wire_question(row: QuestionRow) -> Question:
    return Question(
        question_id=uuid.UUID(row.id),
        key=row.key,
        subject_ref=row.subject_ref,
        text=row.text,
        shape=AnswerShape(row.shape),
        detail_fields=tuple(DetailField.model_validate(f) for f in row.detail_fields),
        text_limit=row.text_limit,
    )


def subjects_for(case: CaseRow, colour: Colour) -> list[Subject]:
    """The youth, and in oranje/rood the family members: name and date of birth only."""
    subjects = [
        Subject(
            subject_ref="jongere",
            role=SubjectRole.JONGERE,
            naam=case.naam,
            geboortedatum=case.geboortedatum,
            adres=case.adres,
            adres_reden=case.adres_reden,
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


def question_set_for(
    round_row: RoundRow,
    case: CaseRow,
    partner: Partner,
    questions: Sequence[QuestionRow],
    *,
    message_id: uuid.UUID,
    now: dt.datetime,
) -> QuestionSet:
    """One partner's question set: only the subjects its questions are about."""
    colour = Colour(round_row.colour)
    asked_about = {q.subject_ref for q in questions} | {"jongere"}
    return QuestionSet(
        message_id=message_id,
        round_id=uuid.UUID(round_row.id),
        correlation_id=uuid.UUID(round_row.correlation_id),
        policy=PolicyRef(id=round_row.policy_id, version=round_row.policy_version),
        created_at=now,
        partner=partner,
        colour=colour,
        deadline=round_row.deadline,
        subjects=tuple(s for s in subjects_for(case, colour) if s.subject_ref in asked_about),
        questions=tuple(to_wire_question(q) for q in questions),
    )
