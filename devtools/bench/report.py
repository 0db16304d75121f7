"""The benchmark's figures: one JSON document (with how and where they were measured), and
the rich tables printed at the end."""

from __future__ import annotations

import json
import subprocess
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
)
from devtools.bench.pipeline import PipelineResult
from devtools.bench.wire import total_bytes

__all__ = ["document", "git_state", "print_tables", "run_report", "write_json"]


def run_report(
    *,
    database: str,
    pipeline: PipelineResult,
    baseline: BaselineResult,
    clock: CpuClock,
    objects: ObjectCount,
    heap: HeapReading | None,
    memory_peaks: Mapping[str, int],
    tansu_after_pipeline: Mapping[str, int],
    tansu_after_baseline: Mapping[str, int],
    profile: dict[str, Any] | None,
) -> dict[str, Any]:
    elapsed = pipeline.elapsed_seconds
    messages = len(pipeline.questions) + len(pipeline.answers)
    pipeline_rate = messages / elapsed
    baseline_rate = baseline.messages / baseline.elapsed_seconds
    completed = sum(pipeline.completions.values())
    return {
        "database": database,
        "youths": pipeline.rounds,
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
            heap, objects, pipeline.rounds, memory_peaks, tansu_after_pipeline, tansu_after_baseline
        ),
        "profile": profile,
    }


def _memory(
    heap: HeapReading | None,
    objects: ObjectCount,
    rounds: int,
    peaks: Mapping[str, int],
    tansu_after_pipeline: Mapping[str, int],
    tansu_after_baseline: Mapping[str, int],
) -> dict[str, Any]:
    return {
        # The municipal service (with the benchmark's driver) is the "python" process.
        "python_rss_peak_kib": peaks.get("python", 0),  # sampled during the timed rounds
        "adapters_rss_peak_kib": peaks.get("adapters", 0),  # the 14 adapters' own process
        "python_ru_maxrss_kib": ru_maxrss_kib(),  # whole process life, up to this run's end
        "tansu_rss_peak_kib": peaks.get("tansu", 0),  # sampled during the timed rounds
        "tansu_vmhwm_kib_after_pipeline": tansu_after_pipeline.get("VmHWM", 0),
        "tansu_vmhwm_kib_after_baseline": tansu_after_baseline.get("VmHWM", 0),
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
        "skipped": dict(skipped),
    }


def write_json(doc: Mapping[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def print_tables(doc: Mapping[str, Any], console: Console) -> None:
    speed = Table(title="Throughput: pipeline vs plain aiokafka (same broker, same messages)")
    for column in ("database", "youths", "rounds/s", "answers/s", "latency p50/p95/p99 s"):
        speed.add_column(column, justify="right")
    for column in ("pipeline msg/s", "baseline msg/s", "ratio"):
        speed.add_column(column, justify="right")
    memory = Table(title="Memory")
    columns: tuple[str, ...] = ("database", "youths", "service RSS peak", "adapters RSS peak")
    columns = (*columns, "tansu RSS peak", "objects Δ/round")
    for column in (*columns, "heap Δ (traced rounds)", "heap Δ/round"):
        memory.add_column(column, justify="right")
    for run in doc["runs"]:
        lat = run["latency_s"]
        mem, heap = run["memory"], run["memory"]["heap"]
        speed.add_row(
            run["database"],
            str(run["youths"]),
            f"{run['rounds_per_s']:.1f}",
            f"{run['answers_per_s']:.1f}",
            f"{lat['p50']:.2f} / {lat['p95']:.2f} / {lat['p99']:.2f}",
            f"{run['messages']['per_s']:.0f}",
            f"{run['baseline']['messages_per_s']:.0f}",
            f"{run['ratio']:.3f}",
        )
        memory.add_row(
            run["database"],
            str(run["youths"]),
            _mib(mem["python_rss_peak_kib"]),
            _mib(mem["adapters_rss_peak_kib"]),
            _mib(mem["tansu_rss_peak_kib"]),
            f"{mem['python_objects']['gc_tracked_growth_per_round']:+.1f}",
            "-"
            if heap is None
            else f"{heap['growth_bytes'] / 2**20:+.2f} MiB ({heap['traced_rounds']})",
            "-" if heap is None else f"{heap['growth_per_round_bytes']:+.0f} B",
        )
    console.print(speed)
    console.print(memory)
    for database, reason in doc["skipped"].items():
        console.print(f"[yellow]skipped {database}[/]: {reason}")


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
