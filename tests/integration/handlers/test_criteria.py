"""Criteria decide what may be asked, only what is necessary travels, and the dates are
plausible: each rule broken at registration and through the Kafka command path
(`handlers.commands.handle_command` with an OpenRoundCommand), on SQLite and PostgreSQL.

The CLI side of the same rules is in tests/integration/broker/cli/test_case_rules.py.
"""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import update

from contracts.enums import Colour, Criterion, District, Partner, Track
from contracts.messages import OpenRoundCommand
from contracts.topics import COMMANDS
from contracts.wire import encode
from handlers.cases import NewCase, record_informed, register_case, validate_new_case
from handlers.commands import CommandReport, handle_command
from handlers.db.engine import make_engine, make_session_factory
from handlers.db.migrate import upgrade
from handlers.db.tables import CaseRow, DeadLetterRow, RoundRow
from handlers.db.uow import UnitOfWork
from handlers.dead_letters import Delivery
from handlers.errors import CaseRejected
from handlers.officials import load_officials
from handlers.rounds import OpenRound, open_round
from tests.conftest import OFFICIALS_FILE
from tests.unit.handlers.builders import (
    ACTOR,
    DEADLINE,
    NOW,
    POLICY,
    TODAY,
    Sessions,
    all_rows,
    collecting,
    question_sets,
    snapshot,
)

pytestmark = pytest.mark.integration

OFFICIALS = load_officials(OFFICIALS_FILE)
ADDRESS = "Verzonnenlaan 12 Haarlem"
ADDRESS_REASON = "de woningcorporatie en de BRP zoeken op het adres"
_offsets = itertools.count()


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[Sessions]:
    engine = make_engine(database_url)
    await upgrade(engine)
    yield make_session_factory(engine)
    await engine.dispose()


def born_aged(age: int) -> dt.date:
    """Someone `age` years old on TODAY (birthday a month ago)."""
    return dt.date(TODAY.year - age, TODAY.month, 1) - dt.timedelta(days=30)


def raw(**changes: Any) -> dict[str, object]:
    """A valid groen IAJ youth of 15, informed a week ago, changed by `changes`."""
    data: dict[str, object] = {
        "naam": "Jesse Criteriumbeek",
        "geboortedatum": born_aged(15),
        "district": District.OOST,
        "track": Track.IAJ,
        "criteria": [Criterion.POLITIECONTACTEN],
        "colour": Colour.GROEN,
        "informed_on": TODAY - dt.timedelta(days=7),
    }
    data.update(changes)
    return data


async def register(sessions: Sessions, case: NewCase) -> str:
    async with UnitOfWork(sessions) as uow:
        case_id = await register_case(uow, case, actor=ACTOR, today=TODAY, policy=POLICY)
        await uow.commit()
    return case_id


async def refused_registration(sessions: Sessions, **changes: Any) -> CaseRejected:
    """Registering the youth is refused, by validation and by `register_case`, and nothing
    is stored."""
    before = await snapshot(sessions)
    with pytest.raises(CaseRejected) as by_validation:
        validate_new_case(raw(**changes), TODAY, POLICY)
    unchecked = NewCase.model_validate(raw(**changes))
    with pytest.raises(CaseRejected) as by_registration:
        await register(sessions, unchecked)
    assert str(by_registration.value) == str(by_validation.value)
    assert await snapshot(sessions) == before
    error = by_validation.value
    assert "Criteriumbeek" not in str(error)  # a refusal never echoes the person
    return error


async def as_old_case(sessions: Sessions, case_id: str, **values: object) -> None:
    """Make a registered case look like one registered before labels were kept (and before
    the criteria were checked): no label, and whatever criteria `values` says."""
    async with UnitOfWork(sessions) as uow:
        await uow.session.execute(
            update(CaseRow).where(CaseRow.id == case_id).values(colour=None, **values)
        )
        await uow.commit()


