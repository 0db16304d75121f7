"""The benchmark's focus list, written by a process of its own, is the one it would generate."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from contracts.enums import Colour, Partner
from devtools.bench.cases import write_focus_list
from devtools.synthetic_youths import focus_list
from handlers.cases import NewCase

TODAY = dt.date(2026, 11, 30)


def test_the_cases_file_holds_every_youth_with_its_colour(tmp_path: Path) -> None:
    cases = tmp_path / "cases.jsonl"
    write_focus_list(60, 7, TODAY, tmp_path / "records", cases)

    lines = [json.loads(text) for text in cases.read_text(encoding="utf-8").splitlines()]
    expected = focus_list(60, seed=7, today=TODAY)
    assert [NewCase.model_validate(line["case"]) for line in lines] == [y.case for y in expected]
    assert [Colour(line["colour"]) for line in lines] == [y.colour for y in expected]
    assert any(y.case.family for y in expected), "family members travel through the file too"
    written = {path.stem for path in (tmp_path / "records").glob("*.json")}
    assert written == {partner.value for partner in Partner}, "each partner's records"
