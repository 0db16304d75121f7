"""Question sets built from the policy, about the synthetic people of the reference data."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

from contracts import (
    Colour,
    Partner,
    Policy,
    Question,
    QuestionSet,
    RecordPosition,
    RefusalNotice,
    RefusalReason,
    RefusedItem,
    Subject,
    SubjectRole,
    haarlem_policy,
)
from partner_adapters.reference import CAST, SyntheticPerson

__all__ = [
    "BRAM",
    "DAAN",
    "NOOR",
    "SEM",
    "asked_pairs",
    "person",
    "question_set",
]


def person(naam: str) -> SyntheticPerson:
    return next(p for p in CAST if p.naam == naam)


SEM = person("Sem Testbeek")
DAAN = person("Daan Voorbeeldsma")
NOOR = person("Noor Testbeek")
BRAM = person("Bram Testbeek")

POLICY = haarlem_policy()


def asked_pairs(policy: Policy = POLICY) -> list[tuple[Partner, Colour]]:
    """Every (partner, colour) in which the partner is asked anything."""
    return [(p, c) for c in Colour for p in policy.partners(c)]


def question_set(
    partner: Partner,
    colour: Colour,
    *,
    youth: SyntheticPerson = SEM,
    family: Sequence[SyntheticPerson] = (NOOR, BRAM),
    policy: Policy = POLICY,
    deadline: dt.datetime | None = None,
    message_id: uuid.UUID | None = None,
    round_id: uuid.UUID | None = None,
    question_ids: dict[str, uuid.UUID] | None = None,
) -> QuestionSet:
    """Every question the policy asks `partner` at `colour`, about the youth and (oranje and
    rood only) each family member, with the text limits the municipality would send."""
    subjects = [_subject("jongere", youth)]
    if colour is not Colour.GROEN:
        subjects += [_subject(f"gezinslid-{i}", p) for i, p in enumerate(family, start=1)]
    questions = []
    for asked in policy.asked(colour, partner):
        for subject in subjects:
            if subject.role is not asked.subject:
                continue
            ref = f"{asked.key}/{subject.subject_ref}"
            questions.append(
                Question(
                    question_id=(question_ids or {}).get(ref, uuid.uuid4()),
                    key=asked.key,
                    subject_ref=subject.subject_ref,
                    text=asked.text,
                    shape=asked.shape,
                    detail_fields=asked.detail_fields,
                    text_limit=policy.text_limit(asked.shape),
                )
            )
    round_id = round_id or uuid.uuid4()
    return QuestionSet(
        message_id=message_id or uuid.uuid4(),
        round_id=round_id,
        correlation_id=round_id,
        policy=policy.ref,
        partner=partner,
        colour=colour,
        deadline=deadline or dt.datetime.now(dt.UTC) + dt.timedelta(days=10),
        subjects=tuple(subjects),
        questions=tuple(questions),
    )


def _subject(ref: str, who: SyntheticPerson) -> Subject:
    role = SubjectRole.JONGERE if ref == "jongere" else SubjectRole.GEZINSLID
    return Subject(subject_ref=ref, role=role, naam=who.naam, geboortedatum=who.geboortedatum)


def refusal_notice(qs: QuestionSet, *, field: str = "toelichting") -> RefusalNotice:
    """The municipality's notice that the answer to `qs`'s first question carried `field`."""
    reason = RefusalReason.FIELD_NOT_PERMITTED
    return RefusalNotice(
        round_id=qs.round_id,
        correlation_id=qs.correlation_id,
        policy=qs.policy,
        partner=qs.partner,
        in_reply_to=uuid.uuid4(),
        source=RecordPosition(topic=f"iaj.answers.{qs.partner.value}", partition=0, offset=7),
        reason=reason,
        items=(RefusedItem(question_id=qs.questions[0].question_id, reason=reason, field=field),),
        colour=qs.colour,
        explanation=reason.explanation,
    )