async def command(sessions: Sessions, case_id: str, colour: Colour) -> CommandReport:
    """An OpenRoundCommand for the case, as consumed from iaj.commands."""
    message = OpenRoundCommand(
        round_id=uuid.uuid4(),
        correlation_id=uuid.uuid4(),
        policy=POLICY.ref,
        case_id=uuid.UUID(case_id),
        colour=colour,
        requested_by=ACTOR,
    )
    delivery = Delivery(topic=COMMANDS, partition=0, offset=next(_offsets))
    async with UnitOfWork(sessions, collecting([])) as uow:
        return await handle_command(
            uow, encode(message), delivery, POLICY, officials=OFFICIALS, deadline=DEADLINE, now=NOW
        )


async def refused_command(sessions: Sessions, case_id: str, colour: Colour) -> str:
    """The command is dead-lettered as command_rejected, no round is opened; its detail."""
    rounds_before = len(await all_rows(sessions, RoundRow))
    report = await command(sessions, case_id, colour)
    assert report.outcome == "dead_lettered", report.detail
    letters = await all_rows(sessions, DeadLetterRow)
    assert letters[-1].reason == "command_rejected"
    assert letters[-1].detail == report.detail
    assert len(await all_rows(sessions, RoundRow)) == rounds_before
    assert "Criteriumbeek" not in report.detail
    return report.detail


# --- Criteria decide what may be asked ------------------------------------------------------


async def test_a_15_year_old_with_only_police_contacts_gets_no_rood(sessions: Sessions) -> None:
    error = await refused_registration(sessions, colour=Colour.ROOD)
    assert error.field == "colour"
    assert "rood needs at least one of these criteria" in error.problem
    assert "sociaal_aanbod_geweigerd" in error.problem

    # Labelled oranje: a rood round is refused, pointing to the relabel command.
    oranje = await register(sessions, validate_new_case(raw(colour=Colour.ORANJE), TODAY, POLICY))
    detail = await refused_command(sessions, oranje, Colour.ROOD)
    assert "labelled oranje" in detail
    assert f"iaj case relabel {oranje} --kleur rood --reason" in detail

    # A case from before labels were kept: the rood round is refused for the criterion.
    old = await register(sessions, validate_new_case(raw(naam="Ander Kind"), TODAY, POLICY))
    await as_old_case(sessions, old)
    detail = await refused_command(sessions, old, Colour.ROOD)
    assert "rood needs at least one of these criteria recorded" in detail
    assert "gedrag_gecontinueerd" in detail


async def test_rood_is_opened_when_a_bit_criterion_is_recorded(sessions: Sessions) -> None:
    criteria = [Criterion.POLITIECONTACTEN, Criterion.SOCIAAL_AANBOD_GEWEIGERD]
    case = validate_new_case(raw(colour=Colour.ROOD, criteria=criteria), TODAY, POLICY)
    case_id = await register(sessions, case)
    report = await command(sessions, case_id, Colour.ROOD)
    assert report.outcome == "opened", report.detail


async def test_a_25_year_old_on_the_bit_track_gets_no_groen(sessions: Sessions) -> None:
    bit = {"geboortedatum": born_aged(25), "track": Track.BIT}
    criteria = [Criterion.SOCIAAL_AANBOD_GEWEIGERD]
    error = await refused_registration(sessions, **bit, criteria=criteria, colour=Colour.GROEN)
    assert (error.field, "the BIT track permits only rood, not groen" in error.problem) == (
        "colour",
        True,
    )
    # On the IAJ track the age refuses it.
    assert (await refused_registration(sessions, geboortedatum=born_aged(25))).field == (
        "geboortedatum"
    )

    case_id = await register(
        sessions,
        validate_new_case(raw(**bit, criteria=criteria, colour=Colour.ROOD), TODAY, POLICY),
    )
    assert "labelled rood" in await refused_command(sessions, case_id, Colour.GROEN)
    await as_old_case(sessions, case_id)
    detail = await refused_command(sessions, case_id, Colour.GROEN)
    assert "the BIT track permits only rood, not groen" in detail


