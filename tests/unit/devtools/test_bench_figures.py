"""The benchmark's own arithmetic: statements and commits counted on an engine, CPU of a
process tree, min and median over interleaved pairs, and whether memory is flat in N."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from devtools.adapter_group import EMBEDDED_FETCH_MAX_WAIT_MS, KAFKA_FETCH_MAX_WAIT_MS
from devtools.bench.command import _sizes
from devtools.bench.measure import parent_pid, process_tree_cpu_seconds, summarize
from devtools.bench.report import memory_flatness, summary
from devtools.bench.statements import StatementCounter, statement_kind
from devtools.embedded_stack import StackOptions


def test_statements_are_named_by_their_verb() -> None:
    assert statement_kind("INSERT INTO inbox VALUES (1)") == "insert"
    assert statement_kind("  select 1") == "select"
    assert statement_kind("WITH c AS (SELECT 1) UPDATE rounds SET x = 1") == "with update"
    assert statement_kind("WITH c AS (SELECT 1) SELECT * FROM c") == "with"


async def test_statements_and_commits_are_counted_while_listening(tmp_path: Path) -> None:
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'count.db'}")
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (x INTEGER)"))
        counter = StatementCounter(engine)
        with counter:
            async with engine.begin() as conn:
                await conn.execute(text("INSERT INTO t VALUES (:x)"), [{"x": 1}, {"x": 2}])
                await conn.execute(text("SELECT x FROM t"))
            async with engine.begin() as conn:
                await conn.execute(text("UPDATE t SET x = 3"))
        async with engine.begin() as conn:  # not listening any more
            await conn.execute(text("SELECT 1"))
    finally:
        await engine.dispose()
    figures = counter.per_round(2)
    assert figures["statements"] == 3
    assert figures["commits"] == 2
    assert figures["executemany"] == 1
    assert figures["parameter_sets"] == 4
    assert figures["statements_per_round"] == 1.5
    assert figures["commits_per_round"] == 1.0
    assert figures["by_kind_per_round"] == {"insert": 0.5, "select": 0.5, "update": 0.5}


def test_a_process_tree_counts_the_cpu_of_the_process() -> None:
    sum(i * i for i in range(200_000))  # some CPU of our own
    assert process_tree_cpu_seconds(os.getpid()) > 0
    assert parent_pid(os.getpid()) == os.getppid()
    assert process_tree_cpu_seconds(2**22 + 12345) == 0.0  # no such process


def test_min_and_median_over_pairs() -> None:
    assert summarize([3.0, 1.0, 2.0]) == {"min": 1.0, "median": 2.0, "max": 3.0, "n": 3}
    assert summarize([]) == {}


def _run(youths: int, pair: int, rss_kib: int, rate: float) -> dict[str, Any]:
    return {
        "database": "postgresql",
        "youths": youths,
        "load": "capacity",
        "pair": pair,
        "rounds_per_s": rate,
        "ratio": rate / 1000,
        "baseline": {"messages_per_s": 1000.0},
        "latency_s": {"p50": 0.2, "p95": 0.4},
        "cpu_per_round_ms": {
            "service": 5.0,
            "adapters": 3.0,
            "broker": 1.0,
            "postgresql": None,
            "total": 9.0,
        },
        "statements": {"statements_per_round": 4.0, "commits_per_round": 0.5},
        "memory": {"python_rss_peak_kib": rss_kib},
    }


def test_the_summary_and_memory_flatness_over_interleaved_pairs() -> None:
    runs = [
        _run(1000, 1, 100_000, 10.0),
        _run(5000, 1, 110_000, 12.0),
        _run(1000, 2, 104_000, 14.0),
        _run(5000, 2, 130_000, 16.0),
    ]
    (small, large) = summary(runs)
    assert (small["youths"], small["pairs"]) == (1000, 2)
    assert small["rounds_per_s"]["min"] == 10.0
    assert small["rounds_per_s"]["median"] == 12.0
    assert small["cpu_postgresql_ms_per_round"] == {}  # not measured: no figure
    assert large["cpu_total_ms_per_round"]["median"] == 9.0
    (flat,) = memory_flatness(runs)
    assert flat["sizes"] == [1000, 5000]
    assert flat["service_rss_peak_kib_median"] == [102_000, 120_000]
    assert flat["ratio"] == pytest.approx(120 / 102, abs=0.001)
    assert flat["flat"] is True
    runs.append(_run(5000, 3, 200_000, 16.0))
    assert memory_flatness(runs)[0]["flat"] is False


def test_default_sizes_are_n_and_five_n() -> None:
    assert _sizes(1000, None) == (1000, 5000)
    assert _sizes(1000, "40") == (40,)


def test_the_embedded_broker_gets_a_short_fetch_wait_and_apache_kafka_the_default(
    tmp_path: Path,
) -> None:
    embedded = StackOptions(workdir=tmp_path)
    assert embedded.consumer_fetch_max_wait_ms() == EMBEDDED_FETCH_MAX_WAIT_MS
    apache = StackOptions(workdir=tmp_path, kafka_passwords={"iaj-municipal": "x"})
    assert apache.consumer_fetch_max_wait_ms() == KAFKA_FETCH_MAX_WAIT_MS
    chosen = StackOptions(workdir=tmp_path, fetch_max_wait_ms=50)
    assert chosen.consumer_fetch_max_wait_ms() == 50
