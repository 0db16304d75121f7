"""The benchmark's figures: one JSON document (with how and where they were measured), and
the rich tables printed at the end."""

from __future__ import annotations

import json
import subprocess
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from devtools.bench.baseline import BaselineResult
from devtools.bench.measure import (
    CpuClock,
    HeapReading,
    ObjectCount,
    machine,
    percentiles,
    ru_maxrss_kib,
    summarize,
)
from devtools.bench.pipeline import PipelineResult
from devtools.bench.statements import StatementCounter
from devtools.bench.wire import total_bytes

__all__ = [
    "RSS_FLAT_TARGET",
    "document",
    "git_state",
    "memory_flatness",
    "print_tables",
    "run_report",
    "summary",
    "write_json",
]

RSS_FLAT_TARGET = 1.2  # the service's RSS at the largest size ÷ at the smallest (issue 15)
# CPU per round per process, as named in the JSON (`cpu_per_round_ms`).
PROCESSES = ("service", "adapters", "broker", "postgresql")


def run_report(
    *,
    database: str,
    load: str,
    in_flight: int,
    pair: int,
    statements: StatementCounter,
    postgresql_measured: bool,
    pipeline: PipelineResult,
    baseline: BaselineResult,
    clock: CpuClock,
    idle: CpuClock,
    objects: ObjectCount,
    heap: HeapReading | None,
    memory_peaks: Mapping[str, int],
    broker_after_pipeline: Mapping[str, int],
    broker_after_baseline: Mapping[str, int],
    profile: dict[str, Any] | None,
    memory_at_start: Mapping[str, int],
) -> dict[str, Any]:
    elapsed = pipeline.elapsed_seconds
    messages = len(pipeline.questions) + len(pipeline.answers)
    pipeline_rate = messages / elapsed
    baseline_rate = baseline.messages / baseline.elapsed_seconds
    completed = sum(pipeline.completions.values())
    return {
        "database": database,
        "youths": pipeline.rounds,
        "load": load,  # "capacity" (every round opened at once) or "<n> in flight"
        "in_flight": in_flight,  # 0: capacity
        "pair": pair,  # which of the interleaved pipeline + baseline pairs
        "cpu_per_round_ms": _cpu_per_round(clock, pipeline.rounds, database, postgresql_measured),
        # The stack at rest: % of one core per process (the consumers' polling).
        "idle_cpu_percent": _idle_percent(idle, database, postgresql_measured),
        "statements": statements.per_round(pipeline.rounds),
        "rounds": {
            "opened": pipeline.rounds,
            "completed": completed,
            "by_completion": pipeline.completions,
            "by_state": pipeline.states,
            "duplicate_results": pipeline.duplicate_results,
            "results_of_earlier_rounds": pipeline.other_results,
            "all_complete": pipeline.completions.get("complete", 0) == pipeline.rounds,
        },
        "elapsed_s": round(elapsed, 3),
        "rounds_per_s": round(pipeline.rounds / elapsed, 2),
        "answers_accepted": pipeline.answers_accepted,
        "answers_per_s": round(pipeline.answers_accepted / elapsed, 2),
        "latency_s": {k: round(v, 3) for k, v in percentiles(pipeline.latencies).items()},
        "messages": {
            "questions": {
                "count": len(pipeline.questions),
                "bytes": total_bytes(pipeline.questions),
            },
            "answers": {"count": len(pipeline.answers), "bytes": total_bytes(pipeline.answers)},
            "total": messages,
            "per_s": round(pipeline_rate, 2),
        },
        "baseline": {
            "questions": baseline.questions,
            "answers": baseline.answers,
            "messages": baseline.messages,
            "elapsed_s": round(baseline.elapsed_seconds, 3),
            "messages_per_s": round(baseline_rate, 2),
        },
        "ratio": round(pipeline_rate / baseline_rate, 4),
        "cpu": {
            "wall_s": round(clock.wall_seconds, 3),
            "python_process_s": round(clock.cpu_seconds, 3),
            "python_event_loop_thread_s": round(clock.main_thread_cpu_seconds, 3),
            "python_other_threads_s": round(clock.cpu_seconds - clock.main_thread_cpu_seconds, 3),
            **{f"{name}_s": round(v, 3) for name, v in clock.other_cpu_seconds.items()},
        },
        "memory": _memory(
            heap,
            objects,
            pipeline.rounds,
            memory_peaks,
            broker_after_pipeline,
            broker_after_baseline,
            memory_at_start,
        ),
        "profile": profile,
    }


