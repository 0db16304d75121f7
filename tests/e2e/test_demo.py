"""`iaj demo --json` as a script runs it: the whole system on its own embedded Kafka.

One run with 8 youths and a 15 s round deadline (about 25 s); the assertions read its JSON,
its workdir and the municipal database the way an auditor would.
"""

from __future__ import annotations

import csv
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from broker.cli import app
from devtools.demo.inputs import FOCUS_LIST_FILE
from devtools.demo.run import LOG_FILE

pytestmark = pytest.mark.e2e

# What OversharingLookup adds to a 'ja' (partner_adapters/reference/lookup.py).
OVERSHARED = ("Uitgebreide toelichting", "FICTIEF-0001")


def _database_text(path: Path) -> str:
    """Every value of every row of every table, as one string."""
    parts: list[str] = []
    with sqlite3.connect(path) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            for row in db.execute(f'SELECT * FROM "{table}"'):
                parts.extend(
                    v.decode(errors="replace") if isinstance(v, bytes) else str(v) for v in row
                )
    return "\n".join(parts)


def _bruto_names(workdir: Path) -> list[str]:
    with (workdir / FOCUS_LIST_FILE).open(encoding="utf-8") as handle:
        return [row["naam"] for row in csv.DictReader(handle) if row["lijst"] == "bruto"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, str, Path]:
    workdir = tmp_path_factory.mktemp("demo") / "run"
    # 15 s: even a busy machine answers the honest partners well within it, so only the
    # over-sharing partner's questions can expire.
    args = ["demo", "--youths", "8", "--deadline-seconds", "15", "--json"]
    result = CliRunner().invoke(app, [*args, "--workdir", str(workdir)])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout), result.output, workdir


def test_every_round_gets_its_result(demo: tuple[Any, str, Path]) -> None:
    report, _, _ = demo
    assert report["ok"] is True
    assert report["summary"]["rounds"] == 8
    assert report["summary"]["unfinished"] == 0
    assert all(r["completion"] in {"complete", "deadline"} for r in report["rounds"])
    assert report["summary"]["dead_letters"] == 0


def test_bruto_rows_are_not_taken_in_and_never_named(demo: tuple[Any, str, Path]) -> None:
    report, output, workdir = demo
    assert report["import"]["taken_in"] == 8
    assert [r["reason"] for r in report["import"]["not_taken_in"]] == [
        "bruto list: not taken into the approach, not stored"
    ] * 3
    bruto = _bruto_names(workdir)
    assert len(bruto) == 3
    municipal = _database_text(workdir / "iaj.db")
    for naam in bruto:
        assert naam not in output
        assert naam not in municipal


def test_the_log_names_nobody(demo: tuple[Any, str, Path]) -> None:
    _, _, workdir = demo
    with (workdir / FOCUS_LIST_FILE).open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    people = [r["naam"] for r in rows] + [
        member.rpartition(":")[0] for r in rows for member in r["gezinsleden"].split(";") if member
    ]
    log = (workdir / LOG_FILE).read_text(encoding="utf-8")
    assert log, "the run logged to its workdir"
    assert [naam for naam in people if naam in log] == []


def test_the_over_sharing_partner_is_stopped_at_source(demo: tuple[Any, str, Path]) -> None:
    report, _, workdir = demo
    assert report["oversharing"] == ["swt"]
    refusals = report["refusals_at_source"]
    assert refusals
    assert {r["partner"] for r in refusals} == {"swt"}
    assert {r["reason"] for r in refusals} <= {"field_not_permitted", "content_on_nee"}
    assert report["partners"]["swt"]["refused_at_source"] == sum(r["count"] for r in refusals)

    expired = {
        partner
        for r in report["rounds"]
        for partner, outcomes in r["partners"].items()
        for o in outcomes
        if o["status"] == "expired"
    }
    assert expired == {"swt"}, "only the over-sharing partner's refused questions expire"
    assert report["summary"]["by_deadline"] >= 1

    # Nothing over-shared reached the municipality, not even as something it refused.
    municipal = _database_text(workdir / "iaj.db")
    for text in OVERSHARED:
        assert text not in municipal
    assert report["summary"]["refused_by_municipality"] == 0


def test_answers_carry_only_what_the_colour_permits(demo: tuple[Any, str, Path]) -> None:
    report, _, _ = demo
    for r in report["rounds"]:
        for outcomes in r["partners"].values():
            for o in outcomes:
                if r["colour"] != "rood" and o["answer"] is not None:
                    assert "toelichting" not in o["answer"], "only rood permits a toelichting"
                    assert "detail" not in o["answer"], "only rood permits detail"
