"""The rules of registration and of opening a round, broken through the `iaj` command line,
on SQLite and PostgreSQL: criteria decide the label, only what is necessary travels, and the
dates are plausible. Each refusal exits 2 with one line that says what to do, never the name.

The Kafka command path of the same rules is in tests/integration/handlers/test_criteria.py.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner, Result

from broker.cli import app
from contracts.enums import Partner
from contracts.messages import QuestionSet
from contracts.wire import decode
from handlers.db.engine import make_engine
from handlers.db.tables import OutboxRow
from tests.support.clock import today

pytestmark = pytest.mark.integration

NAME = "Jesse Regelbeek"
ADDRESS = "Verzonnenlaan 12 Haarlem"
ADDRESS_REASON = "de woningcorporatie en de BRP zoeken op het adres"


def born(age: int) -> str:
    """`age` years old today: 1 January, `age` years ago (or `age`+1 later this year)."""
    return dt.date(today().year - age, 1, 1).isoformat()


class Iaj:
    def __init__(self, database_url: str) -> None:
        self.env = {"IAJ_DATABASE_URL": database_url}

    async def __call__(self, *args: str) -> Result:
        # The CLI runs its own event loop (asyncio.run), so it gets a thread of its own.
        return await asyncio.to_thread(CliRunner().invoke, app, list(args), env=self.env)

    async def refused(self, *args: str) -> str:
        """The command exits 2 without a traceback; its one message, on one line."""
        result = await self(*args)
        assert result.exit_code == 2, result.output
        assert "Traceback" not in result.output
        assert NAME not in result.output
        return " ".join(result.stderr.split())

    async def ok(self, *args: str) -> Any:
        result = await self(*args, "--json")
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)


@pytest.fixture
def iaj(database_url: str) -> Iaj:
    return Iaj(database_url)


def add(
    *options: str, age: int = 15, track: str = "iaj", colour: str | None = "groen"
) -> tuple[str, ...]:
    """`iaj case add` for a youth of `age` with politiecontacten, plus `options`."""
    label = ("--kleur", colour) if colour else ()
    return (
        "case", "add",
        "--naam", NAME,
        "--geboortedatum", born(age),
        "--district", "oost",
        "--traject", track,
        *label,
        *options,
    )  # fmt: skip


POLITIE = ("--criterium", "politiecontacten")
BIT = ("--criterium", "sociaal_aanbod_geweigerd")


async def test_the_label_is_required_and_must_be_supported_by_the_criteria(iaj: Iaj) -> None:
    missing = await iaj(*add(*POLITIE, colour=None))
    assert missing.exit_code == 2
    assert "--kleur" in missing.output

    # A 15-year-old with only police contacts: no rood.
    message = await iaj.refused(*add(*POLITIE, colour="rood"))
    assert message.startswith("--kleur: rood needs at least one of these criteria recorded")
    assert "sociaal_aanbod_geweigerd" in message

    # A 25-year-old on the BIT track: no groen; on the IAJ track, too old.
    message = await iaj.refused(*add(*BIT, age=25, track="bit", colour="groen"))
    assert "the BIT track permits only rood, not groen" in message
    assert "age 25" in await iaj.refused(*add(*POLITIE, age=25, colour="groen"))

    # An IAJ case with only a BIT criterion.
    message = await iaj.refused(*add(*BIT, colour="rood"))
    assert message.startswith("--criterium: the IAJ track needs at least one of these criteria")
    assert "politiecontacten" in message

    assert await iaj.ok("case", "list") == []
    await iaj.ok(*add(*POLITIE, *BIT, colour="rood"))
    await iaj.ok(
        *add(
            *BIT,
            age=25,
            track="bit",
            colour="rood",
        )
    )


async def test_a_round_takes_the_case_s_label_and_no_other(iaj: Iaj) -> None:
    letter = (today() - dt.timedelta(days=2)).isoformat()
    case_id = (await iaj.ok(*add(*POLITIE, "--brief-verstuurd", letter, colour="oranje")))[
        "case_id"
    ]
    message = await iaj.refused("round", "open", case_id, "--kleur", "rood")
    assert "labelled oranje" in message
    assert f"iaj case relabel {case_id} --kleur rood --reason" in message
    assert (await iaj.ok("round", "open", case_id))["colour"] == "oranje"


async def test_the_address_goes_only_where_a_question_needs_it(iaj: Iaj, database_url: str) -> None:
    letter = (today() - dt.timedelta(days=2)).isoformat()
    address = ("--adres", ADDRESS, "--adres-reden", ADDRESS_REASON, "--brief-verstuurd", letter)
    for reason in ("x", "xxxxxxxxxxxxxxxxxxxxxxx"):
        message = await iaj.refused(*add(*POLITIE, "--adres", ADDRESS, "--adres-reden", reason))
        assert message.startswith("--adres-reden:")
        assert ADDRESS not in message
    groen = (await iaj.ok(*add(*POLITIE, *address)))["case_id"]
    oranje = (await iaj.ok(*add(*POLITIE, *address, age=16, colour="oranje")))["case_id"]
    rounds = {
        colour: (await iaj.ok("round", "open", case_id))["round_id"]
        for colour, case_id in (("groen", groen), ("oranje", oranje))
    }

    engine = make_engine(database_url)
    try:
        async with engine.connect() as conn:
            payloads = (await conn.scalars(select(OutboxRow.payload))).all()
    finally:
        await engine.dispose()
    with_address: dict[str, set[Partner]] = {"groen": set(), "oranje": set()}
    asked: dict[str, set[Partner]] = {"groen": set(), "oranje": set()}
    for payload in payloads:
        qs = decode(payload)
        assert isinstance(qs, QuestionSet)
        colour = qs.colour.value
        assert str(qs.round_id) == rounds[colour]
        asked[colour].add(qs.partner)
        if any(s.adres is not None for s in qs.subjects):
            with_address[colour].add(qs.partner)
    assert with_address == {"groen": set(), "oranje": {Partner.BRP, Partner.WONINGCORPORATIE}}
    assert asked["groen"]
    assert len(asked["oranje"]) > 2


async def test_family_members_only_for_oranje_and_rood_and_born_already(iaj: Iaj) -> None:
    mother = ("--gezinslid", "Moeder Regelbeek:1980-04-04")
    message = await iaj.refused(*add(*POLITIE, *mother))
    assert message.startswith("--gezinslid: family members are registered only")
    assert "not groen" in message
    assert "Moeder" not in message

    tomorrow = (today() + dt.timedelta(days=1)).isoformat()
    message = await iaj.refused(
        *add(*POLITIE, *mother, "--gezinslid", f"Baby Regelbeek:{tomorrow}", colour="oranje")
    )
    assert message.startswith(
        "--gezinslid (the 2nd given: date of birth): the date of birth of family member 2"
    )
    assert "future" in message
    assert "Baby" not in message
    await iaj.ok(*add(*POLITIE, *mother, colour="oranje"))


async def test_the_letter_is_plausible(iaj: Iaj) -> None:
    day_after_birth = (dt.date.fromisoformat(born(15)) + dt.timedelta(days=1)).isoformat()
    message = await iaj.refused(*add(*POLITIE, "--brief-verstuurd", day_after_birth))
    assert message.startswith("--brief-verstuurd:")
    assert "12th birthday" in message
    tomorrow = (today() + dt.timedelta(days=1)).isoformat()
    assert "future" in await iaj.refused(*add(*POLITIE, "--brief-verstuurd", tomorrow))
    assert "future" in await iaj.refused(*add(*POLITIE, "--geboortedatum", tomorrow))

    listed = today() - dt.timedelta(days=10)
    before_listing = (listed - dt.timedelta(days=1)).isoformat()
    on_list = ("--op-lijst-sinds", listed.isoformat())
    message = await iaj.refused(*add(*POLITIE, *on_list, "--brief-verstuurd", before_listing))
    assert "before the youth was put on the focus list" in message

    case_id = (await iaj.ok(*add(*POLITIE, *on_list)))["case_id"]
    message = await iaj.refused("case", "inform", case_id, "--date", before_listing)
    assert message.startswith("--date: the letter date")
    assert "before the youth was put on the focus list" in message
    assert "future" in await iaj.refused("case", "inform", case_id, "--date", tomorrow)
    inform = await iaj("case", "inform", case_id, "--date", listed.isoformat())
    assert inform.exit_code == 0, inform.output


async def test_a_focus_list_without_the_kleur_column_is_refused_whole(
    iaj: Iaj, tmp_path: Path
) -> None:
    old = tmp_path / "oud.csv"
    old.write_text(
        "lijst,naam,geboortedatum,district,traject,criteria\n"
        f"netto,{NAME},{born(15)},oost,iaj,politiecontacten\n",
        encoding="utf-8",
    )
    message = await iaj.refused("focuslist", "import", str(old))
    assert "missing column kleur" in message
    assert "Nothing imported" in message
    assert await iaj.ok("case", "list") == []

    new = tmp_path / "nieuw.csv"
    new.write_text(
        "lijst,naam,geboortedatum,district,traject,criteria,kleur,op_lijst_sinds\n"
        f"netto,{NAME},{born(15)},oost,iaj,politiecontacten,oranje,{today().isoformat()}\n"
        f"netto,Ander Kind,{born(16)},oost,iaj,politiecontacten,rood,\n",
        encoding="utf-8",
    )
    report = await iaj.ok("focuslist", "import", str(new))
    assert [r["taken_in"] for r in report["rows"]] == [True, False]
    assert report["rows"][1]["reason"].startswith("kleur: rood needs")


async def test_the_renamed_flags_still_work_with_a_warning(iaj: Iaj) -> None:
    """`--traject` and `--kleur` are the CSV's columns; `--track` and `--colour` were their
    names before, and keep working for a while, saying so."""
    result = await iaj(
        "case", "add", "--naam", NAME, "--geboortedatum", born(15), "--district", "oost",
        "--track", "iaj", "--colour", "groen", *POLITIE, "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    said = " ".join(result.stderr.split())
    assert "--track is deprecated and will go: use --traject" in said
    assert "--colour is deprecated and will go: use --kleur" in said
    help_text = (await iaj("case", "add", "--help")).stdout
    assert "--traject" in help_text
    assert "--colour" not in help_text


async def test_a_bad_setting_is_named_as_its_variable(iaj: Iaj) -> None:
    result = await asyncio.to_thread(
        CliRunner().invoke,
        app,
        ["status"],
        env={**iaj.env, "IAJ_DATABASE_RETRY_SECONDS": "-1"},
    )
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("IAJ_DATABASE_RETRY_SECONDS: Input should be greater than 0")
