"""One benchmark: per pair, database and size, a fresh broker, the pipeline, then the baseline.

`pairs` > 1 repeats every (database, size) that many times, the pairs interleaved (pair 1 of
every run, then pair 2, ...), so a machine that slows down for a while touches all of them;
the report gives each figure's min and median over the pairs."""

from __future__ import annotations

import asyncio
import contextlib
import cProfile
import datetime as dt
import tempfile
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from contracts.enums import Colour
from devtools.bench.baseline import BaselineResult, run_baseline
from devtools.bench.brokers import BenchBroker, BrokerKind, bench_broker
from devtools.bench.cases import prepare_focus_list, register_cases
from devtools.bench.databases import (
    DEFAULT_POSTGRES_DSN,
    LOCAL_POSTGRES,
    Database,
    DatabaseUnavailable,
    bench_database,
    postgres_server_pid,
)
from devtools.bench.measure import (
    CpuClock,
    HeapMeter,
    HeapReading,
    MemorySampler,
    ObjectCount,
    proc_status_kib,
    process_tree_cpu_seconds,
)
from devtools.bench.pipeline import PipelineResult, read_wire_records, run_pipeline
from devtools.bench.profile import write_profile
from devtools.bench.report import run_report
from devtools.bench.statements import StatementCounter
from devtools.embedded_stack import EmbeddedStack, StackOptions

__all__ = ["BenchSettings", "Progress", "run_bench"]

# Seconds the stack is measured at rest, before the rounds.
IDLE_SECONDS = 3.0
CAPACITY = 0  # `in_flight`: every round opened at once


class Progress(Protocol):
    def run_started(self, label: str, rounds: int) -> None: ...
    def step(self, text: str) -> None: ...
    def round_done(self) -> None: ...
    def run_finished(self) -> None: ...


@dataclass(frozen=True)
class BenchSettings:
    sizes: tuple[int, ...] = (1000, 5000)
    databases: tuple[Database, ...] = (Database.SQLITE, Database.POSTGRESQL)
    in_flight: int = 25  # rounds open at once; CAPACITY (0): all at once
    pairs: int = 1  # interleaved pipeline + baseline runs per database and size
    kafka: BrokerKind = BrokerKind.EMBEDDED
    # Every consumer's fetch wait, the service's and adapters' included (None: the broker's
    # default): the embedded broker does not answer a waiting fetch when data arrives.
    fetch_wait_override_ms: int | None = None
    seed: int = 2026
    heap_rounds: int = 50  # extra rounds traced by tracemalloc after the timed ones; 0: none
    profile_dir: Path | None = None  # profile each pipeline run, write the reports here
    postgres_dsn: str = DEFAULT_POSTGRES_DSN
    timeout_seconds: float = 1800.0
    # Whether the service's process (this one) runs with glibc's thresholds fixed, as
    # `iaj serve` does (broker.service.allocator); False on other C libraries or when the
    # operator set MALLOC_*_THRESHOLD_ in the environment.
    malloc_thresholds_fixed: bool = False

    @property
    def fetch_max_wait_ms(self) -> int:
        if self.fetch_wait_override_ms is not None:
            return self.fetch_wait_override_ms
        return self.kafka.default_fetch_max_wait_ms

    @property
    def load(self) -> str:
        return "capacity" if self.in_flight == CAPACITY else f"{self.in_flight} in flight"

    def as_json(self) -> dict[str, Any]:
        return {
            "sizes": list(self.sizes),
            "databases": [d.value for d in self.databases],
            "load": self.load,
            "in_flight": self.in_flight,
            "pairs": self.pairs,
            "fetch_max_wait_ms": self.fetch_max_wait_ms,
            "seed": self.seed,
            "heap_rounds": self.heap_rounds,
            "profile": self.profile_dir is not None,
            "timeout_seconds": self.timeout_seconds,
            "colour_mix": "devtools.synthetic_youths.COLOUR_MIX",
            "adapters": "all 14 in one child process, ReferenceLookup over generated records",
            "kafka": self.kafka.description,
            "postgresql": "a local server of the benchmark's own, fsync on"
            if self.postgres_dsn == LOCAL_POSTGRES
            else "the server at --postgres-dsn, a fresh database per run",
            "logging": "INFO and below disabled (FastStream access logs)",
            "malloc": "glibc's mmap and trim thresholds fixed at 128 KiB, as `iaj serve`"
            if self.malloc_thresholds_fixed
            else "as the C library or MALLOC_*_THRESHOLD_ set it",
        }