def _idle_percent(idle: CpuClock, database: str, postgresql_measured: bool) -> dict[str, Any]:
    seconds = max(idle.wall_seconds, 1e-9)
    return {  # CPU seconds per wall second, as % of one core
        name: None if cpu is None else round(cpu / seconds * 100, 1)
        for name, cpu in _cpu_seconds(idle, database, postgresql_measured).items()
    }


def _cpu_per_round(
    clock: CpuClock, rounds: int, database: str, postgresql_measured: bool
) -> dict[str, Any]:
    """Milliseconds of CPU per round per process. The service is this process (with the
    benchmark's driver: opening rounds, reading results); on SQLite the database is in it."""
    per = 1000 / max(rounds, 1)
    figures = _cpu_seconds(clock, database, postgresql_measured)
    result: dict[str, Any] = {
        name: None if cpu is None else round(cpu * per, 2) for name, cpu in figures.items()
    }
    result["complete"] = database != "postgresql" or figures["postgresql"] is not None
    return result


def _cpu_seconds(
    clock: CpuClock, database: str, postgresql_measured: bool
) -> dict[str, float | None]:
    """CPU seconds per process, and their total. PostgreSQL is every process of its server,
    when it runs on this machine (else None)."""
    other = clock.other_cpu_seconds
    figures: dict[str, float | None] = {
        "service": clock.cpu_seconds,
        "adapters": other.get("adapters_process", 0.0),
        "broker": other.get("broker", 0.0),
        "postgresql": other.get("postgresql")
        if postgresql_measured and database == "postgresql"
        else None,
    }
    figures["total"] = sum(v for v in figures.values() if v is not None)
    return figures


def _memory(
    heap: HeapReading | None,
    objects: ObjectCount,
    rounds: int,
    peaks: Mapping[str, int],
    broker_after_pipeline: Mapping[str, int],
    broker_after_baseline: Mapping[str, int],
    at_start: Mapping[str, int],
) -> dict[str, Any]:
    return {
        # The municipal service (with the benchmark's driver) is the "python" process.
        "python_rss_peak_kib": peaks.get("python", 0),  # sampled during the timed rounds
        # When the rounds start: what registering the cases left in this process (the
        # synthetic youths themselves are made in another, devtools.bench.cases).
        "python_rss_at_start_kib": at_start.get("python", 0),
        "adapters_rss_peak_kib": peaks.get("adapters", 0),  # the 14 adapters' own process
        "python_ru_maxrss_kib": ru_maxrss_kib(),  # whole process life, up to this run's end
        "broker_rss_peak_kib": peaks.get("broker", 0),  # sampled during the timed rounds
        "broker_vmhwm_kib_after_pipeline": broker_after_pipeline.get("VmHWM", 0),
        "broker_vmhwm_kib_after_baseline": broker_after_baseline.get("VmHWM", 0),
        # Over the timed rounds, after a full gc on both sides; no tracing, so no slow-down.
        "python_objects": {
            "gc_tracked_before": objects.objects_before,
            "gc_tracked_after": objects.objects_after,
            "gc_tracked_growth_per_round": round(
                (objects.objects_after - objects.objects_before) / rounds, 2
            ),
            "allocated_blocks_before": objects.blocks_before,
            "allocated_blocks_after": objects.blocks_after,
            "top_growth_by_type": objects.top_growth,
        },
        "heap": None if heap is None or heap.rounds == 0 else _heap(heap),
    }


def _heap(heap: HeapReading) -> dict[str, Any]:
    return {
        "traced_rounds": heap.rounds,  # extra rounds after the timed ones, under tracemalloc
        "repeated_results_seen": heap.repeated_results,  # at-least-once: published again
        "before_bytes": heap.before,
        "after_bytes": heap.after,
        "growth_bytes": heap.growth,
        "growth_per_round_bytes": round(heap.growth / heap.rounds, 1),
        "peak_bytes": heap.peak,
        "top_growth": heap.top_growth,
    }


def document(
    *,
    command: str,
    git: Mapping[str, Any],
    started_at: str,
    settings: Mapping[str, Any],
    runs: Sequence[Mapping[str, Any]],
    skipped: Mapping[str, str],
) -> dict[str, Any]:
    return {
        "command": command,
        "started_at": started_at,
        "git": dict(git),
        "machine": machine(),
        "settings": dict(settings),
        "runs": list(runs),
        "summary": summary(runs),
        "memory_flatness": memory_flatness(runs),
        "skipped": dict(skipped),
    }


