"""Opening one round per youth, and following them until every result is on `iaj.results`.

The two run side by side: opening 25 rounds takes a few seconds while the first answers
already come in, and the live view should show that.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from uuid import UUID

from sqlalchemy import func, select

from broker.service.municipal import MunicipalService
from contracts.messages import utc_now
from devtools.demo.progress import Progress, poll
from devtools.demo.report import DemoRound
from devtools.demo.results import ResultsReader
from devtools.embedded_stack import EmbeddedStack
from devtools.synthetic_youths import SyntheticYouth
from handlers.cases import find_same_person
from handlers.db.tables import RoundRow
from handlers.db.uow import UnitOfWork
from handlers.rounds import OpenRound

__all__ = ["Opening", "follow", "open_rounds"]

_POLL_SECONDS = 0.25


@dataclass
class Opening:
    """The rounds opened so far; `follow` reads it while `open_rounds` still adds to it."""

    to_open: int
    rounds: list[DemoRound] = field(default_factory=list)
    last_deadline: dt.datetime | None = None  # set once every round is open


async def open_rounds(
    service: MunicipalService, youths: Sequence[SyntheticYouth], opening: Opening, actor: str
) -> None:
    """One round per youth on the list, with the youth's colour, through the service."""
    async with UnitOfWork(service.sessions) as uow:
        cases = [(youth, await find_same_person(uow, youth.case)) for youth in youths]
    listed = [(youth, case_id) for youth, case_id in cases if case_id is not None]
    opening.to_open = len(listed)  # a youth not taken in gets no round; the import said why
    for youth, case_id in listed:
        request = OpenRound(case_id=case_id, colour=youth.colour, actor=actor)
        round_id = await service.open_round(request)
        opening.rounds.append(DemoRound(youth, case_id, round_id, None))
    async with UnitOfWork(service.sessions) as uow:
        last = await uow.session.scalar(
            select(func.max(RoundRow.deadline)).where(
                RoundRow.id.in_([r.round_id for r in opening.rounds])
            )
        )
    opening.last_deadline = last or utc_now()


async def follow(
    stack: EmbeddedStack,
    reader: ResultsReader,
    opening: Opening,
    on_progress: Callable[[Progress], None],
    *,
    grace: dt.timedelta,
) -> Progress:
    """Poll until every round's result is on iaj.results, or `grace` after the last deadline."""
    while True:
        # Read together, before polling: rounds opened meanwhile are counted next time.
        wanted = {UUID(r.round_id) for r in opening.rounds}
        last = opening.last_deadline
        have = len(wanted & reader.results.keys())
        progress = await poll(
            stack,
            utc_now(),
            results=have,
            opened=len(wanted),
            to_open=opening.to_open,
            last_deadline=last,
        )
        on_progress(progress)
        if last is not None and (have == len(wanted) or progress.at > last + grace):
            return progress
        reader.changed.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(reader.changed.wait(), _POLL_SECONDS)
