"""Criteria change after registration: `iaj case criteria` records them, and the label
must stay permitted: a youth who comes to meet a BIT criterion can go rood; a rood case
cannot lose its last BIT criterion while it is rood. On SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import select

from handlers.db.engine import make_engine
from handlers.db.tables import ProcessingLogRow
from tests.integration.broker.cli.test_case_rules import BIT, POLITIE, Iaj, add, iaj

__all__ = ["iaj"]  # the fixture, shared

REASON = "besproken in het kernteam van deze week"


async def test_a_bit_criterion_recorded_later_permits_rood(iaj: Iaj, database_url: str) -> None:
    case_id = (await iaj.ok(*add(*POLITIE, colour="oranje")))["case_id"]
    refused = await iaj.refused("case", "relabel", case_id, "--kleur", "rood", "--reason", REASON)
    assert "rood needs at least one of these criteria recorded" in refused

    recorded = await iaj.ok(
        "case", "criteria", case_id, "--add", "gedrag_gecontinueerd", "--reason", REASON
    )
    assert recorded["criteria"] == ["politiecontacten", "gedrag_gecontinueerd"]
    relabelled = await iaj.ok("case", "relabel", case_id, "--kleur", "rood", "--reason", REASON)
    assert relabelled["to"] == "rood"

    # Rood now rests on that criterion: it cannot be dropped while the case is rood.
    message = await iaj.refused(
        "case", "criteria", case_id, "--remove", "gedrag_gecontinueerd", "--reason", REASON
    )
    assert "without them the case cannot stay rood" in message
    assert f"iaj case relabel {case_id}" in message

    engine = make_engine(database_url)
    try:
        async with engine.connect() as connection:
            logged = (
                await connection.execute(
                    select(ProcessingLogRow.actor, ProcessingLogRow.purpose).where(
                        ProcessingLogRow.action == "criteria_recorded"
                    )
                )
            ).all()
    finally:
        await engine.dispose()
    assert logged == [("regisseur-test", f"+gedrag_gecontinueerd: {REASON}")]


async def test_nonsense_changes_are_refused(iaj: Iaj) -> None:
    case_id = (await iaj.ok(*add(*POLITIE, *BIT, colour="groen")))["case_id"]
    criteria = ("case", "criteria", case_id)
    assert "nothing changes" in await iaj.refused(
        *criteria, "--add", "politiecontacten", "--reason", REASON
    )
    assert "both added and removed" in await iaj.refused(
        *criteria, "--add", "netwerk_impact_wijk", "--remove", "netwerk_impact_wijk",
        "--reason", REASON,
    )  # fmt: skip
    assert "reason" in await iaj.refused(*criteria, "--add", "netwerk_impact_wijk", "--reason", "x")
    # Only a BIT criterion left would no longer admit the IAJ track.
    assert "the IAJ track needs at least one of these criteria" in await iaj.refused(
        *criteria, "--remove", "politiecontacten", "--reason", REASON
    )
    assert "no case" in await iaj.refused(
        "case", "criteria", "no-such-case", "--add", "netwerk_impact_wijk", "--reason", REASON
    )