def _figures(run: Mapping[str, Any]) -> dict[str, float | None]:
    """The figures of one run that the summary gives min and median of."""
    cpu, statements = run["cpu_per_round_ms"], run["statements"]
    latency = run["latency_s"]
    return {
        "rounds_per_s": run["rounds_per_s"],
        "ratio": run["ratio"],
        "baseline_messages_per_s": run["baseline"]["messages_per_s"],
        "latency_p50_s": latency.get("p50"),
        "latency_p95_s": latency.get("p95"),
        **{f"cpu_{name}_ms_per_round": cpu[name] for name in (*PROCESSES, "total")},
        "statements_per_round": statements["statements_per_round"],
        "commits_per_round": statements["commits_per_round"],
        "service_rss_peak_kib": run["memory"]["python_rss_peak_kib"],
    }


def summary(runs: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per database, size and load: min, median and max of every figure over the pairs."""
    groups: dict[tuple[str, int, str], list[Mapping[str, Any]]] = defaultdict(list)
    for run in runs:
        groups[(run["database"], run["youths"], run["load"])].append(run)
    result = []
    for (database, youths, load), group in groups.items():
        figures = [_figures(run) for run in group]
        result.append(
            {
                "database": database,
                "youths": youths,
                "load": load,
                "pairs": len(group),
                **{
                    name: summarize([v for f in figures if (v := f[name]) is not None])
                    for name in figures[0]
                },
            }
        )
    return result


def memory_flatness(runs: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per database and load: the service's peak RSS (median over pairs) at the smallest and
    the largest size, and their ratio; flat in N means at most `RSS_FLAT_TARGET`."""
    result = []
    by_group: dict[tuple[str, str], dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))
    for run in runs:
        rss = run["memory"]["python_rss_peak_kib"]
        by_group[(run["database"], run["load"])][run["youths"]].append(rss)
    for (database, load), sizes in by_group.items():
        if len(sizes) < 2:
            continue
        small, large = min(sizes), max(sizes)
        rss_small = summarize(sizes[small])["median"]
        rss_large = summarize(sizes[large])["median"]
        ratio = rss_large / rss_small if rss_small else None
        result.append(
            {
                "database": database,
                "load": load,
                "sizes": [small, large],
                "service_rss_peak_kib_median": [rss_small, rss_large],
                "ratio": None if ratio is None else round(ratio, 3),
                "target": RSS_FLAT_TARGET,
                "flat": ratio is not None and ratio <= RSS_FLAT_TARGET,
            }
        )
    return result


