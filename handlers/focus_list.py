"""Importing a focus-list CSV. Only netto rows that pass every check are taken in.

A row that is not taken in is never stored and never named: the report identifies it by its
row number, and no log line carries its content.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass

from contracts.policy import Policy
from handlers.cases import NewCase, find_same_person, register_case, validate_new_case
from handlers.db.uow import UnitOfWork
from handlers.errors import CaseRejected, FocusListMalformed

__all__ = [
    "OPTIONAL_COLUMNS",
    "REQUIRED_COLUMNS",
    "RowOutcome",
    "import_focus_list",
    "parse_family_member",
    "parse_focus_list",
]

REQUIRED_COLUMNS = ("lijst", "naam", "geboortedatum", "district", "traject", "criteria", "kleur")
OPTIONAL_COLUMNS = ("adres", "adres_reden", "gezinsleden", "brief_verstuurd", "op_lijst_sinds")


@dataclass(frozen=True)
class RowOutcome:
    row: int  # line number in the file, header = 1
    taken_in: bool
    reason: str | None = None
    case_id: str | None = None


@dataclass(frozen=True)
class _Parsed:
    row: int
    case: NewCase | None
    reason: str | None


def parse_focus_list(text: str, today: dt.date, policy: Policy) -> list[_Parsed]:
    """Check the whole file before anything is stored; raise FocusListMalformed if unreadable."""
    # strict: a stray quote is an error, not a field that silently swallows the rows after it.
    reader = csv.DictReader(io.StringIO(text.removeprefix("\ufeff")), strict=True)
    try:
        header = reader.fieldnames
    except csv.Error as exc:
        raise FocusListMalformed(f"line 1: not a valid CSV header ({exc})") from None
    if not header:
        raise FocusListMalformed("the file is empty; expected a CSV header line")
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing == ["kleur"]:
        # A list written before every youth got a label at registration.
        raise FocusListMalformed(
            "missing column kleur: every youth is registered with the label the overleg gave "
            "(groen, oranje or rood); add a column kleur with it on every netto row "
            "(bruto rows may leave it empty), then import the file again"
        )
    if missing:
        raise FocusListMalformed(
            f"missing column(s) {', '.join(missing)}; the header must hold "
            f"{', '.join(REQUIRED_COLUMNS)} (optional: {', '.join(OPTIONAL_COLUMNS)})"
        )
    # Only now, with every required column present, is the first line surely a header and not
    # a person's row, so naming its columns in an error cannot echo a name.
    doubled = sorted({c for c in header if header.count(c) > 1})
    if doubled:
        raise FocusListMalformed(f"column(s) {', '.join(doubled)} appear twice in the header")
    unknown = [c for c in header if c not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    if unknown:
        raise FocusListMalformed(f"unknown column(s) {', '.join(unknown)}: refusing to guess")
    parsed: list[_Parsed] = []
    try:
        for record in reader:
            parsed.append(_parse_row(reader.line_num, record, today, policy))
    except csv.Error as exc:
        raise FocusListMalformed(f"line {reader.line_num}: not valid CSV ({exc})") from None
    return parsed


def _parse_row(row: int, record: dict[str, str | None], today: dt.date, policy: Policy) -> _Parsed:
    if None in record or any(v is None for v in record.values()):
        return _Parsed(row, None, "wrong number of fields on this line")
    values = {k: (v or "").strip() for k, v in record.items()}
    lijst = values["lijst"].lower()
    if lijst == "bruto":
        return _Parsed(row, None, "bruto list: not taken into the approach, not stored")
    if lijst != "netto":
        return _Parsed(row, None, "column lijst must be 'netto' or 'bruto'")
    try:
        family = _family(values.get("gezinsleden", ""))
        data: dict[str, object] = {
            "naam": values["naam"],
            "geboortedatum": values["geboortedatum"],
            "district": values["district"].lower().replace("-", "_"),
            "track": values["traject"].lower(),
            "criteria": [c.strip() for c in values["criteria"].split(";") if c.strip()],
            "colour": values["kleur"].lower() or None,
            "adres": values.get("adres") or None,
            "adres_reden": values.get("adres_reden") or None,
            "family": family,
            "informed_on": values.get("brief_verstuurd") or None,
            "listed_on": values.get("op_lijst_sinds") or None,
        }
        return _Parsed(row, validate_new_case(data, today, policy), None)
    except CaseRejected as exc:
        return _Parsed(row, None, f"{exc.field}: {exc.problem}")


def _family(cell: str) -> list[dict[str, str]]:
    """`Naam:YYYY-MM-DD;Naam:YYYY-MM-DD` -> family members."""
    return [parse_family_member(p) for p in filter(None, (p.strip() for p in cell.split(";")))]


def parse_family_member(text: str) -> dict[str, str]:
    """`Naam:YYYY-MM-DD` -> the raw fields of a FamilyMember (validated with the case)."""
    naam, sep, born = text.rpartition(":")
    if not sep or not naam.strip():
        raise CaseRejected("gezinsleden", "write each family member as Naam:YYYY-MM-DD")
    return {"naam": naam.strip(), "geboortedatum": born.strip()}


async def import_focus_list(
    uow: UnitOfWork, text: str, *, actor: str, today: dt.date, policy: Policy
) -> list[RowOutcome]:
    """Take in the valid netto rows in one transaction. Caller commits.

    A youth already on the list (same name and date of birth, also earlier in this file) is
    not registered again: importing the same list twice must not double the cases.
    """
    outcomes = []
    for item in parse_focus_list(text, today, policy):
        if item.case is None:
            outcomes.append(RowOutcome(item.row, taken_in=False, reason=item.reason))
            continue
        existing = await find_same_person(uow, item.case)
        if existing is not None:
            reason = f"already on the netto focus list as case {existing}"
            outcomes.append(RowOutcome(item.row, taken_in=False, reason=reason, case_id=existing))
            continue
        case_id = await register_case(uow, item.case, actor=actor, today=today, policy=policy)
        await uow.session.flush()  # so a repeat further down the file finds this case
        outcomes.append(RowOutcome(item.row, taken_in=True, case_id=case_id))
    return outcomes
