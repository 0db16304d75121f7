"""One benchmark: per database and size, a fresh broker, the pipeline, then the baseline."""

from __future__ import annotations

import cProfile
import datetime as dt
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from contracts.policy import load_policy
from devtools.bench.baseline import BaselineResult, run_baseline
from devtools.bench.databases import (
    DEFAULT_POSTGRES_DSN,
    Database,
    DatabaseUnavailable,
    bench_database,
)
from devtools.bench.measure import (
    CpuClock,
    HeapMeter,
    HeapReading,
    MemorySampler,
    ObjectCount,
    proc_status_kib,
)
from devtools.bench.pipeline import PipelineResult, read_wire_records, register_cases, run_pipeline
from devtools.bench.profile import write_profile
from devtools.bench.report import run_report
from devtools.embedded_kafka import EmbeddedKafka
from devtools.embedded_stack import EmbeddedStack, StackOptions
from devtools.synthetic_youths import SyntheticYouth, focus_list, write_partner_records

__all__ = ["BenchSettings", "Progress", "run_bench"]

# As the embedded stack's consumers: Tansu re-admits a group member after its session ends.
_GROUP_OPTIONS = {"session_timeout_ms": 1000, "heartbeat_interval_ms": 250}


class Progress(Protocol):
    def run_started(self, label: str, rounds: int) -> None: ...
    def step(self, text: str) -> None: ...
    def round_done(self) -> None: ...
    def run_finished(self) -> None: ...


@dataclass(frozen=True)
class BenchSettings:
    sizes: tuple[int, ...] = (250, 1000)
    databases: tuple[Database, ...] = (Database.SQLITE, Database.POSTGRESQL)
    in_flight: int = 25
    seed: int = 2026
    heap_rounds: int = 50  # extra rounds traced by tracemalloc after the timed ones; 0: none
    profile_dir: Path | None = None  # profile each pipeline run, write the reports here
    postgres_dsn: str = DEFAULT_POSTGRES_DSN
    timeout_seconds: float = 1800.0

    def as_json(self) -> dict[str, Any]:
        return {
            "sizes": list(self.sizes),
            "databases": [d.value for d in self.databases],
            "in_flight": self.in_flight,
            "seed": self.seed,
            "heap_rounds": self.heap_rounds,
            "profile": self.profile_dir is not None,
            "timeout_seconds": self.timeout_seconds,
            "colour_mix": "devtools.synthetic_youths.COLOUR_MIX",
            "adapters": "all 14 in one child process, ReferenceLookup over generated records",
            "kafka": "embedded Tansu, one fresh broker per run",
            "logging": "INFO and below disabled (FastStream access logs)",
        }


async def run_bench(
    settings: BenchSettings,
    progress: Progress,
    on_run: Callable[[dict[str, Any]], None],
    on_skip: Callable[[str, str], None],
) -> None:
    """Every database and size, each run's report to `on_run` as soon as it is done; an
    unreachable database goes to `on_skip` with the reason."""
    with tempfile.TemporaryDirectory(prefix="iaj-bench-") as tmp:
        for database in settings.databases:
            for size in settings.sizes:
                try:
                    on_run(await _run(settings, database, size, Path(tmp), progress))
                except DatabaseUnavailable as exc:
                    on_skip(database.value, str(exc))
                    break