def write_json(doc: Mapping[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def print_tables(doc: Mapping[str, Any], console: Console) -> None:
    runs = doc["runs"]
    load = ", ".join(sorted({run["load"] for run in runs}))
    pairs = any(run["pair"] > 1 for run in runs)
    for table in (_speed_table(runs, pairs), _cpu_table(runs, pairs), _memory_table(runs, pairs)):
        if load:
            table.title = f"{table.title} ({load})"
        console.print(table)
    if any(group["pairs"] > 1 for group in doc["summary"]):
        console.print(_summary_table(doc["summary"]))
    for flat in doc["memory_flatness"]:
        small, large = flat["sizes"]
        rss_small, rss_large = flat["service_rss_peak_kib_median"]
        verdict = "[green]flat[/]" if flat["flat"] else "[red]grows[/]"
        console.print(
            f"Service RSS, {flat['database']}, {flat['load']}: {_mib(rss_small)} at {small:,}, "
            f"{_mib(rss_large)} at {large:,} rounds: {flat['ratio']:.2f}x "
            f"(target <= {flat['target']}x) {verdict}"
        )
    for database, reason in doc["skipped"].items():
        console.print(f"[yellow]skipped {database}[/]: {reason}")


def _run_columns(table: Table, pairs: bool) -> None:
    for column in ("database", "N", *(("pair",) if pairs else ())):
        table.add_column(column, justify="right")


def _run_cells(run: Mapping[str, Any], pairs: bool) -> tuple[str, ...]:
    return (run["database"], f"{run['youths']:,}", *((str(run["pair"]),) if pairs else ()))


def _speed_table(runs: Sequence[Mapping[str, Any]], pairs: bool) -> Table:
    speed = Table(title="Throughput: pipeline vs plain aiokafka (same broker and messages)")
    _run_columns(speed, pairs)
    for column in ("rounds/s", "answers/s", "latency s p50/p95/p99"):
        speed.add_column(column, justify="right")
    for column in ("pipeline msg/s", "baseline msg/s", "ratio"):
        speed.add_column(column, justify="right")
    for run in runs:
        lat = run["latency_s"]
        speed.add_row(
            *_run_cells(run, pairs),
            f"{run['rounds_per_s']:.1f}",
            f"{run['answers_per_s']:.1f}",
            f"{lat['p50']:.2f} / {lat['p95']:.2f} / {lat['p99']:.2f}",
            f"{run['messages']['per_s']:.0f}",
            f"{run['baseline']['messages_per_s']:.0f}",
            f"{run['ratio']:.3f}",
        )
    return speed


def _cpu_table(runs: Sequence[Mapping[str, Any]], pairs: bool) -> Table:
    cpu = Table(title="CPU per round (ms); the service's statements and commits per round")
    _run_columns(cpu, pairs)
    for column in ("service", "adapters", "broker", "Postgre SQL", "total"):
        cpu.add_column(column, justify="right")
    for column in ("statements", "commits"):
        cpu.add_column(column, justify="right")
    for run in runs:
        ms, statements = run["cpu_per_round_ms"], run["statements"]
        cpu.add_row(
            *_run_cells(run, pairs),
            *(_ms(ms[name]) for name in (*PROCESSES, "total")),
            f"{statements['statements_per_round']:.1f}",
            f"{statements['commits_per_round']:.2f}",
        )
    return cpu


def _memory_table(runs: Sequence[Mapping[str, Any]], pairs: bool) -> Table:
    memory = Table(title="Memory")
    _run_columns(memory, pairs)
    columns = (
        "service RSS at start",
        "service RSS peak",
        "adapters RSS peak",
        "broker RSS peak",
        "objects Δ/round",
    )
    for column in (*columns, "heap Δ (rounds traced)", "heap Δ/round"):
        memory.add_column(column, justify="right")
    for run in runs:
        mem, heap = run["memory"], run["memory"]["heap"]
        memory.add_row(
            *_run_cells(run, pairs),
            _mib(mem["python_rss_at_start_kib"]),
            _mib(mem["python_rss_peak_kib"]),
            _mib(mem["adapters_rss_peak_kib"]),
            _mib(mem["broker_rss_peak_kib"]),
            f"{mem['python_objects']['gc_tracked_growth_per_round']:+.1f}",
            "-"
            if heap is None
            else f"{heap['growth_bytes'] / 2**20:+.2f} MiB ({heap['traced_rounds']})",
            "-" if heap is None else f"{heap['growth_per_round_bytes']:+.0f} B",
        )
    return memory


def _summary_table(groups: Sequence[Mapping[str, Any]]) -> Table:
    table = Table(title="Over the interleaved pairs: min / median")
    for column in ("database", "youths", "load", "pairs", "rounds/s", "ratio"):
        table.add_column(column, justify="right")
    for column in ("latency p50 s", "latency p95 s", "CPU ms/round", "statements/round"):
        table.add_column(column, justify="right")
    table.add_column("service RSS peak", justify="right")

    def cell(figure: Mapping[str, float], spec: str) -> str:
        if not figure:
            return "-"
        return f"{figure['min']:{spec}} / {figure['median']:{spec}}"

    for group in groups:
        rss = group["service_rss_peak_kib"]
        table.add_row(
            group["database"],
            f"{group['youths']:,}",
            group["load"],
            str(group["pairs"]),
            cell(group["rounds_per_s"], ".1f"),
            cell(group["ratio"], ".4f"),
            cell(group["latency_p50_s"], ".2f"),
            cell(group["latency_p95_s"], ".2f"),
            cell(group["cpu_total_ms_per_round"], ".1f"),
            cell(group["statements_per_round"], ".1f"),
            f"{_mib(int(rss['min']))} / {_mib(int(rss['median']))}" if rss else "-",
        )
    return table


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _mib(kib: int) -> str:
    return f"{kib / 1024:.0f} MiB"


def git_state() -> dict[str, Any]:
    """The commit checked out, and whether the work tree differs from it (call at start)."""

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", *args], capture_output=True, text=True, check=True)
        except (OSError, subprocess.CalledProcessError):
            return None
        return done.stdout.strip()

    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": git("rev-parse", "HEAD"), "dirty": None if status is None else bool(status)}
