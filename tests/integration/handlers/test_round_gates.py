"""The gates before partners are asked: the letter, the age, one round at a time."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from contracts.enums import Colour, District, Track
from contracts.policy import haarlem_policy
from handlers.cases import Criterion, NewCase, record_informed, register_case
from handlers.db.tables import OutboxRow, QuestionRow, RoundRow
from handlers.db.uow import UnitOfWork
from handlers.errors import CaseRejected, NotInformed, RoundAlreadyOpen
from handlers.rounds import OpenRound, open_round

pytestmark = pytest.mark.integration

NOW = dt.datetime.now(dt.UTC)
TODAY = NOW.date()


async def _case(sessions: async_sessionmaker[AsyncSession], born: dt.date, **extra: object) -> str:
    case = NewCase.model_validate(
        {
            "naam": "Lotte Voorbeeldt",
            "geboortedatum": born,
            "district": District.OOST,
            "track": Track.IAJ,
            "criteria": [Criterion.ZORGSIGNALEN_GEZIN],
            "colour": Colour.GROEN,
            **extra,
        }
    )
    async with UnitOfWork(sessions) as uow:
        case_id = await register_case(uow, case, actor="test", today=TODAY, policy=haarlem_policy())
        await uow.commit()
    return case_id


async def _open(
    sessions: async_sessionmaker[AsyncSession], case_id: str, now: dt.datetime = NOW
) -> str:
    async with UnitOfWork(sessions) as uow:
        round_id, _ = await open_round(
            uow,
            haarlem_policy(),
            OpenRound(case_id=case_id, colour=Colour.GROEN, actor="test"),
            now=now,
            deadline=dt.timedelta(days=10),
        )
        await uow.commit()
    return round_id


async def _counts(sessions: async_sessionmaker[AsyncSession]) -> tuple[int, int, int]:
    async with sessions() as session:
        return tuple(  # type: ignore[return-value]
            [
                int(await session.scalar(select(func.count()).select_from(t)) or 0)
                for t in (RoundRow, QuestionRow, OutboxRow)
            ]
        )


async def test_no_round_before_the_letter_and_nothing_written(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    case_id = await _case(sessions, dt.date(TODAY.year - 16, 1, 1))
    with pytest.raises(NotInformed, match="record the letter date first"):
        await _open(sessions, case_id)
    assert await _counts(sessions) == (0, 0, 0)


async def test_one_open_round_per_case(sessions: async_sessionmaker[AsyncSession]) -> None:
    case_id = await _case(sessions, dt.date(TODAY.year - 16, 1, 1), informed_on=TODAY)
    first = await _open(sessions, case_id)
    before = await _counts(sessions)
    with pytest.raises(RoundAlreadyOpen, match=first):
        await _open(sessions, case_id)
    assert await _counts(sessions) == before


async def test_a_youth_who_outgrew_the_track_gets_no_new_round(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    born = TODAY.replace(year=TODAY.year - 22) - dt.timedelta(days=30)  # 22 now, 23 next year
    case_id = await _case(sessions, born, informed_on=TODAY)
    with pytest.raises(CaseRejected, match="age 23 is outside the IAJ track"):
        await _open(sessions, case_id, now=NOW + dt.timedelta(days=366))


async def test_the_letter_cannot_be_dated_after_a_round_it_allowed(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    week_ago = TODAY - dt.timedelta(days=7)
    case_id = await _case(sessions, dt.date(TODAY.year - 16, 1, 1), informed_on=week_ago)
    await _open(sessions, case_id, now=NOW - dt.timedelta(days=3))
    async with UnitOfWork(sessions) as uow:
        with pytest.raises(CaseRejected, match="cannot be dated later"):
            await record_informed(uow, case_id, TODAY, actor="test", today=TODAY)
        with pytest.raises(CaseRejected, match="before the youth's 12th birthday"):
            await record_informed(uow, case_id, dt.date(1990, 1, 1), actor="test", today=TODAY)
