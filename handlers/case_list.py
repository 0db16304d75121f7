"""The netto focus list as operators list it: who, where, which track, informed, rounds."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select

from contracts.enums import District, Track
from handlers.db.tables import CaseRow, FamilyMemberRow, RoundRow
from handlers.db.uow import UnitOfWork
from handlers.processing_log import log_view

__all__ = ["CaseSummary", "list_cases"]


@dataclass(frozen=True)
class CaseSummary:
    case_id: str
    naam: str
    geboortedatum: dt.date
    district: District
    track: Track
    informed_on: dt.date | None
    family_members: int
    rounds: int
    registered_at: dt.datetime


async def list_cases(uow: UnitOfWork, *, actor: str) -> list[CaseSummary]:
    """Every case, oldest registration first; each one shown is logged. Caller commits."""
    family = (
        select(func.count())
        .select_from(FamilyMemberRow)
        .where(FamilyMemberRow.case_id == CaseRow.id)
        .scalar_subquery()
    )
    rounds = (
        select(func.count()).select_from(RoundRow).where(RoundRow.case_id == CaseRow.id)
    ).scalar_subquery()
    rows = await uow.session.execute(
        # Only the columns shown: address and criteria are not needed to list the cases.
        select(
            CaseRow.id,
            CaseRow.naam,
            CaseRow.geboortedatum,
            CaseRow.district,
            CaseRow.track,
            CaseRow.informed_on,
            CaseRow.registered_at,
            family.label("family"),
            rounds.label("rounds"),
        ).order_by(CaseRow.registered_at, CaseRow.id)
    )
    cases = [
        CaseSummary(
            case_id=r.id,
            naam=r.naam,
            geboortedatum=r.geboortedatum,
            district=District(r.district),
            track=Track(r.track),
            informed_on=r.informed_on,
            family_members=r.family,
            rounds=r.rounds,
            registered_at=r.registered_at,
        )
        for r in rows
    ]
    for case in cases:
        log_view(uow, actor, "focus list shown (iaj case list)", case_id=case.case_id)
    return cases
