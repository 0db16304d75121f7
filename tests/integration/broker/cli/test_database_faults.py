"""The CLI's database work (a scheduled purge, say) rides out a lost session."""

from __future__ import annotations

import asyncpg.exceptions as pg
import pytest

from broker.cli.common import run_db
from broker.settings import ServiceSettings
from handlers.db.uow import UnitOfWork

pytestmark = pytest.mark.integration


def test_work_is_tried_again_after_a_transient_failure(sqlite_url: str) -> None:
    tries: list[int] = []

    async def work(uow: UnitOfWork) -> str:
        tries.append(1)
        if len(tries) < 3:
            raise pg.AdminShutdownError("terminating connection due to administrator command")
        return "done"

    assert run_db(ServiceSettings(database_url=sqlite_url), work) == "done"
    assert len(tries) == 3


def test_a_failure_of_the_work_itself_is_not_retried(sqlite_url: str) -> None:
    tries: list[int] = []

    async def work(uow: UnitOfWork) -> str:
        tries.append(1)
        raise pg.CheckViolationError("new row violates a check constraint")

    with pytest.raises(pg.CheckViolationError):
        run_db(ServiceSettings(database_url=sqlite_url), work)
    assert len(tries) == 1
