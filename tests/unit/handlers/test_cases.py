"""Putting a youth on the netto focus list: the age limits, address, district, criteria, letter.

Validation runs without I/O; registering and recording the letter run on a fresh SQLite file.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from contracts.policy import haarlem_policy
from handlers.cases import (
    NewCase,
    age_on,
    find_same_person,
    get_case,
    record_informed,
    register_case,
    validate_new_case,
)
from handlers.db.engine import make_engine, make_session_factory
from handlers.db.migrate import upgrade
from handlers.db.tables import CaseRow, ProcessingLogRow
from handlers.db.uow import UnitOfWork
from handlers.errors import CaseRejected, UnknownCase

TODAY = dt.date(2025, 6, 15)
POLICY = haarlem_policy()
# The BIT track is rood only, with a BIT criterion.
BIT = {"track": "bit", "criteria": ["sociaal_aanbod_geweigerd"], "colour": "rood"}


def raw_case(**changes: Any) -> dict[str, object]:
    data: dict[str, object] = {
        "naam": "Fenna Verzinsel",
        "geboortedatum": "2008-01-01",
        "district": "oost",
        "track": "iaj",
        "criteria": ["politiecontacten"],
        "colour": "groen",
    }
    if changes.get("track") == "bit":
        data.update(BIT)
    data.update(changes)
    return data


def rejected(**changes: Any) -> CaseRejected:
    with pytest.raises(CaseRejected) as caught:
        validate_new_case(raw_case(**changes), TODAY, POLICY)
    return caught.value


@pytest.mark.parametrize(
    ("track", "born", "age"),
    [
        ("iaj", "2002-06-16", 22),  # turns 23 tomorrow
        ("bit", "1997-06-16", 27),  # "tot en met 27": turns 28 tomorrow
    ],
)
def test_the_last_day_of_the_track_is_accepted(track: str, born: str, age: int) -> None:
    case = validate_new_case(raw_case(track=track, geboortedatum=born), TODAY, POLICY)
    assert (case.track.value, age_on(case.geboortedatum, TODAY)) == (track, age)


@pytest.mark.parametrize(
    ("track", "born", "age"),
    [
        ("iaj", "2002-06-15", 23),  # 23rd birthday today: IAJ is below 23
        ("bit", "1997-06-15", 28),
    ],
)
def test_the_birthday_that_leaves_the_track_is_refused(track: str, born: str, age: int) -> None:
    error = rejected(track=track, geboortedatum=born)
    assert error.field == "geboortedatum"
    assert f"age {age}" in str(error)
    assert track.upper() in str(error)


def test_bit_takes_a_youth_that_iaj_refuses() -> None:
    assert rejected(track="iaj", geboortedatum="2000-01-01").field == "geboortedatum"
    assert validate_new_case(raw_case(track="bit", geboortedatum="2000-01-01"), TODAY, POLICY)


def test_a_date_of_birth_in_the_future_is_refused() -> None:
    error = rejected(geboortedatum="2025-06-16")
    assert error.field == "geboortedatum"
    assert "future" in error.problem


def test_an_address_without_a_reason_is_refused() -> None:
    error = rejected(adres="Fictiefstraat 1")
    assert "reason" in error.problem
    assert "Fictiefstraat" not in str(error)


def test_a_reason_without_an_address_is_refused() -> None:
    assert "no address" in rejected(adres_reden="partner zoekt op adres").problem


def test_an_address_with_its_reason_is_kept() -> None:
    case = validate_new_case(
        raw_case(adres="Fictiefstraat 1", adres_reden="partner zoekt op adres"), TODAY, POLICY
    )
    assert (case.adres, case.adres_reden) == ("Fictiefstraat 1", "partner zoekt op adres")


@pytest.mark.parametrize("district", ["amsterdam", "", "Noord-Oost"])
def test_an_unknown_district_is_refused(district: str) -> None:
    assert rejected(district=district).field == "district"


@pytest.mark.parametrize("criteria", [[], None])
def test_criteria_are_required(criteria: list[str] | None) -> None:
    data = raw_case()
    if criteria is None:
        del data["criteria"]
    else:
        data["criteria"] = criteria
    with pytest.raises(CaseRejected) as caught:
        validate_new_case(data, TODAY, POLICY)
    assert caught.value.field == "criteria"


def test_an_unknown_criterion_is_refused() -> None:
    assert rejected(criteria=["groepsgedrag"]).field.startswith("criteria")


def test_a_letter_dated_in_the_future_is_refused() -> None:
    # The letter date opens the gate to sharing: a future date would open it too early.
    error = rejected(informed_on="2025-06-16")
    assert error.field == "informed_on"


def test_the_error_does_not_echo_the_input() -> None:
    error = rejected(geboortedatum="Fenna Verzinsel")
    assert error.field == "geboortedatum"
    assert "Fenna" not in str(error)


def test_a_family_member_needs_a_valid_date_of_birth() -> None:
    error = rejected(
        colour="oranje", family=[{"naam": "Mo Verzinsel", "geboortedatum": "gisteren"}]
    )
    assert error.field == "family.0.geboortedatum"


@pytest.fixture
async def sessions(sqlite_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(sqlite_url)
    await upgrade(engine)
    yield make_session_factory(engine)
    await engine.dispose()


def _case() -> NewCase:
    data = raw_case(
        colour="oranje", family=[{"naam": "Mo Verzinsel", "geboortedatum": "1980-02-02"}]
    )
    return validate_new_case(data, TODAY, POLICY)


async def test_registering_stores_the_case_and_logs_the_processing(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with UnitOfWork(sessions) as uow:
        case_id = await register_case(uow, _case(), actor="regisseur", today=TODAY, policy=POLICY)
        await uow.commit()
    async with UnitOfWork(sessions) as uow:
        row = await get_case(uow, case_id)
        assert (row.naam, row.district, row.track) == ("Fenna Verzinsel", "oost", "iaj")
        assert [(m.ordinal, m.naam) for m in row.family] == [(1, "Mo Verzinsel")]
        assert row.informed_on is None
        log = (await uow.session.scalars(select(ProcessingLogRow))).one()
        assert (log.actor, log.action, log.case_id) == ("regisseur", "case_registered", case_id)
        assert await find_same_person(uow, _case()) == case_id


async def test_a_case_that_was_not_committed_leaves_nothing(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with UnitOfWork(sessions) as uow:
        await register_case(uow, _case(), actor="regisseur", today=TODAY, policy=POLICY)
    async with UnitOfWork(sessions) as uow:
        assert await uow.session.scalar(select(func.count()).select_from(CaseRow)) == 0


async def test_the_letter_date_is_recorded_but_not_in_the_future(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with UnitOfWork(sessions) as uow:
        case_id = await register_case(uow, _case(), actor="regisseur", today=TODAY, policy=POLICY)
        await uow.commit()
    async with UnitOfWork(sessions) as uow:
        with pytest.raises(CaseRejected, match="future"):
            await record_informed(
                uow, case_id, TODAY + dt.timedelta(days=1), actor="regisseur", today=TODAY
            )
        await record_informed(uow, case_id, TODAY, actor="regisseur", today=TODAY)
        await uow.commit()
    async with UnitOfWork(sessions) as uow:
        assert (await get_case(uow, case_id)).informed_on == TODAY
        with pytest.raises(UnknownCase):
            await record_informed(uow, "no-such-case", TODAY, actor="regisseur", today=TODAY)
