"""The operator views (handlers.status, round_view, case_list) on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from contracts.enums import Colour, District, Partner, Track
from contracts.policy import haarlem_policy
from handlers.case_list import list_cases
from handlers.cases import Criterion, FamilyMember, NewCase, register_case
from handlers.db.engine import make_engine, make_session_factory
from handlers.db.migrate import upgrade
from handlers.db.tables import (
    AnswerRow,
    DeadLetterRow,
    LateAnswerRow,
    ProcessingLogRow,
    QuestionRow,
    RefusalRow,
)
from handlers.db.uow import UnitOfWork
from handlers.errors import UnknownRound
from handlers.processing_log import VIEW_ACTIONS
from handlers.retention import AFTER_LAST_PROCESSING, due_for_purge
from handlers.round_view import round_view
from handlers.rounds import OpenRound, open_round
from handlers.states import QuestionStatus, RoundState
from handlers.status import service_status

pytestmark = pytest.mark.integration

NOW = dt.datetime(2025, 6, 15, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(database_url)
    await upgrade(engine)
    yield make_session_factory(engine)
    await engine.dispose()


async def open_oranje_round(sessions: async_sessionmaker[AsyncSession]) -> str:
    case = NewCase(
        naam="Vera Overzicht",
        geboortedatum=dt.date(2008, 2, 2),
        district=District.OOST,
        track=Track.IAJ,
        criteria=(Criterion.POLITIECONTACTEN,),
        colour=Colour.ORANJE,
        family=(FamilyMember(naam="Wim Overzicht", geboortedatum=dt.date(1979, 3, 3)),),
        informed_on=dt.date(2025, 6, 1),
    )
    async with UnitOfWork(sessions) as uow:
        case_id = await register_case(
            uow, case, actor="test", today=NOW.date(), policy=haarlem_policy()
        )
        round_id, _ = await open_round(
            uow,
            haarlem_policy(),
            OpenRound(case_id=case_id, colour=Colour.ORANJE, actor="test"),
            now=NOW - dt.timedelta(hours=2),
            deadline=dt.timedelta(days=10),
        )
        await uow.commit()
    return round_id


async def answer_verwijsindex_and_record_trouble(
    sessions: async_sessionmaker[AsyncSession], round_id: str
) -> None:
    """What the answer consumer would have written: one answer, a refusal, a late answer and
    two dead letters (the content checks are the consumer's tests, not these)."""
    async with UnitOfWork(sessions) as uow:
        vir = await uow.session.scalar(
            select(QuestionRow)
            .where(QuestionRow.round_id == round_id)
            .where(QuestionRow.partner == Partner.VERWIJSINDEX.value)
        )
        assert vir is not None
        vir.status = QuestionStatus.ANSWERED
        vir.closed_at = NOW
        message_id = str(uuid.uuid4())
        content = {"antwoord": "ja", "met_wie": ["swt"]}
        uow.session.add_all(
            [
                AnswerRow(
                    question_id=vir.id,
                    round_id=round_id,
                    partner=vir.partner,
                    message_id=message_id,
                    content=content,
                    received_at=NOW,
                ),
                RefusalRow(
                    round_id=round_id,
                    partner="om",
                    message_id=message_id,
                    question_id=None,
                    reason="extra_field",
                    field="toelichting",
                    received_at=NOW,
                ),
                LateAnswerRow(
                    question_id=vir.id,
                    round_id=round_id,
                    partner=vir.partner,
                    message_id=str(uuid.uuid4()),
                    received_at=NOW,
                ),
                *[
                    DeadLetterRow(
                        topic=f"iaj.answers.{partner}",
                        partner=partner,
                        reason=reason,
                        detail="test",
                        received_at=NOW,
                    )
                    for partner, reason in (("rn", "not_json"), (None, "not_json"))
                ],
            ]
        )
        await uow.commit()


async def test_status_counts_per_partner_and_ages_from_the_oldest_open_question(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    round_id = await open_oranje_round(sessions)
    await answer_verwijsindex_and_record_trouble(sessions, round_id)
    async with UnitOfWork(sessions) as uow:
        report = await service_status(uow, NOW)
    partners = {p.partner: p for p in report.partners}
    assert list(partners) == list(Partner)
    assert partners[Partner.VERWIJSINDEX].outstanding == 0
    assert partners[Partner.VERWIJSINDEX].answered == 1
    assert partners[Partner.VERWIJSINDEX].late == 1
    assert partners[Partner.LEERPLICHT].outstanding == 2  # school and the VIR question
    assert partners[Partner.LEERPLICHT].oldest_outstanding == dt.timedelta(hours=2)
    assert partners[Partner.CJG].outstanding == 0  # waiting is not outstanding
    assert partners[Partner.OM].refused == 1
    assert partners[Partner.RN].dead_lettered == 1
    assert partners[Partner.RN].outstanding == 4  # youth and family member, two questions each
    assert report.rounds == {
        RoundState.OPEN: 1,
        RoundState.COMPLETE: 0,
        RoundState.DEADLINE: 0,
        RoundState.CANCELLED: 0,
    }
    assert report.outbox.unsent == len(haarlem_policy().partners(Colour.ORANJE)) - 1  # not cjg
    assert report.outbox.oldest_unsent is not None
    assert report.dead_letters == {"not_json": 2}
    assert report.dead_letters_total == 2


async def test_round_view_shows_questions_answers_and_counts(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    round_id = await open_oranje_round(sessions)
    await answer_verwijsindex_and_record_trouble(sessions, round_id)
    async with UnitOfWork(sessions) as uow:
        view = await round_view(uow, round_id, actor=None)
        with pytest.raises(UnknownRound):
            await round_view(uow, str(uuid.uuid4()), actor=None)
    assert (view.colour, view.state, view.completed_at) == (Colour.ORANJE, RoundState.OPEN, None)
    assert view.opened_at == NOW - dt.timedelta(hours=2)
    assert view.deadline == view.opened_at + dt.timedelta(days=10)
    assert (view.refusals, view.late_answers) == (1, 1)
    grouped = view.by_partner()
    assert list(grouped)[:3] == [Partner.VERWIJSINDEX, Partner.LEERPLICHT, Partner.CJG]
    [vir] = grouped[Partner.VERWIJSINDEX]
    assert vir.status is QuestionStatus.ANSWERED
    assert vir.answer == {"antwoord": "ja", "met_wie": ["swt"]}
    assert all(q.answer is None for q in grouped[Partner.LEERPLICHT])
    assert view.partners_with(QuestionStatus.WAITING) == [Partner.CJG]


async def test_case_list_counts_family_and_rounds(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await open_oranje_round(sessions)
    async with UnitOfWork(sessions) as uow:
        [case] = await list_cases(uow, actor="test")
    assert (case.naam, case.family_members, case.rounds) == ("Vera Overzicht", 1, 1)
    assert case.informed_on == dt.date(2025, 6, 1)


async def test_showing_a_case_or_a_round_is_logged_but_keeps_no_dossier_alive(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """The convenant logs every provision of data (who, what, which person, why); a look at
    the list must not restart the 5-year clock of "the last processing"."""
    round_id = await open_oranje_round(sessions)
    async with UnitOfWork(sessions) as uow:
        [case] = await list_cases(uow, actor="regisseur-a")
        await round_view(uow, round_id, actor="regisseur-b")
        await uow.commit()
    async with sessions() as session:
        entries = (
            await session.execute(
                select(ProcessingLogRow.actor, ProcessingLogRow.action, ProcessingLogRow.case_id)
                .where(ProcessingLogRow.action.in_(VIEW_ACTIONS))
                .order_by(ProcessingLogRow.id)
            )
        ).all()
    assert [tuple(e) for e in entries] == [
        ("regisseur-a", "case_viewed", case.case_id),
        ("regisseur-b", "round_viewed", case.case_id),
    ]

    # Five years and a day after registration and round, the views of today do not count.
    later = NOW.date() + AFTER_LAST_PROCESSING + dt.timedelta(days=1)
    async with sessions() as session:
        await session.execute(
            update(ProcessingLogRow)
            .where(ProcessingLogRow.action.not_in(VIEW_ACTIONS))
            .values(at=NOW - dt.timedelta(days=1))
        )
        await session.commit()
    async with UnitOfWork(sessions) as uow:
        due = await due_for_purge(uow, later)
    assert [d.case_id for d in due] == [case.case_id]