async def run_bench(
    settings: BenchSettings,
    progress: Progress,
    on_run: Callable[[dict[str, Any]], None],
    on_skip: Callable[[str, str], None],
) -> None:
    """Every pair, database and size, each run's report to `on_run` as soon as it is done; an
    unreachable database goes to `on_skip` with the reason."""
    unavailable: set[Database] = set()
    with tempfile.TemporaryDirectory(prefix="iaj-bench-") as tmp:
        async with _postgres(settings) as postgres:
            for pair in range(1, settings.pairs + 1):
                for database in settings.databases:
                    for size in settings.sizes:
                        if database in unavailable:
                            break
                        try:
                            if isinstance(postgres, DatabaseUnavailable):
                                if database is Database.POSTGRESQL:
                                    raise postgres
                                dsn = ""  # a SQLite run: no server
                            else:
                                dsn = postgres
                            run = await _run(
                                settings, database, size, Path(tmp), progress, dsn, pair
                            )
                        except DatabaseUnavailable as exc:
                            on_skip(database.value, str(exc))
                            unavailable.add(database)
                            break
                        on_run(run)


@contextlib.asynccontextmanager
async def _postgres(settings: BenchSettings) -> AsyncIterator[str | DatabaseUnavailable]:
    """The DSN to create databases on: `--postgres-dsn`, or a server of our own (`local`)."""
    if settings.postgres_dsn != LOCAL_POSTGRES or Database.POSTGRESQL not in settings.databases:
        yield settings.postgres_dsn
        return
    from devtools.local_postgres import DURABLE, LocalPostgres, LocalPostgresError

    server = LocalPostgres(settings=DURABLE)
    try:
        await asyncio.to_thread(server.start)
    except LocalPostgresError as exc:
        yield DatabaseUnavailable(f"the benchmark's own PostgreSQL did not start: {exc}")
        return
    try:
        yield server.dsn
    finally:
        await asyncio.to_thread(server.stop)


