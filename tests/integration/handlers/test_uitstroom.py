"""Uitstroom (handlers.uitstroom), with a fake clock: recorded once, corrected only to an
earlier day, the uitstroombrief once; open rounds cancelled; the age limit puts a youth into
uitstroom on the birthday; the retention year and the five years count to the day; a purge
pass goes in batches and is recorded. On SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from contracts.enums import Colour, District, Track, YesNo
from contracts.messages import PartnerAnswer, QuestionSet, RoundResult, Withdrawal
from contracts.policy import haarlem_policy
from contracts.topics import RESULTS, answer_topic
from contracts.wire import decode, encode
from handlers import retention
from handlers.answers import handle_answers
from handlers.cases import Criterion, NewCase, find_same_person, register_case
from handlers.db.tables import (
    AnswerRow,
    CaseRow,
    JobRunRow,
    LateAnswerRow,
    OutboxRow,
    ProcessingLogRow,
    RoundRow,
)
from handlers.db.uow import UnitOfWork
from handlers.dead_letters import Delivery
from handlers.errors import CaseRejected
from handlers.retention import RETENTION_JOB, PurgeDue, due_for_purge, last_run, purge_due
from handlers.rounds import OpenRound, open_round
from handlers.uitstroom import (
    correct_uitstroom,
    leave_at_age_limit,
    limit_reached_on,
    record_uitstroom,
    record_uitstroombrief,
)
from tests.integration.broker.service.partners import permitted_answer
from tests.support.signing import partner_keys, sign

pytestmark = pytest.mark.integration

Sessions = async_sessionmaker[AsyncSession]
T = TypeVar("T")
NOW = dt.datetime.now(dt.UTC)
TODAY = NOW.date()
SYSTEM = "iaj-service (age limit)"
REASON = "The regisseur entered the date of the kernteam meeting by mistake."


def _youth(
    naam: str, born: dt.date, track: Track = Track.IAJ, letter_days_ago: int = 400
) -> NewCase:
    return NewCase(
        naam=naam,
        geboortedatum=born,
        district=District.OOST,
        track=track,
        criteria=(
            (Criterion.POLITIECONTACTEN,)
            if track is Track.IAJ
            else (Criterion.SOCIAAL_AANBOD_GEWEIGERD,)
        ),
        colour=Colour.GROEN if track is Track.IAJ else Colour.ROOD,
        informed_on=TODAY - dt.timedelta(days=letter_days_ago),
    )


def _born(years: int, days: int = 0) -> dt.date:
    """A date of birth `years` years and `days` days before today."""
    return limit_reached_on(TODAY, -years) - dt.timedelta(days=days)


async def _register(sessions: Sessions, case: NewCase) -> str:
    async with UnitOfWork(sessions) as uow:
        case_id = await register_case(uow, case, actor="test", today=TODAY, policy=haarlem_policy())
        await uow.commit()
    return case_id


async def _in_uow(sessions: Sessions, work: Callable[[UnitOfWork], Awaitable[T]]) -> T:
    async with UnitOfWork(sessions) as uow:
        result = await work(uow)
        await uow.commit()
    return result


async def _case(sessions: Sessions, case_id: str) -> CaseRow:
    async with sessions() as session:
        row = await session.get(CaseRow, case_id)
    assert row is not None
    return row


async def _log(sessions: Sessions, case_id: str, action: str) -> list[ProcessingLogRow]:
    async with sessions() as session:
        return list(
            await session.scalars(
                select(ProcessingLogRow)
                .where(ProcessingLogRow.case_id == case_id)
                .where(ProcessingLogRow.action == action)
            )
        )


async def _leave(sessions: Sessions, case_id: str, on: dt.date, **kw: object) -> list[str]:
    async def work(uow: UnitOfWork) -> list[str]:
        return await record_uitstroom(uow, case_id, on, actor="test", today=TODAY, **kw)  # type: ignore[arg-type]

    return await _in_uow(sessions, work)


async def test_an_uitstroom_is_recorded_once_and_its_date_stays(sessions: Sessions) -> None:
    case_id = await _register(sessions, _youth("Lotte Proefpark", _born(17)))
    first = TODAY - dt.timedelta(days=100)
    await _leave(sessions, case_id, first)
    with pytest.raises(CaseRejected, match="recorded already") as refused:
        await _leave(sessions, case_id, TODAY - dt.timedelta(days=10))
    assert "correct-uitstroom" in str(refused.value), "the message says what to do instead"
    assert (await _case(sessions, case_id)).left_on == first
    assert len(await _log(sessions, case_id, "uitstroom_recorded")) == 1


@pytest.mark.parametrize(
    ("days_ago", "problem"),
    [(-1, "in the future"), (401, "before the informing letter")],
)
async def test_an_implausible_uitstroom_date_is_refused(
    sessions: Sessions, days_ago: int, problem: str
) -> None:
    case_id = await _register(sessions, _youth("Jesse Schetsveld", _born(17)))
    with pytest.raises(CaseRejected, match=problem):
        await _leave(sessions, case_id, TODAY - dt.timedelta(days=days_ago))
    assert (await _case(sessions, case_id)).left_on is None


async def test_a_correction_moves_the_date_only_earlier_and_is_logged_with_its_reason(
    sessions: Sessions,
) -> None:
    case_id = await _register(sessions, _youth("Noor Oefenweg", _born(18)))
    recorded = TODAY - dt.timedelta(days=50)
    await _leave(sessions, case_id, recorded)

    async def correct(on: dt.date, reason: str = REASON) -> dt.date:
        return await _in_uow(
            sessions,
            lambda uow: correct_uitstroom(
                uow, case_id, on, reason=reason, actor="regisseur-test", today=TODAY
            ),
        )

    for later in (recorded + dt.timedelta(days=1), recorded):
        with pytest.raises(CaseRejected, match="only move it to an earlier day"):
            await correct(later)
    with pytest.raises(CaseRejected, match="reason"):
        await correct(recorded - dt.timedelta(days=5), reason="xxxxxxxxxxxx")
    with pytest.raises(CaseRejected, match="before the informing letter"):
        await correct(TODAY - dt.timedelta(days=401))
    assert (await _case(sessions, case_id)).left_on == recorded

    earlier = recorded - dt.timedelta(days=20)
    assert await correct(earlier) == recorded
    assert (await _case(sessions, case_id)).left_on == earlier
    [logged] = await _log(sessions, case_id, "uitstroom_corrected")
    assert logged.actor == "regisseur-test"
    assert recorded.isoformat() in logged.purpose
    assert earlier.isoformat() in logged.purpose
    assert REASON in logged.purpose


async def test_a_correction_needs_a_recorded_uitstroom(sessions: Sessions) -> None:
    case_id = await _register(sessions, _youth("Daan Conceptlaan", _born(16)))
    with pytest.raises(CaseRejected, match="iaj case leave"):
        await _in_uow(
            sessions,
            lambda uow: correct_uitstroom(
                uow, case_id, TODAY, reason=REASON, actor="test", today=TODAY
            ),
        )


async def test_the_uitstroombrief_is_recorded_once_not_before_the_uitstroom(
    sessions: Sessions,
) -> None:
    case_id = await _register(sessions, _youth("Sara Proefhof", _born(19)))
    left = TODAY - dt.timedelta(days=30)

    async def brief(on: dt.date) -> None:
        await _in_uow(
            sessions,
            lambda uow: record_uitstroombrief(uow, case_id, on, actor="test", today=TODAY),
        )

    with pytest.raises(CaseRejected, match="record it first"):
        await brief(TODAY)
    with pytest.raises(CaseRejected, match="before the uitstroom"):
        await _leave(sessions, case_id, left, uitstroombrief_on=left - dt.timedelta(days=1))
    await _leave(sessions, case_id, left)
    assert (await _case(sessions, case_id)).uitstroombrief_on is None
    with pytest.raises(CaseRejected, match="before the uitstroom"):
        await brief(left - dt.timedelta(days=1))
    with pytest.raises(CaseRejected, match="in the future"):
        await brief(TODAY + dt.timedelta(days=1))
    await brief(left + dt.timedelta(days=2))
    with pytest.raises(CaseRejected, match="recorded already"):
        await brief(TODAY)
    assert (await _case(sessions, case_id)).uitstroombrief_on == left + dt.timedelta(days=2)
    assert len(await _log(sessions, case_id, "uitstroombrief_recorded")) == 1


async def _open_round(sessions: Sessions, case_id: str) -> str:
    async def work(uow: UnitOfWork) -> str:
        round_id, _ = await open_round(
            uow,
            haarlem_policy(),
            OpenRound(case_id=case_id, colour=Colour.GROEN, actor="test"),
            now=NOW,
            deadline=dt.timedelta(days=10),
        )
        return round_id

    return await _in_uow(sessions, work)


async def _outbox(sessions: Sessions) -> list[object]:
    async with sessions() as session:
        payloads = await session.scalars(select(OutboxRow.payload).order_by(OutboxRow.id))
        return [decode(p) for p in payloads]


async def _answer_every_question_set(sessions: Sessions, round_id: str) -> tuple[int, int, int]:
    """Each partner answers its question set now; returns (questions, accepted, late)."""
    sets = [
        m
        for m in await _outbox(sessions)
        if isinstance(m, QuestionSet) and str(m.round_id) == round_id
    ]
    assert sets
    messages = []
    for offset, qs in enumerate(sets):
        answer = PartnerAnswer(
            round_id=qs.round_id,
            correlation_id=qs.correlation_id,
            policy=qs.policy,
            partner=qs.partner,
            in_reply_to=qs.message_id,
            answers=tuple(permitted_answer(q, YesNo.JA) for q in qs.questions),
        )
        messages.append(
            (
                sign(qs.partner, encode(answer)),
                Delivery(topic=answer_topic(qs.partner), partition=0, offset=offset),
            )
        )
    reports = await _in_uow(
        sessions, lambda uow: handle_answers(uow, messages, dt.datetime.now(dt.UTC), partner_keys())
    )
    questions = sum(len(qs.questions) for qs in sets)
    return questions, sum(r.accepted for r in reports), sum(r.late for r in reports)


async def test_uitstroom_cancels_the_open_round_and_a_later_answer_is_not_stored(
    sessions: Sessions,
) -> None:
    case_id = await _register(sessions, _youth("Finn Schetshaven", _born(17)))
    round_id = await _open_round(sessions, case_id)
    asked = {
        m.partner
        for m in await _outbox(sessions)
        if isinstance(m, QuestionSet) and str(m.round_id) == round_id
    }

    assert await _leave(sessions, case_id, TODAY) == [round_id]

    withdrawals = [m for m in await _outbox(sessions) if isinstance(m, Withdrawal)]
    assert {w.partner for w in withdrawals} == asked, "every partner asked is told"
    assert all(w.reason == "uitstroom" and str(w.round_id) == round_id for w in withdrawals)
    results = [m for m in await _outbox(sessions) if isinstance(m, RoundResult)]
    assert [r.completion for r in results] == ["cancelled"]
    async with sessions() as session:
        state = await session.scalar(select(RoundRow.state).where(RoundRow.id == round_id))
        published = await session.scalar(
            select(OutboxRow.topic).where(OutboxRow.topic == RESULTS).limit(1)
        )
    assert (state, published) == ("cancelled", RESULTS)

    questions, accepted, late = await _answer_every_question_set(sessions, round_id)
    assert (accepted, late) == (0, questions), "every answer after the uitstroom is late"
    async with sessions() as session:
        assert list(await session.scalars(select(AnswerRow.id))) == [], "no content stored"
        assert len(list(await session.scalars(select(LateAnswerRow)))) == questions


async def test_the_age_limit_puts_a_youth_into_uitstroom_on_the_birthday(
    sessions: Sessions,
) -> None:
    policy = haarlem_policy()
    iaj_limit = policy.track_rule(Track.IAJ).below_age
    bit_limit = policy.track_rule(Track.BIT).below_age
    assert (iaj_limit, bit_limit) == (23, 28)
    # Aged 22 and 27 today, their next birthdays in 100 and 200 days.
    iaj_born = _born(iaj_limit - 1, days=365 - 100)
    bit_born = _born(bit_limit - 1, days=365 - 200)
    turning = await _register(sessions, _youth("Mees Proefduin", iaj_born))
    younger = await _register(sessions, _youth("Fleur Oefenduin", iaj_born + dt.timedelta(days=1)))
    bit_case = await _register(sessions, _youth("Ravi Testhoven", bit_born, Track.BIT))
    round_id = await _open_round(sessions, turning)
    birthday = limit_reached_on(iaj_born, iaj_limit)
    assert birthday > TODAY

    async def pass_on(day: dt.date) -> list[str]:
        return await _in_uow(
            sessions,
            lambda uow: leave_at_age_limit(
                uow, policy, actor=SYSTEM, today=day, now=dt.datetime.now(dt.UTC)
            ),
        )

    assert await pass_on(birthday - dt.timedelta(days=1)) == [], "still 22 the day before"
    assert await pass_on(birthday) == [turning]
    left = await _case(sessions, turning)
    assert (left.left_on, left.uitstroombrief_on) == (birthday, None)
    assert (await _case(sessions, younger)).left_on is None, "turns 23 a day later"
    assert (await _case(sessions, bit_case)).left_on is None, "27 still qualifies for BIT"
    [logged] = await _log(sessions, turning, "uitstroom_recorded")
    assert logged.actor == SYSTEM
    assert "23" in logged.purpose
    [cancelled] = await _log(sessions, turning, "round_cancelled")
    assert (cancelled.actor, cancelled.round_id) == (SYSTEM, round_id)

    # The service notices the next birthday only three days late: the uitstroom is still
    # the birthday.
    assert await pass_on(birthday + dt.timedelta(days=4)) == [younger]
    assert (await _case(sessions, younger)).left_on == birthday + dt.timedelta(days=1)
    bit_birthday = limit_reached_on(bit_born, bit_limit)
    assert await pass_on(bit_birthday) == [bit_case]
    assert (await _case(sessions, bit_case)).left_on == bit_birthday
    assert await pass_on(bit_birthday + dt.timedelta(days=30)) == [], "once"


def test_a_29_february_birthday_is_reached_on_1_march() -> None:
    assert limit_reached_on(dt.date(2004, 2, 29), 23) == dt.date(2027, 3, 1)
    assert limit_reached_on(dt.date(2004, 2, 29), 24) == dt.date(2028, 2, 29)
    assert limit_reached_on(dt.date(2004, 3, 1), 23) == dt.date(2027, 3, 1)


async def _due(sessions: Sessions, today: dt.date) -> list[PurgeDue]:
    async with UnitOfWork(sessions) as uow:
        return await due_for_purge(uow, today)


async def test_personal_data_is_due_on_day_366_after_uitstroom_not_on_day_365(
    sessions: Sessions,
) -> None:
    case_id = await _register(sessions, _youth("Ilse Proefbrug", _born(17)))
    left = TODAY - dt.timedelta(days=5)
    await _leave(sessions, case_id, left)
    assert await _due(sessions, left + dt.timedelta(days=365)) == []
    assert await _due(sessions, left + dt.timedelta(days=366)) == [
        PurgeDue(case_id, "1 year after uitstroom")
    ]


async def test_a_dossier_is_due_five_years_after_its_last_processing_not_a_day_before(
    sessions: Sessions,
) -> None:
    case_id = await _register(sessions, _youth("Bram Conceptdijk", _born(16)))
    last = dt.datetime.combine(TODAY - dt.timedelta(days=10), dt.time(15, 30), tzinfo=dt.UTC)
    async with sessions() as session:  # its last processing: ten days ago at 15:30
        await session.execute(
            update(ProcessingLogRow).where(ProcessingLogRow.case_id == case_id).values(at=last)
        )
        await session.commit()
    five_years = last.date() + dt.timedelta(days=5 * 365)
    assert await _due(sessions, five_years) == [], "the last day of the five years"
    assert await _due(sessions, five_years + dt.timedelta(days=1)) == [
        PurgeDue(case_id, "5 years after the last processing")
    ]


async def test_a_pass_deletes_in_batches_and_records_itself(
    sessions: Sessions, monkeypatch: pytest.MonkeyPatch
) -> None:
    due = [
        await _register(sessions, _youth(f"Batch Proefjongere {n}", _born(17))) for n in range(5)
    ]
    kept = await _register(sessions, _youth("Kees Blijftstaan", _born(17)))
    for case_id in due:
        await _leave(sessions, case_id, TODAY - dt.timedelta(days=100))
    await _leave(sessions, kept, TODAY - dt.timedelta(days=10))
    batches: list[int] = []
    purge_cases = retention._purge_cases

    async def counting(uow: UnitOfWork, items: list[PurgeDue], *, actor: str) -> None:
        batches.append(len(items))
        await purge_cases(uow, items, actor=actor)

    monkeypatch.setattr(retention, "_purge_cases", counting)
    later = TODAY + dt.timedelta(days=300)  # 400 days after those five left
    at = dt.datetime.combine(later, dt.time(3, 0), tzinfo=dt.UTC)

    async with UnitOfWork(sessions) as uow:
        assert await last_run(uow) is None
        deleted = await purge_due(uow, today=later, now=at, actor="test", batch_size=2)
        run = await last_run(uow)

    assert sorted(d.case_id for d in deleted) == sorted(due)
    assert batches == [2, 2, 1]
    assert run is not None
    assert (run.finished_at, run.detail) == (at, "5 case(s) deleted")
    async with sessions() as session:
        assert list(await session.scalars(select(CaseRow.id))) == [kept]
        runs = list(await session.scalars(select(JobRunRow.job)))
        purged = list(
            await session.scalars(
                select(ProcessingLogRow.case_id).where(ProcessingLogRow.action == "case_purged")
            )
        )
    assert runs == [RETENTION_JOB]
    assert sorted(p for p in purged if p) == sorted(due)


async def test_a_returning_youth_gets_a_new_case_and_the_old_clock_stays(
    sessions: Sessions,
) -> None:
    youth = _youth("Yusuf Terugkeer", _born(18))
    old = await _register(sessions, youth)
    async with UnitOfWork(sessions) as uow:
        assert await find_same_person(uow, youth) == old
    left = TODAY - dt.timedelta(days=60)
    await _leave(sessions, old, left)
    async with UnitOfWork(sessions) as uow:
        assert await find_same_person(uow, youth) is None, "a case that left does not count"
    new = await _register(sessions, youth)
    assert new != old
    assert (await _case(sessions, old)).left_on == left
    assert await _due(sessions, left + dt.timedelta(days=366)) == [
        PurgeDue(old, "1 year after uitstroom")
    ]
