"""Putting youths on the netto focus list, and recording that they were informed."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, cast

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from sqlalchemy import BindParameter, Table, bindparam, func, select

from contracts.enums import Colour, Criterion, District, Track
from contracts.messages import utc_now
from contracts.policy import Policy
from handlers.db.detached import detached
from handlers.db.in_lists import padded
from handlers.db.tables import CaseRow, FamilyMemberRow, RoundRow
from handlers.db.uow import UnitOfWork
from handlers.errors import CaseRejected, UnknownCase
from handlers.processing_log import log_processing
from handlers.reasons import check_reason

__all__ = [
    "Criterion",
    "FamilyMember",
    "NewCase",
    "age_limit",
    "age_on",
    "check_age",
    "check_informed_on",
    "find_same_person",
    "get_case",
    "load_cases",
    "record_informed",
    "register_case",
    "validate_new_case",
]

# The youngest age at which an informing letter is plausible when the day the youth was put on
# the focus list is not known (reading: the approach is for youths from 12).
LETTER_FROM_AGE = 12


def age_on(born: dt.date, day: dt.date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def age_limit(policy: Policy, track: Track) -> int:
    """The first age `track` no longer takes (the policy's `below_age`): IAJ 23, BIT 28."""
    return policy.track_rule(track).below_age


def check_age(born: dt.date, track: Track, today: dt.date, policy: Policy) -> None:
    """Raise CaseRejected unless a youth born on `born` is within `track`'s age on `today`."""
    if born > today:
        raise CaseRejected("geboortedatum", "the date of birth lies in the future")
    age = age_on(born, today)
    limit = age_limit(policy, track)
    if age >= limit:
        raise CaseRejected(
            "geboortedatum",
            f"age {age} is outside the {track.value.upper()} track, which takes youths aged "
            f"up to and including {limit - 1}",
        )


def _birthday(born: dt.date, age: int) -> dt.date:
    try:
        return born.replace(year=born.year + age)
    except ValueError:  # born on 29 February
        return dt.date(born.year + age, 3, 1)


def check_informed_on(
    on: dt.date, *, born: dt.date, listed_on: dt.date | None, today: dt.date
) -> None:
    """The informing letter is plausible: not in the future, and not before the youth was put
    on the focus list (or, when that day is not known, not before the 12th birthday)."""
    if on > today:
        raise CaseRejected(
            "informed_on", f"the letter date {on} lies in the future: give the day it was sent"
        )
    if listed_on is not None:
        if on < listed_on:
            raise CaseRejected(
                "informed_on",
                f"the letter date {on} lies before the youth was put on the focus list "
                f"({listed_on}): a letter is sent after that decision; check both dates",
            )
    elif on < _birthday(born, LETTER_FROM_AGE):
        raise CaseRejected(
            "informed_on",
            f"the letter date {on} lies before the youth's {LETTER_FROM_AGE}th birthday: "
            "check the date (or give the day the youth was put on the focus list)",
        )


class FamilyMember(BaseModel):
    """A family member: name and date of birth, nothing else."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    naam: str = Field(min_length=1, max_length=200)
    geboortedatum: dt.date


class NewCase(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    naam: str = Field(min_length=1, max_length=200)
    geboortedatum: dt.date
    district: District
    track: Track
    criteria: tuple[Criterion, ...] = Field(min_length=1)
    # The label ("voorlopige kleurcodering") the overleg gave the youth.
    colour: Colour
    adres: str | None = Field(default=None, max_length=200)
    adres_reden: str | None = Field(default=None, max_length=280)
    family: tuple[FamilyMember, ...] = Field(default=(), max_length=20)
    informed_on: dt.date | None = None
    # The day the youth was put on the focus list, if known.
    listed_on: dt.date | None = None

    @field_validator("naam", "adres", "adres_reden", mode="before")
    @classmethod
    def _blank_is_absent(cls, value: object) -> object:
        return (value.strip() or None) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _address_only_with_reason(self) -> NewCase:
        if self.adres and not self.adres_reden:
            raise ValueError("an address is only registered with a reason why it is needed")
        if self.adres_reden and not self.adres:
            raise ValueError("a reason for an address was given, but no address")
        return self

    def check(self, policy: Policy, today: dt.date) -> None:
        """The rules of the policy and of plausibility; CaseRejected names the field."""
        check_age(self.geboortedatum, self.track, today, policy)
        for i, member in enumerate(self.family):  # numbered from 0, as validation errors are
            if member.geboortedatum > today:
                raise CaseRejected(
                    f"family.{i}.geboortedatum",
                    f"the date of birth of family member {i + 1} (in the order given) lies in "
                    "the future; check it",
                )
        refusal = policy.refuses_case(self.track, self.criteria)
        if refusal is not None:
            raise CaseRejected("criteria", f"{refusal}; record the criteria the youth meets")
        refusal = policy.refuses_label(self.track, self.colour, self.criteria)
        if refusal is not None:
            raise CaseRejected(
                "colour", f"{refusal}; record the criterion or choose the label it supports"
            )
        if self.family and not policy.label_rule(self.colour).family:
            raise CaseRejected(
                "family",
                f"family members are registered only for a label that involves the family "
                f"({', '.join(r.colour.value for r in policy.label if r.family)}), "
                f"not {self.colour.value}: leave them out, or register them after relabelling",
            )
        if self.adres is not None:
            check_reason(self.adres_reden, "adres_reden", policy.adres_reden_min_chars)
        if self.listed_on is not None:
            if self.listed_on > today:
                raise CaseRejected(
                    "listed_on", f"the focus-list date {self.listed_on} lies in the future"
                )
            if self.listed_on < self.geboortedatum:
                raise CaseRejected(
                    "listed_on", "the focus-list date lies before the date of birth; check it"
                )
        if self.informed_on is not None:
            check_informed_on(
                self.informed_on, born=self.geboortedatum, listed_on=self.listed_on, today=today
            )


def validate_new_case(data: dict[str, object], today: dt.date, policy: Policy) -> NewCase:
    """Validate raw input into a NewCase, or raise CaseRejected naming the first bad field."""
    try:
        case = NewCase.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or "case"
        problem = str(err["msg"]).removeprefix("Value error, ")
        raise CaseRejected(field, problem) from None  # not the input: it may be personal data
    case.check(policy, today)
    return case


async def register_case(
    uow: UnitOfWork, case: NewCase, *, actor: str, today: dt.date, policy: Policy
) -> str:
    """Store a youth of the netto focus list. Returns the case id. Caller commits."""
    case.check(policy, today)
    case_id = str(uuid.uuid4())
    row = CaseRow(
        id=case_id,
        naam=case.naam,
        geboortedatum=case.geboortedatum,
        district=case.district.value,
        track=case.track.value,
        criteria=[c.value for c in case.criteria],
        adres=case.adres,
        adres_reden=case.adres_reden,
        informed_on=case.informed_on,
        colour=case.colour.value,
        listed_on=case.listed_on,
        registered_at=utc_now(),
        registered_by=actor,
        family=[
            FamilyMemberRow(ordinal=i, naam=m.naam, geboortedatum=m.geboortedatum)
            for i, m in enumerate(case.family, start=1)
        ],
    )
    uow.session.add(row)
    log_processing(uow, actor, "case_registered", "netto focus list", case_id=case_id)
    return case_id


async def find_same_person(uow: UnitOfWork, case: NewCase) -> str | None:
    """The id of a case of this youth (name and date of birth) still in the approach, if one
    is registered. A case that left (uitstroom) does not count: a youth who returns is
    registered as a new case, and the old one keeps its own retention clock."""
    found: str | None = await uow.session.scalar(
        select(CaseRow.id)
        .where(CaseRow.naam == case.naam)
        .where(CaseRow.geboortedatum == case.geboortedatum)
        .where(CaseRow.left_on.is_(None))
        .limit(1)
    )
    return found


async def get_case(uow: UnitOfWork, case_id: str) -> CaseRow:
    row = await uow.session.scalar(select(CaseRow).where(CaseRow.id == case_id))
    if row is None:
        raise UnknownCase(f"no case {case_id!r} on the netto focus list; see `iaj case list`")
    return row


_CASES = cast(Table, CaseRow.__table__)
_FAMILY = cast(Table, FamilyMemberRow.__table__)
_CASE_IDS: BindParameter[Any] = bindparam("ids", expanding=True)
_CASES_BY_ID = select(_CASES).where(_CASES.c.id.in_(_CASE_IDS))
_FAMILY_OF = (
    select(_FAMILY)
    .where(_FAMILY.c.case_id.in_(_CASE_IDS))
    .order_by(_FAMILY.c.case_id, _FAMILY.c.ordinal)
)


async def load_cases(uow: UnitOfWork, case_ids: list[str]) -> dict[str, CaseRow]:
    """The cases that exist among `case_ids`, with their family, in two statements, to read:
    built with Core, not loaded by the ORM (a batch of rounds reads many), so a change made
    to one is not written back."""
    if not case_ids:
        return {}
    rows = await uow.session.execute(_CASES_BY_ID, {"ids": padded(case_ids)})
    names = list(rows.keys())
    cases = {row.id: detached(CaseRow, zip(names, row, strict=True)) for row in rows}
    family: dict[str, list[FamilyMemberRow]] = {case_id: [] for case_id in cases}
    members = await uow.session.execute(_FAMILY_OF, {"ids": padded(list(cases))})
    names = list(members.keys())
    for row in members:
        family[row.case_id].append(detached(FamilyMemberRow, zip(names, row, strict=True)))
    for case_id, case in cases.items():
        case.__dict__["family"] = family[case_id]  # as the relationship would hold it
    return cases


async def record_informed(
    uow: UnitOfWork, case_id: str, on: dt.date, *, actor: str, today: dt.date
) -> None:
    """Record the date of the letter informing the youth (and parents). Caller commits."""
    row = await get_case(uow, case_id)
    check_informed_on(on, born=row.geboortedatum, listed_on=row.listed_on, today=today)
    first_round = await uow.session.scalar(
        select(func.min(RoundRow.opened_at)).where(RoundRow.case_id == case_id)
    )
    if first_round is not None and on > first_round.date():
        raise CaseRejected(
            "informed_on",
            f"a round was already opened on {first_round.date()}: the letter that allowed it "
            "cannot be dated later",
        )
    row.informed_on = on
    log_processing(uow, actor, "informed_recorded", "informing letter sent", case_id=case_id)
