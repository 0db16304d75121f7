"""`iaj bench` with ten youths, so the benchmark cannot rot: every figure present and sane."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.bench

YOUTHS = 10


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("bench") / "bench.json"
    command = [sys.executable, "-m", "broker.cli", "bench", "--youths", str(YOUTHS)]
    command += ["--sizes", str(YOUTHS), "--databases", "sqlite", "--heap-rounds", "3"]
    command += ["--capacity", "--profile", "--json-out", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Throughput" in done.stdout, "the tables are printed"
    assert "CPU per round" in done.stdout
    document: dict[str, Any] = json.loads(out.read_text())
    return document


def test_the_run_is_described(report: dict[str, Any]) -> None:
    assert "bench" in report["command"]
    assert "--youths 10" in report["command"]
    assert report["git"]["commit"]
    assert report["machine"]["nproc"] >= 1
    assert report["machine"]["cpu_model"]
    assert report["settings"]["sizes"] == [YOUTHS]
    assert report["settings"]["databases"] == ["sqlite"]
    assert report["skipped"] == {}
    # The service's process runs with the allocator `iaj serve` sets (broker.service.allocator).
    fixed = platform.libc_ver()[0] == "glibc" and not any(
        name in os.environ for name in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")
    )
    assert report["settings"]["malloc"].startswith("glibc's") is fixed


def test_every_round_completes_by_its_answers(report: dict[str, Any]) -> None:
    (run,) = report["runs"]
    assert run["database"] == "sqlite"
    assert run["youths"] == YOUTHS
    assert run["rounds"]["by_completion"] == {"complete": YOUTHS}
    assert run["rounds"]["by_state"] == {"complete": YOUTHS}
    assert run["rounds"]["all_complete"] is True


def test_speed_latency_and_ratio_are_positive(report: dict[str, Any]) -> None:
    (run,) = report["runs"]
    for figure in ("elapsed_s", "rounds_per_s", "answers_per_s", "answers_accepted", "ratio"):
        assert run[figure] > 0, figure
    latency = run["latency_s"]
    assert 0 < latency["p50"] <= latency["p95"] <= latency["p99"] <= latency["max"]
    messages, baseline = run["messages"], run["baseline"]
    assert messages["questions"]["count"] >= YOUTHS
    assert messages["answers"]["count"] > 0
    assert messages["questions"]["bytes"] > 0
    assert messages["answers"]["bytes"] > 0
    # The baseline moved exactly the messages the pipeline did.
    assert baseline["questions"] == messages["questions"]["count"]
    assert baseline["answers"] == messages["answers"]["count"]
    assert baseline["messages_per_s"] > 0
    assert run["ratio"] == pytest.approx(messages["per_s"] / baseline["messages_per_s"], rel=0.01)
    assert run["cpu"]["wall_s"] > 0
    assert run["cpu"]["python_process_s"] > 0
    # The adapters answered every question set in their own process: it used CPU too.
    assert run["cpu"]["adapters_process_s"] > 0
    assert run["cpu"]["broker_s"] >= 0


def test_cpu_statements_and_commits_per_round(report: dict[str, Any]) -> None:
    (run,) = report["runs"]
    assert (run["load"], run["in_flight"], run["pair"]) == ("capacity", 0, 1)
    cpu = run["cpu_per_round_ms"]
    assert cpu["service"] > 0
    assert cpu["adapters"] > 0
    assert cpu["broker"] >= 0
    assert cpu["postgresql"] is None  # SQLite: the database is in the service's process
    assert cpu["total"] == pytest.approx(cpu["service"] + cpu["adapters"] + cpu["broker"], 0.01)
    statements = run["statements"]
    assert statements["statements_per_round"] > 0
    assert 0 < statements["commits_per_round"] <= statements["statements_per_round"]
    assert statements["by_kind_per_round"]["insert"] > 0
    (group,) = report["summary"]
    assert group["pairs"] == 1
    assert group["rounds_per_s"]["median"] == run["rounds_per_s"]
    assert report["memory_flatness"] == []  # one size: nothing to compare
    assert report["settings"]["fetch_max_wait_ms"] > 0


def test_the_stack_at_rest_is_measured_before_the_rounds(report: dict[str, Any]) -> None:
    """What the consumers' polling costs with nothing to do, per process, in % of a core."""
    (run,) = report["runs"]
    idle = run["idle_cpu_percent"]
    assert set(idle) == {"service", "adapters", "broker", "postgresql", "total"}
    assert idle["postgresql"] is None  # SQLite
    assert idle["adapters"] > 0  # 14 consumers polling for 3 s
    assert idle["service"] >= 0
    assert idle["broker"] >= 0
    assert idle["total"] == pytest.approx(idle["service"] + idle["adapters"] + idle["broker"], 0.05)


def test_memory_of_every_process_and_the_heap(report: dict[str, Any]) -> None:
    (run,) = report["runs"]
    memory = run["memory"]
    for figure in (
        "python_rss_peak_kib",
        "python_ru_maxrss_kib",
        "adapters_rss_peak_kib",
        "broker_rss_peak_kib",
        "broker_vmhwm_kib_after_pipeline",
        "broker_vmhwm_kib_after_baseline",
    ):
        assert memory[figure] > 0, figure
    # What the rounds start from (the driver's youths and cases are in the process already).
    assert 0 < memory["python_rss_at_start_kib"] <= memory["python_rss_peak_kib"]
    assert memory["python_objects"]["gc_tracked_after"] > 0
    heap = memory["heap"]
    assert heap["traced_rounds"] == 3
    assert heap["after_bytes"] > 0
    assert heap["peak_bytes"] >= heap["after_bytes"]
    assert "growth_per_round_bytes" in heap


def test_the_profile_names_the_costly_functions(report: dict[str, Any]) -> None:
    (run,) = report["runs"]
    profile = run["profile"]
    assert Path(profile["file"]).is_file()
    assert profile["top_cumulative"]
    assert profile["top_tottime"]
    assert profile["own_time_by_package_s"]