async def test_an_iaj_case_with_only_a_bit_criterion_is_refused(sessions: Sessions) -> None:
    only_bit = [Criterion.GEDRAG_GECONTINUEERD]
    error = await refused_registration(sessions, criteria=only_bit, colour=Colour.ROOD)
    assert error.field == "criteria"
    assert "the IAJ track needs at least one of these criteria recorded" in error.problem
    assert "politiecontacten" in error.problem

    case_id = await register(sessions, validate_new_case(raw(), TODAY, POLICY))
    await as_old_case(sessions, case_id, criteria=[c.value for c in only_bit])
    for colour in Colour:
        assert "the IAJ track needs" in await refused_command(sessions, case_id, colour)


async def test_an_old_case_gets_its_label_from_its_first_round(sessions: Sessions) -> None:
    case_id = await register(sessions, validate_new_case(raw(), TODAY, POLICY))
    await as_old_case(sessions, case_id)
    assert (await command(sessions, case_id, Colour.ORANJE)).outcome == "opened"
    async with UnitOfWork(sessions) as uow:
        row = await uow.session.get(CaseRow, case_id)
        assert row is not None
        assert row.colour == "oranje"


async def test_a_round_without_a_colour_takes_the_label(sessions: Sessions) -> None:
    case = validate_new_case(raw(colour=Colour.ORANJE), TODAY, POLICY)
    case_id = await register(sessions, case)
    async with UnitOfWork(sessions) as uow:
        round_id, _ = await open_round(
            uow,
            POLICY,
            OpenRound(case_id=case_id, colour=None, actor=ACTOR),
            now=NOW,
            deadline=DEADLINE,
        )
        await uow.commit()
        row = await uow.session.get(RoundRow, round_id)
        assert row is not None
        assert row.colour == "oranje"


# --- Only what is necessary travels ---------------------------------------------------------


async def _address_round(sessions: Sessions, colour: Colour) -> dict[Partner, bool]:
    criteria = [Criterion.POLITIECONTACTEN, Criterion.GEDRAG_GECONTINUEERD]
    case = validate_new_case(
        raw(colour=colour, criteria=criteria, adres=ADDRESS, adres_reden=ADDRESS_REASON),
        TODAY,
        POLICY,
    )
    case_id = await register(sessions, case)
    report = await command(sessions, case_id, colour)
    assert report.outcome == "opened", report.detail
    assert report.round_id is not None
    sent: dict[Partner, bool] = {}
    for qs in await question_sets(sessions, report.round_id):
        (youth,) = [s for s in qs.subjects if s.subject_ref == "jongere"]
        assert (youth.adres is None) == (youth.adres_reden is None)
        sent[qs.partner] = youth.adres is not None
        if youth.adres is not None:
            assert (youth.adres, youth.adres_reden) == (ADDRESS, ADDRESS_REASON)
    return sent


@pytest.mark.parametrize("colour", [Colour.ORANJE, Colour.ROOD])
async def test_the_address_goes_only_to_the_partners_whose_question_needs_it(
    sessions: Sessions, colour: Colour
) -> None:
    sent = await _address_round(sessions, colour)
    assert {p for p, with_address in sent.items() if with_address} == {
        Partner.BRP,
        Partner.WONINGCORPORATIE,
    }
    assert len(sent) > 2  # and the others were asked without it


async def test_the_address_never_goes_in_groen(sessions: Sessions) -> None:
    sent = await _address_round(sessions, Colour.GROEN)
    assert sent
    assert not any(sent.values())


@pytest.mark.parametrize("reason", ["x", "xxxxxxxxxxxxxxxxxxxxxxx", "adres-nodig-voor-zoeken"])
async def test_an_address_reason_that_is_no_sentence_is_refused(
    sessions: Sessions, reason: str
) -> None:
    error = await refused_registration(
        sessions, colour=Colour.ORANJE, adres=ADDRESS, adres_reden=reason
    )
    assert error.field == "adres_reden"
    assert f"at least {POLICY.adres_reden_min_chars} characters" in error.problem
    assert ADDRESS not in str(error)


