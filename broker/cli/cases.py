"""`iaj case ...`: put a youth on the netto focus list, record the informing letter, list."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from broker.cli.common import (
    ActorOpt,
    DatabaseUrlOpt,
    JsonOpt,
    acting_official,
    load_settings,
    out,
    print_json,
    reported_errors,
    run_db,
)
from contracts.enums import District, Track
from handlers.case_list import CaseSummary, list_cases
from handlers.cases import (
    Criterion,
    find_same_person,
    record_informed,
    register_case,
    validate_new_case,
)
from handlers.db.uow import UnitOfWork
from handlers.errors import CaseRejected
from handlers.focus_list import parse_family_member
from handlers.retention import record_uitstroom

__all__ = ["app"]

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_show_locals=False)
_DATE = ["%Y-%m-%d"]


def _date(help_text: str) -> Any:  # typer.Option is typed as Any
    return typer.Option(formats=_DATE, help=f"{help_text} (YYYY-MM-DD).")


@app.callback()
def _root() -> None:
    """Youths on the netto focus list."""


@app.command()
def add(
    naam: Annotated[str, typer.Option(help="Name of the youth.")],
    geboortedatum: Annotated[dt.datetime, _date("Date of birth")],
    district: Annotated[District, typer.Option(help="Stadsdeel.")],
    track: Annotated[Track, typer.Option(help="iaj (below 23) or bit (up to and incl. 27).")],
    criterium: Annotated[
        list[Criterion], typer.Option(help="Afwegingskader criterion met; repeat for more.")
    ],
    adres: Annotated[str | None, typer.Option(help="Address, only with --adres-reden.")] = None,
    adres_reden: Annotated[
        str | None, typer.Option(help="Why the partners need the address.")
    ] = None,
    gezinslid: Annotated[
        list[str] | None,
        typer.Option(help='Family member as "Naam:YYYY-MM-DD"; repeat for more.'),
    ] = None,
    brief_verstuurd: Annotated[
        dt.datetime | None, _date("Date of the letter informing the youth")
    ] = None,
    who: ActorOpt = None,
    as_json: JsonOpt = False,
    database_url: DatabaseUrlOpt = None,
) -> None:
    """Put a youth on the netto focus list. Prints the new case id."""
    settings = load_settings(database_url)
    actor = acting_official(settings, who)
    today = dt.date.today()
    with reported_errors():
        case = validate_new_case(
            {
                "naam": naam,
                "geboortedatum": geboortedatum.date(),
                "district": district,
                "track": track,
                "criteria": criterium,
                "adres": adres,
                "adres_reden": adres_reden,
                "family": [parse_family_member(g) for g in gezinslid or ()],
                "informed_on": brief_verstuurd.date() if brief_verstuurd else None,
            },
            today,
        )

    async def work(uow: UnitOfWork) -> str:
        existing = await find_same_person(uow, case)
        if existing is not None:
            raise CaseRejected("naam", f"this youth is already on the list as case {existing}")
        case_id = await register_case(uow, case, actor=actor, today=today)
        await uow.commit()
        return case_id

    case_id = run_db(settings, work)
    if as_json:
        print_json({"case_id": case_id, "informed_on": case.informed_on})
        return
    typer.echo(case_id)
    if case.informed_on is None:
        Console(stderr=True).print(
            f"[dim]no informing letter recorded yet; before a round: "
            f"iaj case inform {case_id} --date YYYY-MM-DD[/dim]",
            soft_wrap=True,
        )


@app.command()
def inform(
    case_id: Annotated[str, typer.Argument(metavar="CASE", help="The case id.")],
    date: Annotated[dt.datetime, _date("Date of the informing letter")],
    who: ActorOpt = None,
    database_url: DatabaseUrlOpt = None,
) -> None:
    """Record that the youth (and parents) were informed by letter: it opens the round gate."""
    settings = load_settings(database_url)
    actor = acting_official(settings, who)

    async def work(uow: UnitOfWork) -> None:
        await record_informed(uow, case_id, date.date(), actor=actor, today=dt.date.today())
        await uow.commit()

    run_db(settings, work)
    out.print(f"[green]informing letter of {date.date().isoformat()} recorded[/green]")


@app.command("list")
def list_(
    who: ActorOpt = None, as_json: JsonOpt = False, database_url: DatabaseUrlOpt = None
) -> None:
    """The netto focus list: name and date of birth, district, track, letter, rounds.

    Showing it is a processing of personal data: each case shown is logged with the actor."""
    settings = load_settings(database_url)
    actor = acting_official(settings, who)

    async def work(uow: UnitOfWork) -> list[CaseSummary]:
        cases = await list_cases(uow, actor=actor)
        await uow.commit()
        return cases

    cases = run_db(settings, work)
    if as_json:
        print_json([dataclasses.asdict(c) for c in cases])
        return
    out.print(_table(cases))


def _table(cases: list[CaseSummary]) -> Table:
    table = Table(
        title="netto focus list", box=box.SIMPLE_HEAD, title_justify="left", pad_edge=False
    )
    table.add_column("case", no_wrap=True)  # whole: operators copy it into the next command
    table.add_column("youth", overflow="fold", min_width=12)
    for column in ("district", "track", "letter", "family", "rounds"):
        table.add_column(column, overflow="fold", min_width=len(column))
    for c in cases:
        youth = Text(c.naam)  # a name is data, never rich markup
        youth.append(f"\n{c.geboortedatum.isoformat()}", style="dim")
        table.add_row(
            c.case_id,
            youth,
            c.district.value,
            c.track.value,
            c.informed_on.isoformat() if c.informed_on else Text("not yet", "yellow"),
            str(c.family_members),
            str(c.rounds),
        )
    if not cases:
        table.add_row("(none)", *[""] * 6)
    return table


@app.command()
def leave(
    case_id: Annotated[str, typer.Argument(metavar="CASE", help="The case id.")],
    date: Annotated[dt.datetime, _date("Date the youth left the approach (uitstroom)")],
    who: ActorOpt = None,
    database_url: DatabaseUrlOpt = None,
) -> None:
    """Record uitstroom: no more rounds; personal data is purged a year later."""
    settings = load_settings(database_url)
    actor = acting_official(settings, who)

    async def work(uow: UnitOfWork) -> None:
        await record_uitstroom(uow, case_id, date.date(), actor=actor, today=dt.date.today())
        await uow.commit()

    run_db(settings, work)
    out.print(
        f"[green]uitstroom on {date.date().isoformat()} recorded[/green]; "
        "`iaj retention purge` deletes the personal data a year later"
    )
