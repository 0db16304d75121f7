"""`iaj round list` and `iaj deadletters list/show`, on SQLite and PostgreSQL: the filters,
and that they show ids, reasons and positions, never a name or a message's content."""

from __future__ import annotations

import asyncio
import datetime as dt
import json

import pytest

from contracts.messages import utc_now
from handlers.db.engine import make_engine, make_session_factory
from handlers.db.tables import DeadLetterRow
from handlers.dead_letters import dlq_id
from tests.support.cli import Iaj
from tests.support.clock import today

pytestmark = pytest.mark.integration

NAMES = ("Lotte Lijstronde", "Milan Lijstronde")


def open_two_rounds(iaj: Iaj) -> tuple[list[str], list[str]]:
    """Two groen youths, informed, each with a round; the second round cancelled."""
    cases, rounds = [], []
    for naam in NAMES:
        added = iaj.json(
            "case", "add",
            "--naam", naam,
            "--geboortedatum", dt.date(today().year - 16, 1, 1).isoformat(),
            "--district", "noord",
            "--traject", "iaj",
            "--criterium", "politiecontacten",
            "--kleur", "groen",
            "--brief-verstuurd", today().isoformat(),
        )  # fmt: skip
        cases.append(added["case_id"])
        rounds.append(iaj.json("round", "open", added["case_id"])["round_id"])
    iaj.ok("round", "cancel", rounds[1], "--reason", "registered for the wrong district")
    return cases, rounds


async def test_round_list_filters_by_state_case_and_partner(database_url: str) -> None:
    iaj = Iaj(database_url)
    cases, rounds = await asyncio.to_thread(open_two_rounds, iaj)

    def ids(*args: str) -> list[str]:
        return [r["round_id"] for r in iaj.json("round", "list", *args)["rounds"]]

    listed = await asyncio.to_thread(iaj.json, "round", "list")
    assert listed["matching"] == 2
    assert {r["round_id"] for r in listed["rounds"]} == set(rounds)
    first = next(r for r in listed["rounds"] if r["round_id"] == rounds[0])
    assert (first["case_id"], first["colour"], first["state"]) == (cases[0], "groen", "open")
    assert set(first["outstanding"]) == {"verwijsindex", "leerplicht", "swt"}
    assert await asyncio.to_thread(ids, "--state", "open") == [rounds[0]]
    assert await asyncio.to_thread(ids, "--state", "cancelled") == [rounds[1]]
    assert await asyncio.to_thread(ids, "--case", cases[1]) == [rounds[1]]
    assert await asyncio.to_thread(ids, "--partner", "leerplicht") == [rounds[0]]
    assert await asyncio.to_thread(ids, "--partner", "cjg") == []  # asked once others answer
    assert await asyncio.to_thread(ids, "--state", "complete") == []
    limited = await asyncio.to_thread(iaj.json, "round", "list", "--limit", "1")
    assert (len(limited["rounds"]), limited["matching"]) == (1, 2)

    table = (await asyncio.to_thread(iaj.ok, "round", "list")).stdout
    assert rounds[0] in table
    assert "swt 1" in table
    assert not any(naam in table or naam in json.dumps(listed) for naam in NAMES)
    refused = await asyncio.to_thread(iaj, "round", "list", "--state", "verlopen")
    assert refused.exit_code == 2
    assert "deadline" in refused.output  # the states there are


async def add_dead_letters(database_url: str) -> list[int]:
    now = utc_now()
    engine = make_engine(database_url)
    try:
        async with make_session_factory(engine)() as session, session.begin():
            rows = [
                DeadLetterRow(
                    topic="iaj.answers.cjg", partition=0, offset=41, size_bytes=312,
                    partner="cjg", reason="schema_violation",
                    detail="items.0.antwoord: Input should be 'ja' or 'nee'",
                    received_at=now - dt.timedelta(days=3),
                ),
                DeadLetterRow(
                    topic="iaj.answers.brp", partition=2, offset=7, size_bytes=300_000,
                    partner="brp", reason="too_large", detail="over 262144 bytes",
                    received_at=now - dt.timedelta(hours=2),
                ),
                DeadLetterRow(
                    topic="iaj.commands", partition=0, offset=3, size_bytes=180, partner=None,
                    reason="command_rejected", detail="no case 'x'", received_at=now,
                ),
            ]  # fmt: skip
            session.add_all(rows)
            await session.flush()
            return [r.id for r in rows]
    finally:
        await engine.dispose()


async def test_dead_letters_are_listed_and_shown_without_content(database_url: str) -> None:
    iaj = Iaj(database_url)
    ids = await add_dead_letters(database_url)

    def listed(*args: str) -> list[int]:
        return [d["id"] for d in iaj.json("deadletters", "list", *args)["dead_letters"]]

    assert await asyncio.to_thread(listed) == ids[::-1]  # newest first
    assert await asyncio.to_thread(listed, "--partner", "cjg") == [ids[0]]
    assert await asyncio.to_thread(listed, "--reason", "command_rejected") == [ids[2]]
    assert await asyncio.to_thread(listed, "--since", "1d") == [ids[2], ids[1]]
    assert await asyncio.to_thread(listed, "--since", "30m") == [ids[2]]
    since = (today() - dt.timedelta(days=10)).isoformat()
    assert await asyncio.to_thread(listed, "--since", since) == ids[::-1]

    shown = await asyncio.to_thread(iaj.json, "deadletters", "show", str(ids[1]))
    assert shown == {
        "id": ids[1],
        "dlq_id": dlq_id("iaj.answers.brp:2:7"),
        "received_at": shown["received_at"],
        "reason": "too_large",
        "detail": "over 262144 bytes",
        "partner": "brp",
        "source_topic": "iaj.answers.brp",
        "source_partition": 2,
        "source_offset": 7,
        "size_bytes": 300_000,
    }
    page = " ".join(
        (await asyncio.to_thread(iaj.ok, "deadletters", "show", str(ids[0]))).stdout.split()
    )
    for expected in ("schema_violation", "iaj.answers.cjg", "312 bytes", "-p 0 -o 41"):
        assert expected in page

    missing = await asyncio.to_thread(iaj, "deadletters", "show", "999999")
    assert missing.exit_code == 2
    assert "no dead letter 999999" in missing.stderr
    wrong = await asyncio.to_thread(iaj, "deadletters", "list", "--reason", "kapot")
    assert wrong.exit_code == 2
    assert "processing_error" in " ".join(wrong.stderr.split())
    bad_since = await asyncio.to_thread(iaj, "deadletters", "list", "--since", "gisteren")
    assert bad_since.exit_code == 2
