"""The benchmark's synthetic focus list, made outside the process it measures.

The driver shares the service's process, whose memory the benchmark reports. Generating N
youths and their partners' records there left memory the allocator kept: 9 MiB more at
N = 5,000 than at 1,000 before a round was opened. So a process of its own writes the
partners' records and a file of cases, and the driver registers the cases 250 at a time,
keeping only their ids and colours.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from broker.service.municipal import MunicipalService
from contracts.enums import Colour
from contracts.policy import load_policy
from devtools.synthetic_youths import focus_list, write_partner_records
from handlers.cases import NewCase, register_case
from handlers.db.uow import UnitOfWork

__all__ = [
    "BENCH_ACTOR",
    "RegisteredCases",
    "prepare_focus_list",
    "register_cases",
    "write_focus_list",
]

BENCH_ACTOR = "iaj-bench"  # who registers the cases and opens the rounds, in the log
_PER_TRANSACTION = 250

RegisteredCases = tuple[list[str], list[Colour]]  # case ids, and each case's colour


def write_focus_list(size: int, seed: int, today: dt.date, records: Path, cases: Path) -> None:
    """The partners' records in `records`, and one JSON line per youth in `cases`."""
    youths = focus_list(size, seed=seed, today=today)
    write_partner_records(youths, load_policy(None), records, seed=seed)
    with cases.open("w", encoding="utf-8") as out:
        for youth in youths:
            line = {"colour": youth.colour.value, "case": youth.case.model_dump(mode="json")}
            out.write(json.dumps(line) + "\n")


async def prepare_focus_list(
    size: int, seed: int, today: dt.date, records: Path, cases: Path
) -> None:
    """`write_focus_list` in a fresh process (not measured)."""
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        await asyncio.get_running_loop().run_in_executor(
            pool, write_focus_list, size, seed, today, records, cases
        )


async def register_cases(service: MunicipalService, cases: Path, today: dt.date) -> RegisteredCases:
    """Put every youth of `cases` on the netto focus list (not measured)."""
    ids: list[str] = []
    colours: list[Colour] = []
    with cases.open(encoding="utf-8") as lines:
        while chunk := list(itertools.islice(lines, _PER_TRANSACTION)):
            async with UnitOfWork(service.sessions) as uow:
                for text in chunk:
                    line = json.loads(text)
                    case = NewCase.model_validate(line["case"])
                    ids.append(
                        await register_case(
                            uow, case, actor=BENCH_ACTOR, today=today, policy=service.policy
                        )
                    )
                    colours.append(Colour(line["colour"]))
                await uow.commit()
    return ids, colours
