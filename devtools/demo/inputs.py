"""The demo's inputs: a synthetic focus list with bruto rows, and the partners' records.

Everything is written into the workdir, so a kept workdir shows exactly what went in.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from contracts.policy import Policy
from devtools.synthetic_youths import (
    SyntheticYouth,
    focus_list,
    write_focus_list_csv,
    write_partner_records,
)

__all__ = ["DemoInputs", "write_inputs"]

FOCUS_LIST_FILE = "focus-list.csv"
RECORDS_DIR = "partner-records"


@dataclass(frozen=True)
class DemoInputs:
    youths: tuple[SyntheticYouth, ...]
    bruto: tuple[tuple[str, dt.date], ...]  # name and date of birth of each bruto row
    focus_list_csv: Path
    records_dir: Path


def write_inputs(
    workdir: Path, policy: Policy, *, youths: int, bruto: int, seed: int, today: dt.date
) -> DemoInputs:
    netto = tuple(focus_list(youths, seed=seed, today=today))
    rows = _bruto_rows(netto, bruto, seed=seed, today=today)
    csv_path = workdir / FOCUS_LIST_FILE
    write_focus_list_csv(netto, csv_path, bruto=rows)
    records = workdir / RECORDS_DIR
    # Only netto people get partner records: a bruto person is nobody the partners are asked about.
    write_partner_records(netto, policy, records, seed=seed)
    return DemoInputs(netto, rows, csv_path, records)


def _bruto_rows(
    netto: tuple[SyntheticYouth, ...], count: int, *, seed: int, today: dt.date
) -> tuple[tuple[str, dt.date], ...]:
    # A bruto name that is also a netto youth's or a family member's would make "the bruto
    # names appear nowhere" impossible to check, so such names are skipped.
    taken = {y.case.naam for y in netto} | {m.naam for y in netto for m in y.case.family}
    rows: list[tuple[str, dt.date]] = []
    for candidate in focus_list(count * 4 + 4, seed=seed + 7919, today=today):
        if len(rows) == count:
            break
        if candidate.case.naam not in taken:
            taken.add(candidate.case.naam)
            rows.append((candidate.case.naam, candidate.case.geboortedatum))
    return tuple(rows)