async def _run(
    settings: BenchSettings, database: Database, size: int, tmp: Path, progress: Progress
) -> dict[str, Any]:
    workdir = tmp / f"{database.value}-{size}"
    youths = focus_list(size, seed=settings.seed, today=dt.date.today())
    records = workdir / "records"
    write_partner_records(youths, load_policy(None), records, seed=settings.seed)
    label = f"{database.value}, {size} youths"
    progress.run_started(label, size)
    async with (
        bench_database(database, workdir.parent, settings.postgres_dsn) as url,
        EmbeddedKafka() as kafka,
    ):
        pid = kafka.pid
        assert pid is not None
        # The adapters get a process of their own, as they have their own sites in production:
        # the figures are the municipal service's, not those of 15 apps sharing one core.
        options = StackOptions(
            workdir=workdir,
            reference_data=records,
            database_url=url,
            adapters_in_own_process=True,
        )
        async with EmbeddedStack(options, kafka.bootstrap) as stack:
            assert stack.service is not None
            assert stack.adapter_process is not None
            adapters_pid = stack.adapter_process.pid
            assert adapters_pid is not None
            progress.step("registering cases")
            case_ids = await register_cases(stack.service, youths)
            clock = CpuClock({"tansu": pid, "adapters_process": adapters_pid})
            objects = ObjectCount()
            profiler = cProfile.Profile() if settings.profile_dir is not None else None

            def start() -> None:
                objects.start()
                progress.step("rounds")
                clock.start()
                if profiler is not None:
                    profiler.enable()

            pids: dict[str, int | str] = {"python": "self", "adapters": adapters_pid, "tansu": pid}
            with MemorySampler(pids) as memory:
                pipeline = await run_pipeline(
                    stack,
                    youths,
                    case_ids,
                    in_flight=settings.in_flight,
                    timeout_seconds=settings.timeout_seconds,
                    on_start=start,
                    on_round_done=progress.round_done,
                )
                if profiler is not None:
                    profiler.disable()
                clock.stop()
            objects.stop()
            tansu_after_pipeline = proc_status_kib(pid)
            pipeline.questions, pipeline.answers = await read_wire_records(kafka.bootstrap)
            heap = await _heap_phase(settings, stack, youths, case_ids, label, progress)
        progress.step("baseline")
        baseline = await _baseline(kafka.bootstrap, pipeline, settings.timeout_seconds)
        tansu_after_baseline = proc_status_kib(pid)
    profile = None
    if profiler is not None and settings.profile_dir is not None:
        name = f"profile-{database.value}-{size}"
        profile = write_profile(profiler, settings.profile_dir / f"{name}.txt")
    progress.run_finished()
    return run_report(
        database=database.value,
        pipeline=pipeline,
        baseline=baseline,
        clock=clock,
        objects=objects,
        heap=heap,
        memory_peaks=memory.peaks,
        tansu_after_pipeline=tansu_after_pipeline,
        tansu_after_baseline=tansu_after_baseline,
        profile=profile,
    )


async def _heap_phase(
    settings: BenchSettings,
    stack: EmbeddedStack,
    youths: Sequence[SyntheticYouth],
    case_ids: Sequence[str],
    label: str,
    progress: Progress,
) -> HeapReading | None:
    """A second round for the first `heap_rounds` cases, under tracemalloc, on the same warm
    stack: what the Python heap keeps per round once the measured rounds are behind it.

    Not part of the timed rounds: tracemalloc makes allocation-heavy code 2-3x slower."""
    count = min(settings.heap_rounds, len(case_ids))
    if count == 0:
        return None
    progress.run_started(f"{label}: heap check (tracemalloc)", count)
    heap = HeapMeter()
    second = await run_pipeline(
        stack,
        youths[:count],
        case_ids[:count],
        in_flight=settings.in_flight,
        timeout_seconds=settings.timeout_seconds,
        on_start=heap.start,
        on_round_done=progress.round_done,
    )
    reading = heap.stop()
    # The rounds traced are the ones this phase opened: the results watcher counts only those,
    # and reports a re-published result of the timed phase apart (the relay is at-least-once).
    reading.rounds = min(count, second.completions.get("complete", 0))
    reading.repeated_results = second.duplicate_results + second.other_results
    progress.run_finished()
    return reading


async def _baseline(
    bootstrap: str, pipeline: PipelineResult, timeout_seconds: float
) -> BaselineResult:
    return await run_baseline(
        bootstrap,
        pipeline.questions,
        pipeline.answers,
        group_options=_GROUP_OPTIONS,
        timeout_seconds=timeout_seconds,
    )
