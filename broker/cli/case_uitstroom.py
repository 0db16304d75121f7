"""`iaj case leave | uitstroombrief | correct-uitstroom`: the youth leaves the approach."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer

from broker.cli.cases_common import CaseArg, date_option
from broker.cli.common import (
    ActorOpt,
    DatabaseUrlOpt,
    JsonOpt,
    acting_official,
    load_settings,
    out,
    print_json,
    run_db,
)
from handlers.db.uow import UnitOfWork
from handlers.uitstroom import correct_uitstroom, record_uitstroom, record_uitstroombrief

__all__ = ["correct_uitstroom_command", "leave", "uitstroombrief"]


def leave(
    case_id: CaseArg,
    date: Annotated[dt.datetime, date_option("Date the youth left the approach (uitstroom)")],
    uitstroombrief: Annotated[
        dt.datetime | None,
        date_option("Date the uitstroombrief was sent; or later with `iaj case uitstroombrief`"),
    ] = None,
    who: ActorOpt = None,
    as_json: JsonOpt = False,
    database_url: DatabaseUrlOpt = None,
) -> None:
    """Record uitstroom, once: open rounds are cancelled, no new ones; the service deletes
    the personal data a year later. A wrong date: `iaj case correct-uitstroom`."""
    settings = load_settings(database_url)
    actor = acting_official(settings, who)
    left_on = date.date()
    brief = uitstroombrief.date() if uitstroombrief else None

    async def work(uow: UnitOfWork) -> list[str]:
        cancelled = await record_uitstroom(
            uow, case_id, left_on, uitstroombrief_on=brief, actor=actor, today=dt.date.today()
        )
        await uow.commit()
        return cancelled

    cancelled = run_db(settings, work)
    if as_json:
        print_json({"left_on": left_on, "uitstroombrief_on": brief, "cancelled_rounds": cancelled})
        return
    out.print(
        f"[green]uitstroom on {left_on.isoformat()} recorded[/green]; the service deletes the "
        "personal data a year later"
    )
    for round_id in cancelled:
        out.print(f"round {round_id} cancelled; the partners asked were told")
    if brief is None:
        out.print(
            f"[yellow]no uitstroombrief recorded yet[/yellow]; once it is sent: "
            f"iaj case uitstroombrief {case_id} --date YYYY-MM-DD",
            soft_wrap=True,
        )


def uitstroombrief(
    case_id: CaseArg,
    date: Annotated[dt.datetime, date_option("Date the uitstroombrief was sent")],
    who: ActorOpt = None,
    database_url: DatabaseUrlOpt = None,
) -> None:
    """Record that the uitstroombrief was sent (once, after `iaj case leave`)."""
    settings = load_settings(database_url)
    actor = acting_official(settings, who)

    async def work(uow: UnitOfWork) -> None:
        await record_uitstroombrief(uow, case_id, date.date(), actor=actor, today=dt.date.today())
        await uow.commit()

    run_db(settings, work)
    out.print(f"[green]uitstroombrief of {date.date().isoformat()} recorded[/green]")


def correct_uitstroom_command(
    case_id: CaseArg,
    date: Annotated[
        dt.datetime, date_option("The day the youth really left (earlier than recorded)")
    ],
    reason: Annotated[str, typer.Option(help="Why the recorded date was wrong (a sentence).")],
    who: ActorOpt = None,
    database_url: DatabaseUrlOpt = None,
) -> None:
    """Correct the uitstroom date to an earlier day, with a reason; logged. Never to a later
    day: that would keep the personal data longer."""
    settings = load_settings(database_url)
    actor = acting_official(settings, who)

    async def work(uow: UnitOfWork) -> dt.date:
        was = await correct_uitstroom(
            uow, case_id, date.date(), reason=reason, actor=actor, today=dt.date.today()
        )
        await uow.commit()
        return was

    was = run_db(settings, work)
    out.print(
        f"[green]uitstroom corrected from {was.isoformat()} to {date.date().isoformat()}"
        "[/green]; the year of retention counts from the new date"
    )
