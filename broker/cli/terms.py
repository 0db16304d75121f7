"""The operator's words: the flags a use case's field paths stand for, and renamed flags.

One language per concept. What the focus list holds about a youth is named as its CSV column
(Dutch: `--naam`, `--geboortedatum`, `--traject`, `--kleur`, `--criterium` for one of
`criteria`, `--gezinslid` for one of `gezinsleden`, `--brief-verstuurd`,
`--op-lijst-sinds`, `--adres`, `--adres-reden`); everything else about running the system is
English (`--reason`, `--date`, `--json`, `--actor`, `--database-url`). An error names the
flag the user typed, never an internal field path such as `informed_on` or `criteria.0`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from rich.console import Console
from rich.text import Text

__all__ = ["CASE_FLAGS", "in_flag_terms", "renamed_flag"]

T = TypeVar("T")

# handlers.cases field path (first part) -> the flag of `iaj case add` that sets it.
CASE_FLAGS: Mapping[str, str] = {
    "naam": "--naam",
    "geboortedatum": "--geboortedatum",
    "district": "--district",
    "track": "--traject",
    "criteria": "--criterium",
    "colour": "--kleur",
    "adres": "--adres",
    "adres_reden": "--adres-reden",
    "family": "--gezinslid",
    "gezinsleden": "--gezinslid",
    "informed_on": "--brief-verstuurd",
    "listed_on": "--op-lijst-sinds",
}
_PARTS = {"naam": "name", "geboortedatum": "date of birth"}


def in_flag_terms(field: str, flags: Mapping[str, str] | None = None) -> str:
    """`criteria.1` -> `--criterium (the 2nd given)`, `family.0.geboortedatum` ->
    `--gezinslid (the 1st given: date of birth)`, `informed_on` -> `--brief-verstuurd`."""
    names = {**CASE_FLAGS, **(flags or {})}
    head, *rest = field.split(".")
    flag = names.get(head)
    if flag is None:
        return field
    if rest and rest[0].isdigit():
        n = int(rest[0]) + 1
        part = f": {_PARTS.get(rest[1], rest[1])}" if len(rest) > 1 else ""
        return f"{flag} (the {_ordinal(n)} given{part})"
    return flag


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def renamed_flag(new_value: T | None, old_value: T | None, *, old: str, new: str) -> T | None:
    """A flag that was renamed keeps working for a while: its value, with a warning."""
    if old_value is None:
        return new_value
    Console(stderr=True).print(
        Text(f"{old} is deprecated and will go: use {new}", style="yellow"), soft_wrap=True
    )
    return new_value if new_value is not None else old_value
