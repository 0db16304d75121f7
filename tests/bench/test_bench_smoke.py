"""`iaj bench` with ten youths, so the benchmark cannot rot: every figure present and sane."""

from __future__ import annotations

import json
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
    command += ["--profile", "--json-out", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Throughput" in done.stdout, "the tables are printed"
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
    assert run["cpu"]["tansu_s"] >= 0


def test_memory_of_every_process_and_the_heap(report: dict[str, Any]) -> None:
    (run,) = report["runs"]
    memory = run["memory"]
    for figure in (
        "python_rss_peak_kib",
        "python_ru_maxrss_kib",
        "adapters_rss_peak_kib",
        "tansu_rss_peak_kib",
        "tansu_vmhwm_kib_after_pipeline",
        "tansu_vmhwm_kib_after_baseline",
    ):
        assert memory[figure] > 0, figure
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
