"""The reference data: one JSON file per partner, standing in for that partner's own system."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from contracts import Partner, YesNo

__all__ = ["PartnerRecords", "Person", "load_records", "person_key"]


class Person(BaseModel):
    """What the fictional system holds about one person, per question key."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    naam: str
    geboortedatum: dt.date
    records: dict[str, dict[str, Any]]

    def record(self, key: str) -> Mapping[str, Any] | None:
        return self.records.get(key)


class PartnerRecords(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    partner: Partner
    description: str
    persons: tuple[Person, ...]

    def index(self) -> dict[tuple[str, dt.date], Person]:
        return {person_key(p.naam, p.geboortedatum): p for p in self.persons}

    def check(self) -> None:
        for person in self.persons:
            for key, record in person.records.items():
                if record.get("antwoord") not in (YesNo.JA.value, YesNo.NEE.value):
                    raise ValueError(f"{self.partner}: {key}: 'antwoord' must be ja or nee")


def person_key(naam: str, geboortedatum: dt.date) -> tuple[str, dt.date]:
    """Match on name (case and spacing ignored) and date of birth, as a partner would."""
    return " ".join(naam.split()).casefold(), geboortedatum


def load_records(partner: Partner, data_dir: Path | None = None) -> PartnerRecords:
    """Read `<partner>.json` from `data_dir`, or the synthetic data shipped in this package.

    Blocking file I/O: call it through `asyncio.to_thread` from async code.
    """
    name = f"{partner.value}.json"
    if data_dir is None:
        text = (
            resources.files("partner_adapters.reference")
            .joinpath("data", name)
            .read_text(encoding="utf-8")
        )
    else:
        text = (data_dir / name).read_text(encoding="utf-8")
    records = PartnerRecords.model_validate(json.loads(text))
    if records.partner is not partner:
        raise ValueError(f"{name} holds the records of {records.partner}, not {partner}")
    records.check()
    return records
