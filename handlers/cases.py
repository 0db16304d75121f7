"""Putting youths on the netto focus list, and recording that they were informed."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from sqlalchemy import func, select

from contracts.enums import Criterion, District, Track
from contracts.messages import utc_now
from handlers.db.tables import CaseRow, FamilyMemberRow, RoundRow
from handlers.db.uow import UnitOfWork
from handlers.errors import CaseRejected, UnknownCase
from handlers.processing_log import log_processing

__all__ = [
    "AGE_LIMITS",
    "Criterion",
    "FamilyMember",
    "NewCase",
    "age_on",
    "check_age",
    "find_same_person",
    "get_case",
    "record_informed",
    "register_case",
    "validate_new_case",
]

# (track) -> first age at which a youth no longer qualifies. IAJ: "tot 23 jaar" (below 23);
# BIT: "tot en met 27 jaar" (27 still qualifies).
AGE_LIMITS: dict[Track, int] = {Track.IAJ: 23, Track.BIT: 28}


def age_on(born: dt.date, day: dt.date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def check_age(born: dt.date, track: Track, today: dt.date) -> None:
    """Raise CaseRejected unless a youth born on `born` is within `track`'s age on `today`."""
    if born > today:
        raise CaseRejected("geboortedatum", "the date of birth lies in the future")
    age = age_on(born, today)
    if age >= AGE_LIMITS[track]:
        bound = "below 23" if track is Track.IAJ else "up to and including 27"
        raise CaseRejected(
            "geboortedatum",
            f"age {age} is outside the {track.value.upper()} track, which takes youths aged "
            f"{bound}",
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
    adres: str | None = Field(default=None, max_length=200)
    adres_reden: str | None = Field(default=None, max_length=280)
    family: tuple[FamilyMember, ...] = Field(default=(), max_length=20)
    informed_on: dt.date | None = None

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

    def check_age(self, today: dt.date) -> None:
        check_age(self.geboortedatum, self.track, today)

    def check_dates(self, today: dt.date) -> None:
        """Age within the track, and no letter dated in the future (it opens the round gate)."""
        self.check_age(today)
        if self.informed_on is not None and self.informed_on > today:
            raise CaseRejected("informed_on", "the letter date lies in the future")


def validate_new_case(data: dict[str, object], today: dt.date) -> NewCase:
    """Validate raw input into a NewCase, or raise CaseRejected naming the first bad field."""
    try:
        case = NewCase.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or "case"
        raise CaseRejected(field, str(err["msg"])) from None  # input may hold personal data
    case.check_dates(today)
    return case


async def register_case(uow: UnitOfWork, case: NewCase, *, actor: str, today: dt.date) -> str:
    """Store a youth of the netto focus list. Returns the case id. Caller commits."""
    case.check_dates(today)
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
    """The id of a case with this youth's name and date of birth, if one is registered."""
    found: str | None = await uow.session.scalar(
        select(CaseRow.id)
        .where(CaseRow.naam == case.naam)
        .where(CaseRow.geboortedatum == case.geboortedatum)
        .limit(1)
    )
    return found


async def get_case(uow: UnitOfWork, case_id: str) -> CaseRow:
    row = await uow.session.scalar(select(CaseRow).where(CaseRow.id == case_id))
    if row is None:
        raise UnknownCase(f"no case {case_id!r} on the netto focus list; see `iaj case list`")
    return row


async def record_informed(
    uow: UnitOfWork, case_id: str, on: dt.date, *, actor: str, today: dt.date
) -> None:
    """Record the date of the letter informing the youth (and parents). Caller commits."""
    row = await get_case(uow, case_id)
    if on > today:
        raise CaseRejected("informed_on", "the letter date lies in the future")
    if on < row.geboortedatum:
        raise CaseRejected("informed_on", "the letter date lies before the date of birth")
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