async def test_family_members_are_refused_for_groen(sessions: Sessions) -> None:
    family = [{"naam": "Moeder Criteriumbeek", "geboortedatum": dt.date(1980, 1, 1)}]
    error = await refused_registration(sessions, family=family)
    assert error.field == "family"
    assert "oranje, rood" in error.problem
    assert "not groen" in error.problem
    assert "Moeder" not in str(error)
    await register(
        sessions, validate_new_case(raw(family=family, colour=Colour.ORANJE), TODAY, POLICY)
    )


# --- Plausibility ---------------------------------------------------------------------------


async def test_a_family_member_born_in_the_future_is_refused(sessions: Sessions) -> None:
    family = [
        {"naam": "Moeder Criteriumbeek", "geboortedatum": dt.date(1980, 1, 1)},
        {"naam": "Baby Criteriumbeek", "geboortedatum": TODAY + dt.timedelta(days=1)},
    ]
    error = await refused_registration(sessions, family=family, colour=Colour.ORANJE)
    assert error.field == "family.1.geboortedatum"
    assert "future" in error.problem


async def test_a_youth_born_in_the_future_is_refused(sessions: Sessions) -> None:
    error = await refused_registration(sessions, geboortedatum=TODAY + dt.timedelta(days=1))
    assert (error.field, "future" in error.problem) == ("geboortedatum", True)


async def test_a_letter_dated_the_day_after_the_birth_is_refused(sessions: Sessions) -> None:
    born = born_aged(15)
    error = await refused_registration(
        sessions, geboortedatum=born, informed_on=born + dt.timedelta(days=1)
    )
    assert error.field == "informed_on"
    assert "12th birthday" in error.problem

    case_id = await register(sessions, validate_new_case(raw(informed_on=None), TODAY, POLICY))
    async with UnitOfWork(sessions) as uow:
        with pytest.raises(CaseRejected, match="12th birthday"):
            await record_informed(
                uow, case_id, born + dt.timedelta(days=1), actor=ACTOR, today=TODAY
            )
        twelfth = born.replace(year=born.year + 12)
        await record_informed(uow, case_id, twelfth, actor=ACTOR, today=TODAY)


async def test_the_letter_is_not_before_the_youth_was_put_on_the_list(sessions: Sessions) -> None:
    listed = TODAY - dt.timedelta(days=20)
    error = await refused_registration(
        sessions, listed_on=listed, informed_on=listed - dt.timedelta(days=1)
    )
    assert error.field == "informed_on"
    assert "before the youth was put on the focus list" in error.problem
    assert (await refused_registration(sessions, listed_on=TODAY + dt.timedelta(days=1))).field == (
        "listed_on"
    )

    case_id = await register(
        sessions, validate_new_case(raw(listed_on=listed, informed_on=None), TODAY, POLICY)
    )
    async with UnitOfWork(sessions) as uow:
        with pytest.raises(CaseRejected, match="before the youth was put on the focus list"):
            await record_informed(
                uow, case_id, listed - dt.timedelta(days=1), actor=ACTOR, today=TODAY
            )
        with pytest.raises(CaseRejected, match="future"):
            await record_informed(
                uow, case_id, TODAY + dt.timedelta(days=1), actor=ACTOR, today=TODAY
            )
        await record_informed(uow, case_id, listed, actor=ACTOR, today=TODAY)
        await uow.commit()
        row = await uow.session.get(CaseRow, case_id)
        assert row is not None
        assert (row.listed_on, row.informed_on) == (listed, listed)


async def test_a_letter_in_the_future_is_refused(sessions: Sessions) -> None:
    error = await refused_registration(sessions, informed_on=TODAY + dt.timedelta(days=1))
    assert (error.field, "future" in error.problem) == ("informed_on", True)
