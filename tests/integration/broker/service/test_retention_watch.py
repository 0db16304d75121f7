"""The running service deletes what the convenant no longer allows to keep, on its own: no
cron job. A case a year past its uitstroom goes, with everything about it; the purge is in
the processing log; a case still within its year stays."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from broker.service.municipal import RETENTION_ACTOR, MunicipalService
from broker.settings import ServiceSettings
from handlers.db.tables import CaseRow, ProcessingLogRow
from handlers.db.uow import UnitOfWork
from handlers.retention import record_uitstroom
from tests.integration.broker.service.conftest import TODAY, add_case
from tests.integration.broker.service.dbcheck import counted


async def _left(service: MunicipalService, case_id: str, days_ago: int) -> None:
    async with UnitOfWork(service.sessions) as uow:
        left_on = TODAY - dt.timedelta(days=days_ago)
        await record_uitstroom(uow, case_id, left_on, actor="test", today=TODAY)
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
                case.informed_on = TODAY - dt.timedelta(days=800)
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
