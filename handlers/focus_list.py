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
    "CSV_COLUMNS",
    "OPTIONAL_COLUMNS",
    "REQUIRED_COLUMNS",
    "RowOutcome",
    "import_focus_list",
    "in_column_terms",
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


# A field path of handlers.cases -> the CSV column that holds it.
CSV_COLUMNS = {
    "track": "traject",
    "colour": "kleur",
    "family": "gezinsleden",
    "informed_on": "brief_verstuurd",
    "listed_on": "op_lijst_sinds",
    "case": "this row",  # a rule about several columns
}
_PARTS = {"naam": "name", "geboortedatum": "date of birth"}
_DATE_FIELDS = {"geboortedatum", "informed_on", "listed_on"}


def in_column_terms(field: str) -> str:
    """`family.0.geboortedatum` -> `gezinsleden (family member 1: date of birth)`,
    `criteria.1` -> `criteria (criterion 2)`, `informed_on` -> `brief_verstuurd`."""
    head, *rest = field.split(".")
    column = CSV_COLUMNS.get(head, head)
    if rest and rest[0].isdigit():
        which = "family member" if head == "family" else "criterion"
        part = f": {_PARTS.get(rest[1], rest[1])}" if len(rest) > 1 else ""
        return f"{column} ({which} {int(rest[0]) + 1}{part})"
    return column


class _Lines:
    """The file's lines, counted: where a record starts, whatever its quoted newlines."""

    def __init__(self, text: str) -> None:
        self._lines = iter(io.StringIO(text, newline=""))
        self.read = 0

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self.read += 1
        return line


def _delimiter(first_line: str) -> str:
    """`,`, or `;` for a file whose header has semicolons and no comma: Dutch Excel's "CSV"
    (the header has seven or more columns, so a comma file always has commas in it)."""
    return ";" if ";" in first_line and "," not in first_line else ","


def parse_focus_list(text: str, today: dt.date, policy: Policy) -> list[_Parsed]:
    """Check the whole file before anything is stored; raise FocusListMalformed if unreadable.

    Rows are numbered by the line they start on (header = 1). Separated by commas, or by
    semicolons when the header has no comma (then a cell holding `;` itself, as criteria and
    gezinsleden do, must be quoted, which Excel does)."""
    text = text.removeprefix("\ufeff")
    delimiter = _delimiter(text.split("\n", 1)[0])
    lines = _Lines(text)
    # strict: a stray quote is an error, not a field that silently swallows the rows after it.
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise FocusListMalformed(f"line 1: not a valid CSV header ({exc})") from None
    if not header:
        raise FocusListMalformed("the file is empty; expected a CSV header line")
    header = [c.strip() for c in header]
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
    while True:
        start = lines.read + 1  # the line this record starts on
        try:
            fields = next(reader, None)
        except csv.Error as exc:
            raise FocusListMalformed(
                f'line {start}: not valid CSV ({exc}); a cell that starts with a quote (") '
                "must end with one, and a quote inside a cell is written twice"
            ) from None
        if fields is None:
            return parsed
        if not fields:
            continue  # a blank line
        if len(fields) != len(header):
            hint = (
                "; in a file separated by ';' a cell holding ';' itself (criteria, "
                "gezinsleden) must be in quotes"
                if delimiter == ";"
                else ""
            )
            parsed.append(_Parsed(start, None, f"wrong number of fields on this line{hint}"))
            continue
        parsed.append(_parse_row(start, dict(zip(header, fields, strict=True)), today, policy))


def _parse_row(row: int, record: dict[str, str], today: dt.date, policy: Policy) -> _Parsed:
    values = {k: v.strip() for k, v in record.items()}
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
        column = in_column_terms(exc.field)
        is_date = exc.field.rsplit(".", 1)[-1] in _DATE_FIELDS
        unreadable_date = is_date and exc.problem.startswith("Input should")
        hint = " (write it as YYYY-MM-DD)" if unreadable_date else ""
        return _Parsed(row, None, f"{column}: {exc.problem}{hint}")


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
