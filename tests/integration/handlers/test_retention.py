"""Retention: a year after uitstroom, or five years after the last processing, all is gone."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from contracts.enums import Colour, District, Track
from contracts.policy import haarlem_policy
from devtools.generators.kafka_topics import TRANSPORT_RETENTION, topic_specs
from handlers.cases import Criterion, FamilyMember, NewCase, register_case
from handlers.db.tables import CaseRow, DeadLetterRow, InboxRow, ProcessingLogRow
from handlers.db.uow import UnitOfWork
from handlers.errors import CaseRejected
from handlers.retention import (
    DEAD_LETTERS_KEPT,
    INBOX_KEPT,
    due_for_purge,
    purge,
)
from handlers.rounds import OpenRound, open_round
from handlers.uitstroom import record_uitstroom
from tests.integration.broker.service.dbcheck import all_text

pytestmark = pytest.mark.integration

NOW = dt.datetime.now(dt.UTC)
TODAY = NOW.date()


async def _case_with_round(
    sessions: async_sessionmaker[AsyncSession], naam: str, opened: dt.datetime
) -> str:
    case = NewCase(
        naam=naam,
        geboortedatum=dt.date(TODAY.year - 16, 2, 2),
        district=District.NOORD,
        track=Track.IAJ,
        criteria=(Criterion.POLITIECONTACTEN,),
        colour=Colour.ORANJE,
        family=(FamilyMember(naam=f"Ouder van {naam}", geboortedatum=dt.date(1980, 1, 1)),),
        informed_on=opened.date() - dt.timedelta(days=1),
    )
    async with UnitOfWork(sessions) as uow:
        case_id = await register_case(uow, case, actor="test", today=TODAY, policy=haarlem_policy())
        await open_round(
            uow,
            haarlem_policy(),
            OpenRound(case_id=case_id, colour=Colour.ORANJE, actor="test"),
            now=opened,
            deadline=dt.timedelta(days=10),
        )
        await uow.commit()
    return case_id


async def _leave(sessions: async_sessionmaker[AsyncSession], case_id: str, days_ago: int) -> None:
    async with UnitOfWork(sessions) as uow:
        await record_uitstroom(
            uow, case_id, TODAY - dt.timedelta(days=days_ago), actor="test", today=TODAY
        )
        await uow.commit()


async def _purge(sessions: async_sessionmaker[AsyncSession]) -> list[str]:
    async with UnitOfWork(sessions) as uow:
        due = await due_for_purge(uow, TODAY)
        await purge(uow, due, actor="test", now=NOW)
        await uow.commit()
    return sorted(d.case_id for d in due)


async def test_personal_data_goes_a_year_after_uitstroom_and_the_dossier_after_five_years(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    left_long_ago = await _case_with_round(
        sessions, "Fenna Proefveld", NOW - dt.timedelta(days=500)
    )
    left_recently = await _case_with_round(
        sessions, "Teun Schetsdijk", NOW - dt.timedelta(days=200)
    )
    dormant = await _case_with_round(sessions, "Yara Oefenkamp", NOW - dt.timedelta(days=30))
    await _leave(sessions, left_long_ago, days_ago=400)
    await _leave(sessions, left_recently, days_ago=100)
    six_years_ago = NOW - dt.timedelta(days=6 * 365)
    async with sessions() as session:  # as if nothing happened to this dossier for six years
        await session.execute(
            update(ProcessingLogRow)
            .where(ProcessingLogRow.case_id == dormant)
            .values(at=six_years_ago)
        )
        await session.commit()

    assert await _purge(sessions) == sorted([left_long_ago, dormant])
    text = await all_text(sessions)
    for gone in ("Fenna Proefveld", "Yara Oefenkamp"):
        assert gone not in text, "no table, outbox included, keeps a purged name"
    assert "Teun Schetsdijk" in text, "within its year after uitstroom: kept"
    async with sessions() as session:
        purged = (
            await session.scalars(
                select(ProcessingLogRow.case_id).where(ProcessingLogRow.action == "case_purged")
            )
        ).all()
        remaining = (await session.scalars(select(CaseRow.id))).all()
    assert sorted(str(p) for p in purged) == sorted([left_long_ago, dormant]), (
        "the purge itself is logged"
    )
    assert remaining == [left_recently]
    assert await _purge(sessions) == [], "a second run deletes nothing more"


async def test_no_round_after_uitstroom(sessions: async_sessionmaker[AsyncSession]) -> None:
    case_id = await _case_with_round(sessions, "Omar Conceptberg", NOW - dt.timedelta(days=40))
    await _leave(sessions, case_id, days_ago=10)
    async with UnitOfWork(sessions) as uow:
        with pytest.raises(CaseRejected, match="left the approach"):
            await open_round(
                uow,
                haarlem_policy(),
                OpenRound(case_id=case_id, colour=Colour.GROEN, actor="test"),
                now=NOW,
                deadline=dt.timedelta(days=10),
            )


async def test_the_purge_also_drops_inbox_entries_and_dead_letters_no_one_needs(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    def at(days_ago: int) -> dt.datetime:
        return NOW - dt.timedelta(days=days_ago)

    async with UnitOfWork(sessions) as uow:
        for key, days_ago in (("old", INBOX_KEPT.days + 1), ("recent", INBOX_KEPT.days - 1)):
            uow.session.add(
                InboxRow(message_key=key, topic="iaj.answers.cjg", processed_at=at(days_ago))
            )
        for detail, days_ago in (("old", DEAD_LETTERS_KEPT.days + 1), ("recent", 1)):
            uow.session.add(
                DeadLetterRow(
                    topic="iaj.answers.cjg",
                    partner="cjg",
                    reason="not_json",
                    detail=detail,
                    received_at=at(days_ago),
                )
            )
        await uow.commit()
    await _purge(sessions)
    async with sessions() as session:
        assert list(await session.scalars(select(InboxRow.message_key))) == ["recent"]
        assert list(await session.scalars(select(DeadLetterRow.detail))) == ["recent"]


def test_inbox_entries_outlive_every_message_kafka_could_deliver_again() -> None:
    assert INBOX_KEPT > TRANSPORT_RETENTION
    assert all(spec.retention < INBOX_KEPT for spec in topic_specs())


async def test_an_uitstroom_is_recorded_once_so_the_retention_year_cannot_restart(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    case_id = await _case_with_round(sessions, "Mila Proefhoeve", NOW - dt.timedelta(days=500))
    await _leave(sessions, case_id, days_ago=400)
    with pytest.raises(CaseRejected, match="recorded already"):
        await _leave(sessions, case_id, days_ago=10)  # e.g. recorded again on day 390
    assert await _purge(sessions) == [case_id], "still due a year after the first uitstroom"


async def test_a_name_an_official_typed_into_a_reason_goes_with_the_case(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    case_id = await _case_with_round(sessions, "Joris Redactieveld", NOW - dt.timedelta(days=500))
    await _leave(sessions, case_id, days_ago=400)
    async with UnitOfWork(sessions) as uow:
        # A careless reason: the processing log outlives the case, the name must not.
        uow.session.add(
            ProcessingLogRow(
                at=NOW - dt.timedelta(days=399),
                actor="test",
                action="case_relabelled",
                purpose="afschalen oranje -> groen: gesprek met Joris Redactieveld gehad",
                case_id=case_id,
            )
        )
        await uow.commit()
    assert await _purge(sessions) == [case_id]
    text = await all_text(sessions)
    assert "Redactieveld" not in text
    async with sessions() as session:
        purposes = list(
            await session.scalars(
                select(ProcessingLogRow.purpose).where(ProcessingLogRow.case_id == case_id)
            )
        )
    assert "afschalen oranje -> groen: gesprek met [verwijderd] gehad" in purposes