async def _run(
    settings: BenchSettings,
    database: Database,
    size: int,
    tmp: Path,
    progress: Progress,
    postgres_dsn: str,
    pair: int,
) -> dict[str, Any]:
    workdir = tmp / f"{database.value}-{size}-{pair}"
    today = dt.date.today()
    records, cases = workdir / "records", workdir / "cases.jsonl"
    workdir.mkdir(parents=True, exist_ok=True)
    await prepare_focus_list(size, settings.seed, today, records, cases)
    label = f"{database.value}, {size} youths, {settings.load}"
    if settings.pairs > 1:
        label += f", pair {pair}/{settings.pairs}"
    progress.run_started(label, size)
    async with (
        bench_database(database, workdir.parent, postgres_dsn) as url,
        bench_broker(settings.kafka, workdir / "kafka") as kafka,
    ):
        pid = kafka.pid
        server = (
            None if database is not Database.POSTGRESQL else await postgres_server_pid(postgres_dsn)
        )
        # The adapters get a process of their own, as they have their own sites in production:
        # the figures are the municipal service's, not those of 15 apps sharing one core.
        options = StackOptions(
            workdir=workdir,
            reference_data=records,
            database_url=url,
            adapters_in_own_process=True,
            fetch_max_wait_ms=settings.fetch_max_wait_ms,
            kafka_passwords=kafka.passwords,
        )
        async with EmbeddedStack(options, kafka.bootstrap) as stack:
            assert stack.service is not None
            assert stack.adapter_process is not None
            adapters_pid = stack.adapter_process.pid
            assert adapters_pid is not None
            progress.step("registering cases")
            case_ids, colours = await register_cases(stack.service, cases, today)
            others: dict[str, int | Callable[[], float]] = {
                "broker": kafka.cpu_seconds(),
                "adapters_process": adapters_pid,
            }
            if server is not None:  # every process of the server: sessions come and go
                server_pid = server
                others["postgresql"] = lambda: process_tree_cpu_seconds(server_pid)
            # The stack at rest first: what its consumers' polling costs per second, which
            # every round pays a share of (the fewer rounds per second, the larger).
            idle = CpuClock(others)
            idle.start()
            await asyncio.sleep(IDLE_SECONDS)
            idle.stop()
            clock = CpuClock(others)
            statements = StatementCounter(stack.service.engine)
            objects = ObjectCount()
            profiler = cProfile.Profile() if settings.profile_dir is not None else None

            def start() -> None:
                objects.start()
                progress.step("rounds")
                statements.start()
                clock.start()
                if profiler is not None:
                    profiler.enable()

            pids: dict[str, int | str] = {"python": "self", "adapters": adapters_pid, "broker": pid}
            with MemorySampler(pids) as memory:
                pipeline = await run_pipeline(
                    stack,
                    colours,
                    case_ids,
                    in_flight=settings.in_flight,
                    timeout_seconds=settings.timeout_seconds,
                    fetch_max_wait_ms=settings.fetch_max_wait_ms,
                    client=kafka.client,
                    on_start=start,
                    on_round_done=progress.round_done,
                )
                if profiler is not None:
                    profiler.disable()
                clock.stop()
                statements.stop()
            objects.stop()
            broker_after_pipeline = proc_status_kib(pid)
            pipeline.questions, pipeline.answers = await read_wire_records(
                kafka.bootstrap, kafka.client
            )
            heap = await _heap_phase(
                settings, stack, colours, case_ids, label, progress, kafka.client
            )
        progress.step("baseline")
        baseline = await _baseline(kafka, pipeline, settings)
        broker_after_baseline = proc_status_kib(pid)
    profile = None
    if profiler is not None and settings.profile_dir is not None:
        name = f"profile-{database.value}-{size}"
        if settings.pairs > 1:
            name += f"-{pair}"
        profile = write_profile(profiler, settings.profile_dir / f"{name}.txt")
    progress.run_finished()
    return run_report(
        database=database.value,
        load=settings.load,
        in_flight=settings.in_flight,
        pair=pair,
        statements=statements,
        postgresql_measured=server is not None,
        pipeline=pipeline,
        baseline=baseline,
        clock=clock,
        idle=idle,
        objects=objects,
        heap=heap,
        memory_peaks=memory.peaks,
        memory_at_start=memory.first,
        broker_after_pipeline=broker_after_pipeline,
        broker_after_baseline=broker_after_baseline,
        profile=profile,
    )


async def _heap_phase(
    settings: BenchSettings,
    stack: EmbeddedStack,
    colours: Sequence[Colour],
    case_ids: Sequence[str],
    label: str,
    progress: Progress,
    client: Mapping[str, Any],
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
        colours[:count],
        case_ids[:count],
        in_flight=settings.in_flight,
        timeout_seconds=settings.timeout_seconds,
        fetch_max_wait_ms=settings.fetch_max_wait_ms,
        client=client,
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
    kafka: BenchBroker, pipeline: PipelineResult, settings: BenchSettings
) -> BaselineResult:
    return await run_baseline(
        kafka.bootstrap,
        pipeline.questions,
        pipeline.answers,
        # The same fetch wait as the pipeline's consumers: on Tansu it bounds every hop.
        group_options={
            **settings.kafka.group_options,
            "fetch_max_wait_ms": settings.fetch_max_wait_ms,
        },
        timeout_seconds=settings.timeout_seconds,
        client=kafka.client,
    )
