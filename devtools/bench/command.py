"""`iaj bench`: how fast is the whole system, next to plain aiokafka on the same broker."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import shlex
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from broker.cli.common import fail, out
from broker.service.allocator import keep_large_buffers_returnable
from devtools.adapter_group import EMBEDDED_FETCH_MAX_WAIT_MS, KAFKA_FETCH_MAX_WAIT_MS
from devtools.bench import BenchSettings, Database, run_bench
from devtools.bench.brokers import BrokerKind
from devtools.bench.databases import DEFAULT_POSTGRES_DSN, LOCAL_POSTGRES
from devtools.bench.report import document, git_state, print_tables, write_json
from devtools.bench.runner import CAPACITY

__all__ = ["app", "bench"]


class _RichProgress:
    """Rounds completed / N, one bar per run."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._label = ""
        self._task: Any = None

    def run_started(self, label: str, rounds: int) -> None:
        self._label = label
        self._task = self._progress.add_task(f"{label}: starting", total=rounds)

    def step(self, text: str) -> None:
        self._progress.update(self._task, description=f"{self._label}: {text}")

    def round_done(self) -> None:
        self._progress.advance(self._task)

    def run_finished(self) -> None:
        self.step("done")


class _Results:
    """The JSON document, written again after every run: a long run that fails or is
    stopped still leaves the figures of the runs it finished."""

    def __init__(
        self, path: Path, command: str, started: dt.datetime, settings: BenchSettings
    ) -> None:
        self.path, self._command, self._started, self._settings = path, command, started, settings
        self._git = git_state()  # now: commits made while a long run goes on are not in it
        self.runs: list[dict[str, Any]] = []
        self.skipped: dict[str, str] = {}

    def add_run(self, run: dict[str, Any]) -> None:
        self.runs.append(run)
        self.save()

    def skip(self, database: str, reason: str) -> None:
        self.skipped[database] = reason

    def save(self) -> dict[str, Any]:
        doc = document(
            command=self._command,
            git=self._git,
            started_at=self._started.isoformat(),
            settings=self._settings.as_json(),
            runs=self.runs,
            skipped=self.skipped,
        )
        write_json(doc, self.path)
        return doc


def _sizes(youths: int, sizes: str | None) -> tuple[int, ...]:
    if sizes is None:  # N and 5N: the service's memory must not grow with the rounds
        return (youths, 5 * youths)
    try:
        parsed = tuple(int(s) for s in sizes.split(",") if s.strip())
    except ValueError:
        fail(f"--sizes takes whole numbers separated by commas, not {sizes!r}", 2)
    if not parsed or min(parsed) < 1:
        fail("--sizes needs at least one size of 1 or more", 2)
    return parsed


def _databases(names: str) -> tuple[Database, ...]:
    try:
        return tuple(Database(n.strip()) for n in names.split(",") if n.strip())
    except ValueError:
        fail(f"--databases takes sqlite and/or postgresql, not {names!r}", 2)


def bench(
    youths: Annotated[int, typer.Option("--youths", min=1, help="Rounds in the main run.")] = 1000,
    sizes: Annotated[
        str | None,
        typer.Option(help="Sizes to run, e.g. 1000,5000 (default: N and 5N)."),
    ] = None,
    databases: Annotated[
        str, typer.Option(help="Comma-separated: sqlite, postgresql (skipped if unreachable).")
    ] = "sqlite,postgresql",
    in_flight: Annotated[
        int, typer.Option(min=0, help="Rounds open at once (0: all at once, as --capacity).")
    ] = 25,
    capacity: Annotated[
        bool,
        typer.Option(
            "--capacity",
            help="Open every round at once: the most the system does per second "
            "(overrides --in-flight).",
        ),
    ] = False,
    pairs: Annotated[
        int,
        typer.Option(
            min=1,
            help="Runs per database and size, each the pipeline then the baseline, the pairs "
            "interleaved; the report gives min and median over them.",
        ),
    ] = 1,
    kafka: Annotated[
        BrokerKind,
        typer.Option(
            help="The broker: embedded (Tansu) or apache (Apache Kafka as deployed, SASL and "
            "ACLs; needs Java and `make kafka-jars`).",
        ),
    ] = BrokerKind.EMBEDDED,
    fetch_max_wait_ms: Annotated[
        int | None,
        typer.Option(
            min=0,
            help="Every consumer's fetch wait (service, adapters, baseline). Default: "
            f"{EMBEDDED_FETCH_MAX_WAIT_MS} ms on the embedded broker, which does not answer a "
            f"waiting fetch when data arrives; {KAFKA_FETCH_MAX_WAIT_MS} ms on Apache Kafka.",
        ),
    ] = None,
    json_out: Annotated[
        Path | None,
        typer.Option(help="Where to write the JSON (default bench-results/bench-<time>.json)."),
    ] = None,
    profile: Annotated[
        bool, typer.Option(help="Run the rounds under cProfile; report next to the JSON.")
    ] = False,
    heap_rounds: Annotated[
        int,
        typer.Option(
            min=0,
            help="After the timed rounds, this many more under tracemalloc (0: none): the heap "
            "kept per round.",
        ),
    ] = 50,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic focus list.")] = 2026,
    postgres_dsn: Annotated[
        str,
        typer.Option(
            help=f"Server to create the throw-away databases on; {LOCAL_POSTGRES!r}: start one "
            "of the benchmark's own (fsync on), as `make bench` does."
        ),
    ] = DEFAULT_POSTGRES_DSN,
    timeout: Annotated[float, typer.Option(min=1, help="Seconds allowed per phase.")] = 1800.0,
) -> None:
    """Run N rounds through the whole system (embedded Kafka, the service, 14 adapters), then
    the same messages through plain aiokafka, and report speed, latency, CPU per round per
    process, the service's statements and commits per round, and memory."""
    started = dt.datetime.now(dt.UTC)
    path = json_out or Path("bench-results") / f"bench-{started:%Y%m%dT%H%M%SZ}.json"
    settings = BenchSettings(
        sizes=_sizes(youths, sizes),
        databases=_databases(databases),
        in_flight=CAPACITY if capacity else in_flight,
        pairs=pairs,
        kafka=kafka,
        fetch_wait_override_ms=fetch_max_wait_ms,
        seed=seed,
        heap_rounds=heap_rounds,
        profile_dir=path.parent if profile else None,
        postgres_dsn=postgres_dsn,
        timeout_seconds=timeout,
        # The service runs in this process: its allocator as `iaj serve` sets it.
        malloc_thresholds_fixed=keep_large_buffers_returnable(),
    )
    # FastStream logs a line or two per message for each of the 15 consumers (to stdout, its
    # own handlers): that would bury the progress bar. Warnings and errors still show.
    logging.disable(logging.INFO)
    results = _Results(path, shlex.join(sys.argv), started, settings)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    # Redrawn twice a second, not rich's ten: the bar's thread runs in the process measured
    # as the service's, and a redraw costs it CPU that no deployment spends.
    with Progress(*columns, console=out, refresh_per_second=2) as bar:
        asyncio.run(run_bench(settings, _RichProgress(bar), results.add_run, results.skip))
    doc = results.save()
    print_tables(doc, out)
    out.print(f"JSON: {path}")
    runs = doc["runs"]
    if not runs:
        fail("no run completed: no database could be used", 1)
    if not all(run["rounds"]["all_complete"] for run in runs):
        fail("not every round completed by its answers (see rounds.by_completion)", 1)


# One command: `iaj bench` hands its arguments to this app (broker/cli/dev.py).
app = typer.Typer(add_completion=False, pretty_exceptions_show_locals=False)
app.command()(bench)
