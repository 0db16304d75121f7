"""The running service deletes what the convenant no longer allows to keep, on its own: no
cron job. A case a year past its uitstroom goes, with everything about it; the purge is in
the processing log; a case still within its year stays. It purges at start-up, in batches,
and records each pass. It also puts into uitstroom, on their birthday, the youths who
outgrew their track."""

from __future__ import annotations

import asyncio
import datetime as dt

from sqlalchemy import select, update

from broker.service.municipal import AGE_LIMIT_ACTOR, RETENTION_ACTOR, MunicipalService
from broker.settings import ServiceSettings
from contracts.enums import Colour
from contracts.messages import utc_now
from handlers.db.migrate import upgrade
from handlers.db.tables import CaseRow, JobRunRow, ProcessingLogRow, RoundRow
from handlers.db.uow import UnitOfWork
from handlers.rounds import OpenRound, open_round
from handlers.status import service_status
from handlers.uitstroom import limit_reached_on, record_uitstroom
from tests.integration.broker.service.conftest import add_case
from tests.integration.broker.service.dbcheck import counted
from tests.support.clock import today


async def _left(service: MunicipalService, case_id: str, days_ago: int) -> None:
    async with UnitOfWork(service.sessions) as uow:
        left_on = today() - dt.timedelta(days=days_ago)
        await record_uitstroom(uow, case_id, left_on, actor="test", today=today())
        await uow.commit()


async def test_the_service_purges_a_case_a_year_after_uitstroom_by_itself(
    settings: ServiceSettings,
) -> None:
    often = settings.model_copy(update={"retention_interval_seconds": 0.2})
    service = MunicipalService(often)
    await service.start()
    try:
        gone = await add_case(service)
        kept = await add_case(service)
        # Registered (and informed) today: an uitstroom in the past needs an older letter.
        async with UnitOfWork(service.sessions) as uow:
            for case_id in (gone, kept):
                case = await uow.session.get(CaseRow, case_id)
                assert case is not None
                case.informed_on = today() - dt.timedelta(days=800)
            await uow.commit()
        await _left(service, gone, days_ago=400)
        await _left(service, kept, days_ago=30)
        remaining = await counted(service.sessions, "cases", 1)
        async with service.sessions() as session:
            cases = list(await session.scalars(select(CaseRow.id)))
            purged = list(
                await session.scalars(
                    select(ProcessingLogRow).where(ProcessingLogRow.action == "case_purged")
                )
            )
    finally:
        await service.stop()
        await service.engine.dispose()
    assert remaining == 1
    assert cases == [kept]
    assert [(p.case_id, p.actor) for p in purged] == [(gone, RETENTION_ACTOR)]


async def _informed_long_ago(service: MunicipalService, case_ids: list[str]) -> None:
    # Registered (and informed) today: an uitstroom in the past needs an older letter.
    async with UnitOfWork(service.sessions) as uow:
        await uow.session.execute(
            update(CaseRow)
            .where(CaseRow.id.in_(case_ids))
            .values(informed_on=today() - dt.timedelta(days=800))
        )
        await uow.commit()


async def test_the_service_purges_at_start_up_in_batches_and_records_the_pass(
    settings: ServiceSettings,
) -> None:
    daily = settings.model_copy(
        update={"retention_interval_seconds": 86_400.0, "retention_batch_size": 2}
    )
    service = MunicipalService(daily)
    try:
        await upgrade(service.engine)
        due = [await add_case(service) for _ in range(5)]
        kept = await add_case(service)
        await _informed_long_ago(service, [*due, kept])
        for case_id in due:
            await _left(service, case_id, days_ago=400)
        await _left(service, kept, days_ago=30)

        await service.start()  # the first pass runs now, not a day later
        runs = await counted(service.sessions, "job_runs", 1)
        async with service.sessions() as session:
            cases = list(await session.scalars(select(CaseRow.id)))
            run = await session.scalar(select(JobRunRow))
        async with UnitOfWork(service.sessions) as uow:
            status = await service_status(uow, utc_now(), retention_interval=dt.timedelta(days=1))
    finally:
        await service.stop()
        await service.engine.dispose()
    assert runs == 1
    assert cases == [kept]
    assert run is not None
    assert (run.job, run.detail) == ("retention", "5 case(s) deleted")
    assert status.retention.last_at == run.finished_at
    assert status.retention.next_at == run.finished_at + dt.timedelta(days=1)


async def _left_on(service: MunicipalService, case_id: str, within: float = 30.0) -> dt.date | None:
    """The case's uitstroom date once one is recorded (or None after `within` seconds)."""
    deadline = asyncio.get_running_loop().time() + within
    while asyncio.get_running_loop().time() < deadline:
        async with service.sessions() as session:
            left_on = await session.scalar(select(CaseRow.left_on).where(CaseRow.id == case_id))
        if left_on is not None:
            return left_on
        await asyncio.sleep(0.05)
    return None


async def test_the_service_puts_a_youth_who_turned_23_into_uitstroom_on_the_birthday(
    settings: ServiceSettings,
) -> None:
    service = MunicipalService(settings)
    try:
        await upgrade(service.engine)
        turned = await add_case(service, colour=Colour.GROEN)
        younger = await add_case(service, colour=Colour.GROEN)
        async with UnitOfWork(service.sessions) as uow:
            round_id, _ = await open_round(
                uow,
                service.policy,
                OpenRound(case_id=turned, colour=Colour.GROEN, actor="test"),
                now=utc_now(),
                deadline=dt.timedelta(days=10),
            )
            await uow.commit()
        # Time passed: one youth turned 23 three days ago (while the service was down), the
        # other is 22 and turns 23 tomorrow.
        birthday = today() - dt.timedelta(days=3)
        async with UnitOfWork(service.sessions) as uow:
            for case_id, born in (
                (turned, limit_reached_on(birthday, -23)),
                (younger, limit_reached_on(today() + dt.timedelta(days=1), -23)),
            ):
                await uow.session.execute(
                    update(CaseRow).where(CaseRow.id == case_id).values(geboortedatum=born)
                )
            await uow.commit()

        await service.start()
        left_on = await _left_on(service, turned)
        async with service.sessions() as session:
            state = await session.scalar(select(RoundRow.state).where(RoundRow.id == round_id))
            younger_left = await session.scalar(
                select(CaseRow.left_on).where(CaseRow.id == younger)
            )
            logged = list(
                await session.scalars(
                    select(ProcessingLogRow.action)
                    .where(ProcessingLogRow.case_id == turned)
                    .where(ProcessingLogRow.actor == AGE_LIMIT_ACTOR)
                    .order_by(ProcessingLogRow.id)
                )
            )
    finally:
        await service.stop()
        await service.engine.dispose()
    assert left_on == birthday
    assert state == "cancelled"
    assert younger_left is None
    assert logged == ["uitstroom_recorded", "round_cancelled"]
