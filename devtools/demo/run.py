"""The demo's main line: inputs, the embedded stack, the import, one round per youth, results.

Everything goes through the real paths: the CSV through `import_focus_list`, rounds through
`MunicipalService.open_round`, answers through 14 adapters and Kafka, results read back from
`iaj.results`. Only the clock is short: a round deadline of seconds instead of days.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import shutil
import tempfile
import time
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

from broker.service.municipal import MunicipalService
from contracts.enums import Partner
from contracts.messages import utc_now
from contracts.policy import load_policy
from devtools.demo.inputs import DemoInputs, write_inputs
from devtools.demo.logs import logs_to
from devtools.demo.progress import Progress, refusals_at_source
from devtools.demo.report import DemoReport, DemoRound, ImportReport, Summary
from devtools.demo.results import ResultsReader
from devtools.demo.rounds import Opening, follow, open_rounds
from devtools.demo.signals import children_ignore_ctrl_c
from devtools.embedded_stack import EmbeddedStack, StackOptions
from handlers.db.uow import UnitOfWork
from handlers.focus_list import import_focus_list

__all__ = ["LOG_FILE", "DemoOptions", "DemoReport", "Observer", "run_demo"]

ACTOR = "iaj-demo"
LOG_FILE = "demo.log"


@dataclass(frozen=True)
class DemoOptions:
    youths: int = 25
    bruto: int = 3
    seed: int = 2026
    oversharing: frozenset[Partner] = frozenset({Partner.SWT})
    round_deadline: dt.timedelta = dt.timedelta(seconds=20)
    workdir: Path | None = None  # None: a temporary one, removed unless the run failed
    grace: dt.timedelta = dt.timedelta(seconds=30)  # how long past the last deadline to wait


class Observer:
    """What the run reports while it goes. This base shows nothing (`--json`)."""

    def prepared(self, inputs: DemoInputs, workdir: Path, options: DemoOptions) -> None:
        pass

    def starting(self) -> AbstractContextManager[object]:
        return contextlib.nullcontext()

    def started(self, seconds: float, bootstrap: str) -> None:
        pass

    def imported(self, report: ImportReport) -> None:
        pass

    def opening(self, count: int) -> None:
        pass

    def progress(self, progress: Progress) -> None:
        pass

    def settled(self, progress: Progress) -> None:
        pass

    def close(self) -> None:
        """Called last, also when the run failed or was interrupted."""


async def run_demo(options: DemoOptions, observer: Observer | None = None) -> DemoReport:
    """Run the demo once; the stack is stopped again before this returns."""
    clock = time.monotonic()
    workdir = options.workdir or Path(tempfile.mkdtemp(prefix="iaj-demo-"))
    workdir.mkdir(parents=True, exist_ok=True)
    keep = options.workdir is not None
    observer = observer or Observer()
    try:
        with logs_to(workdir / LOG_FILE):
            report = await _run(options, observer, workdir, clock)
        keep = keep or not report.ok
    except Exception as exc:
        keep = True  # a failed run keeps its files, so its log can be read
        exc.add_note(f"the demo's files and its log ({LOG_FILE}) are kept in {workdir}")
        raise
    finally:
        observer.close()
        if not keep:  # done, or interrupted by the user
            shutil.rmtree(workdir, ignore_errors=True)
    return dataclasses.replace(report, kept=keep, elapsed_seconds=time.monotonic() - clock)


async def _run(options: DemoOptions, observer: Observer, workdir: Path, clock: float) -> DemoReport:
    today = dt.date.today()
    inputs = write_inputs(
        workdir,
        load_policy(),
        youths=options.youths,
        bruto=options.bruto,
        seed=options.seed,
        today=today,
    )
    observer.prepared(inputs, workdir, options)
    stack_options = StackOptions(
        workdir=workdir,
        round_deadline=options.round_deadline,
        deadline_check_interval_seconds=0.5,
        reference_data=inputs.records_dir,
        oversharing=options.oversharing,
    )
    async with contextlib.AsyncExitStack() as running:
        with observer.starting(), children_ignore_ctrl_c():
            stack = await running.enter_async_context(EmbeddedStack(stack_options))
            reader = await running.enter_async_context(ResultsReader(stack.bootstrap))
        started = time.monotonic() - clock
        observer.started(started, stack.bootstrap)
        service = stack.service
        assert service is not None
        imported = await _import(service, inputs, today)
        observer.imported(imported)
        opening = Opening(to_open=imported.taken_in)
        observer.opening(opening.to_open)
        following = asyncio.create_task(
            follow(stack, reader, opening, observer.progress, grace=options.grace)
        )
        try:
            await open_rounds(service, inputs.youths, opening, ACTOR)
            final = await following
        finally:
            following.cancel()  # a no-op once it finished; stops it if opening failed
            with contextlib.suppress(asyncio.CancelledError):
                await following
        refusals = await refusals_at_source(stack, utc_now())
        observer.settled(final)
    rounds = tuple(
        DemoRound(r.youth, r.case_id, r.round_id, reader.results.get(UUID(r.round_id)))
        for r in opening.rounds
    )
    return DemoReport(
        seed=options.seed,
        round_deadline=options.round_deadline,
        oversharing=options.oversharing,
        workdir=workdir,
        kept=True,
        imported=imported,
        rounds=rounds,
        final=final,
        refusals=refusals,
        summary=Summary.of(rounds, final),
        started_seconds=started,
        elapsed_seconds=0.0,
    )


async def _import(service: MunicipalService, inputs: DemoInputs, today: dt.date) -> ImportReport:
    """The CSV through the same path as `iaj focuslist import`, in one transaction."""
    text = inputs.focus_list_csv.read_text(encoding="utf-8")
    async with UnitOfWork(service.sessions) as uow:
        outcomes = await import_focus_list(
            uow, text, actor=ACTOR, today=today, policy=service.policy
        )
        await uow.commit()
    refused = tuple((o.row, o.reason or "not taken in") for o in outcomes if not o.taken_in)
    return ImportReport(len(outcomes), len(outcomes) - len(refused), refused)
