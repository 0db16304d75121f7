"""The invented people in the reference data. None of them exists; the demo and tests use them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from contracts import SubjectRole

__all__ = ["CAST", "SyntheticPerson"]


@dataclass(frozen=True, slots=True)
class SyntheticPerson:
    naam: str
    geboortedatum: dt.date
    role: SubjectRole
    note: str


CAST: tuple[SyntheticPerson, ...] = (
    SyntheticPerson(
        "Sem Testbeek",
        dt.date(2008, 3, 14),
        SubjectRole.JONGERE,
        "known to every partner, with a 'ja' to every question asked about him",
    ),
    SyntheticPerson(
        "Lotte Proefstra",
        dt.date(2006, 11, 2),
        SubjectRole.JONGERE,
        "known to a few partners, some 'ja', some 'nee'",
    ),
    SyntheticPerson(
        "Daan Voorbeeldsma",
        dt.date(2009, 7, 21),
        SubjectRole.JONGERE,
        "known to no partner: every answer is 'nee'",
    ),
    SyntheticPerson(
        "Noor Testbeek",
        dt.date(1981, 5, 30),
        SubjectRole.GEZINSLID,
        "Sem's mother; signals at a few risk-signal partners",
    ),
    SyntheticPerson(
        "Bram Testbeek",
        dt.date(1979, 9, 9),
        SubjectRole.GEZINSLID,
        "Sem's father; a risk to the family at most risk-signal partners",
    ),
    SyntheticPerson(
        "Iris Proefstra",
        dt.date(1984, 1, 17),
        SubjectRole.GEZINSLID,
        "Lotte's mother; known to no partner",
    ),
)
