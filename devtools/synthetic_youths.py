"""Synthetic focus lists and partner records for the demo and the benchmark.

Every name is invented from made-up syllables ("Proefstra", "Testbeek"): no real person is
meant. The same seed gives the same people, so runs can be compared.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contracts.enums import AnswerShape, Colour, District, LifeDomain, Partner, Track
from contracts.policy import Policy
from contracts.policy.model import DetailFieldKind
from handlers.cases import Criterion, FamilyMember, NewCase

__all__ = [
    "COLOUR_MIX",
    "SyntheticYouth",
    "focus_list",
    "write_focus_list_csv",
    "write_partner_records",
]

COLOUR_MIX: dict[Colour, float] = {Colour.GROEN: 0.50, Colour.ORANJE: 0.35, Colour.ROOD: 0.15}

_FIRST = (
    "Sem",
    "Noa",
    "Daan",
    "Lotte",
    "Finn",
    "Isa",
    "Milan",
    "Saar",
    "Luuk",
    "Evi",
    "Bram",
    "Fenna",
    "Jesse",
    "Yara",
    "Thijs",
    "Mila",
    "Ravi",
    "Noor",
    "Ilias",
    "Zoë",
    "Omar",
    "Liv",
    "Teun",
    "Sanne",
)
_STEM = ("Proef", "Test", "Voorbeeld", "Schets", "Oefen", "Model", "Concept", "Monster")
_TAIL = ("beek", "stra", "sma", "huis", "veld", "dijk", "kamp", "berg", "hof", "man")
_DOMAINS = tuple(LifeDomain)
_TEXTS = (
    "Signaal afgegeven in het afgelopen jaar (fictief).",
    "Traject loopt sinds vorig voorjaar (fictief).",
    "Eerder bekend, nu geen actieve betrokkenheid (fictief).",
)


@dataclass(frozen=True)
class SyntheticYouth:
    case: NewCase
    colour: Colour


def focus_list(
    count: int,
    *,
    seed: int = 2026,
    today: dt.date,
    mix: dict[Colour, float] | None = None,
    family_share: float = 0.6,
) -> list[SyntheticYouth]:
    """`count` distinct youths, colours drawn by `mix`; part of oranje/rood with family."""
    rng = random.Random(seed)
    weights = mix or COLOUR_MIX
    seen: set[tuple[str, dt.date]] = set()
    youths: list[SyntheticYouth] = []
    while len(youths) < count:
        surname = rng.choice(_STEM) + rng.choice(_TAIL)
        naam = f"{rng.choice(_FIRST)} {surname}"
        track = Track.BIT if rng.random() < 0.15 else Track.IAJ
        oldest = 27 if track is Track.BIT else 22
        # Past the 12th birthday by more than a month: the letter (up to 30 days ago) is later.
        born = today - dt.timedelta(days=rng.randint(12 * 366 + 31, oldest * 365))
        if (naam, born) in seen:
            continue
        seen.add((naam, born))
        colour = rng.choices(list(weights), weights=list(weights.values()))[0]
        if track is Track.BIT:
            colour = Colour.ROOD  # the BIT track is rood only (policy [[track]])
        family: tuple[FamilyMember, ...] = ()
        if colour is not Colour.GROEN and rng.random() < family_share:
            family = tuple(
                FamilyMember(
                    naam=f"{rng.choice(_FIRST)} {surname}",
                    geboortedatum=born - dt.timedelta(days=rng.randint(20 * 365, 35 * 365)),
                )
                for _ in range(rng.randint(1, 3))
            )
        criteria: tuple[Criterion, ...] = (
            Criterion.POLITIECONTACTEN,
            Criterion.NETWERK_IMPACT_WIJK,
        )
        if track is Track.BIT or colour is Colour.ROOD:
            # Rood, and the BIT track, need a BIT criterion recorded (policy [[label]]).
            criteria = (Criterion.POLITIECONTACTEN, Criterion.SOCIAAL_AANBOD_GEWEIGERD)
        case = NewCase(
            naam=naam,
            geboortedatum=born,
            district=rng.choice(list(District)),
            track=track,
            criteria=criteria,
            colour=colour,
            family=family,
            informed_on=today - dt.timedelta(days=rng.randint(1, 30)),
        )
        youths.append(SyntheticYouth(case, colour))
    return youths


def write_partner_records(
    youths: Sequence[SyntheticYouth],
    policy: Policy,
    directory: Path,
    *,
    seed: int = 2026,
    known_share: float = 0.4,
) -> None:
    """One `<partner>.json` per partner in the reference lookups' format.

    A partner knows a person with probability `known_share`; what it knows is its richest
    record for every question the policy may ask it, so the adapter's lookup has to shape it.
    """
    rng = random.Random(seed + 1)
    directory.mkdir(parents=True, exist_ok=True)
    for partner in Partner:
        questions = [q for q in policy.questions if q.partner is partner]
        persons = []
        for youth in youths:
            people = [(youth.case.naam, youth.case.geboortedatum, "jongere")] + [
                (m.naam, m.geboortedatum, "gezinslid") for m in youth.case.family
            ]
            for naam, born, role in people:
                if rng.random() >= known_share:
                    continue
                records = {
                    q.key: _record(rng, partner, q.shapes.values(), q.detail_fields)
                    for q in questions
                    if q.subject.value == role
                }
                if records:
                    persons.append(
                        {"naam": naam, "geboortedatum": born.isoformat(), "records": records}
                    )
        document = {
            "partner": partner.value,
            "description": "Synthetic records (devtools.synthetic_youths); invented people.",
            "persons": persons,
        }
        (directory / f"{partner.value}.json").write_text(
            json.dumps(document, ensure_ascii=False, indent=1), encoding="utf-8"
        )


def _record(
    rng: random.Random, partner: Partner, shapes: Iterable[AnswerShape], fields: Any
) -> dict[str, Any]:
    if rng.random() < 0.4:
        return {"antwoord": "nee"}
    record: dict[str, Any] = {"antwoord": "ja"}
    for shape in set(shapes):
        if shape is AnswerShape.JA_NEE_MET_WIE:
            others = [p.value for p in Partner if p is not partner]
            record["met_wie"] = sorted(rng.sample(others, 2))
        elif shape is AnswerShape.JA_NEE_DOMEINEN:
            record["domeinen"] = sorted(d.value for d in rng.sample(_DOMAINS, 2))
        elif shape is AnswerShape.JA_NEE_TOELICHTING:
            record["toelichting"] = rng.choice(_TEXTS)
        elif shape is AnswerShape.DETAIL:
            record["detail"] = {
                f.name: {
                    DetailFieldKind.JA_NEE: rng.random() < 0.5,
                    DetailFieldKind.AANTAL: rng.randint(0, 4),
                    DetailFieldKind.TEKST: rng.choice(_TEXTS),
                }[f.kind]
                for f in fields
            }
    return record


def write_focus_list_csv(
    youths: Sequence[SyntheticYouth], path: Path, *, bruto: Sequence[tuple[str, dt.date]] = ()
) -> None:
    """A focus-list CSV as `iaj focuslist import` reads it, with bruto rows mixed in."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            [
                "lijst",
                "naam",
                "geboortedatum",
                "district",
                "traject",
                "criteria",
                "adres",
                "adres_reden",
                "gezinsleden",
                "brief_verstuurd",
                "kleur",
            ]
        )
        for naam, born in bruto:
            writer.writerow(
                [
                    "bruto",
                    naam,
                    born.isoformat(),
                    "centrum",
                    "iaj",
                    "politiecontacten",
                    "",
                    "",
                    "",
                    "",
                    "",
                ]
            )
        for youth in youths:
            case = youth.case
            writer.writerow(
                [
                    "netto",
                    case.naam,
                    case.geboortedatum.isoformat(),
                    case.district.value,
                    case.track.value,
                    ";".join(c.value for c in case.criteria),
                    "",
                    "",
                    ";".join(f"{m.naam}:{m.geboortedatum.isoformat()}" for m in case.family),
                    case.informed_on.isoformat() if case.informed_on else "",
                    case.colour.value,
                ]
            )
