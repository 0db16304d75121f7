"""`iaj case ...`: put a youth on the netto focus list, record the informing letter, list."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Annotated

import typer
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from broker.cli.cases_common import CaseArg, date_option
from broker.cli.common import (
    ActorOpt,
    DatabaseUrlOpt,
    JsonOpt,
    acting_official,
    fail,
    load_settings,
    out,
    print_json,
    reported_errors,
    run_db,
)
from broker.cli.terms import renamed_flag
from contracts.enums import Colour, District, Track
from contracts.policy import load_policy
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

__all__ = ["app"]

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_show_locals=False)


@app.callback()
def _root() -> None:
    """Youths on the netto focus list."""


@app.command()
def add(
    naam: Annotated[str, typer.Option(help="Name of the youth.")],
    geboortedatum: Annotated[dt.datetime, date_option("Date of birth")],
    district: Annotated[District, typer.Option(help="Stadsdeel.")],
    criterium: Annotated[
        list[Criterion],
        typer.Option(help="Afwegingskader criterion met (CSV: criteria); repeat for more."),
    ],
    traject: Annotated[
        Track | None,
        typer.Option(help="iaj (below 23) or bit (up to and incl. 27). Required."),
    ] = None,
    kleur: Annotated[
        Colour | None,
        typer.Option(
            help="The label the overleg gave: groen, oranje or rood (rood needs a BIT "
            "criterion; the BIT track is rood only). Required."
        ),
    ] = None,
    adres: Annotated[
        str | None,
        typer.Option(help="Address, only with --adres-reden; sent only where a question needs it."),
    ] = None,
    adres_reden: Annotated[
        str | None, typer.Option(help="Why the partners need the address, as a sentence.")
    ] = None,
    gezinslid: Annotated[
        list[str] | None,
        typer.Option(help='Family member as "Naam:YYYY-MM-DD" (oranje and rood only); repeat.'),
    ] = None,
    brief_verstuurd: Annotated[
        dt.datetime | None, date_option("Date of the letter informing the youth")
    ] = None,
    op_lijst_sinds: Annotated[
        dt.datetime | None, date_option("Date the youth was put on the focus list, if known")
    ] = None,
    who: ActorOpt = None,
    as_json: JsonOpt = False,
    database_url: DatabaseUrlOpt = None,
    old_track: Annotated[Track | None, typer.Option("--track", hidden=True)] = None,
    old_colour: Annotated[Colour | None, typer.Option("--colour", hidden=True)] = None,
) -> None:
    """Put a youth on the netto focus list with its label. Prints the new case id.

    The flags are the focus list's CSV columns (`iaj focuslist import`)."""
    track = renamed_flag(traject, old_track, old="--track", new="--traject")
    colour = renamed_flag(kleur, old_colour, old="--colour", new="--kleur")
    if track is None or colour is None:
        fail(f"missing option {'--traject' if track is None else '--kleur'}")
    settings = load_settings(database_url)
    actor = acting_official(settings, who)
    today = dt.date.today()
    with reported_errors():
        policy = load_policy(settings.policy_file)
        case = validate_new_case(
            {
                "naam": naam,
                "geboortedatum": geboortedatum.date(),
                "district": district,
                "track": track,
                "criteria": criterium,
                "colour": colour,
                "adres": adres,
                "adres_reden": adres_reden,
                "family": [parse_family_member(g) for g in gezinslid or ()],
                "informed_on": brief_verstuurd.date() if brief_verstuurd else None,
                "listed_on": op_lijst_sinds.date() if op_lijst_sinds else None,
            },
            today,
            policy,
        )

    async def work(uow: UnitOfWork) -> str:
        existing = await find_same_person(uow, case)
        if existing is not None:
            raise CaseRejected("naam", f"this youth is already on the list as case {existing}")
        case_id = await register_case(uow, case, actor=actor, today=today, policy=policy)
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
    case_id: CaseArg,
    date: Annotated[dt.datetime, date_option("Date of the informing letter")],
    who: ActorOpt = None,
    database_url: DatabaseUrlOpt = None,
) -> None:
    """Record that the youth (and parents) were informed by letter: it opens the round gate."""
    settings = load_settings(database_url)
    actor = acting_official(settings, who)

    async def work(uow: UnitOfWork) -> None:
        await record_informed(uow, case_id, date.date(), actor=actor, today=dt.date.today())
        await uow.commit()

    run_db(settings, work, flags={"informed_on": "--date"})
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


# The rest of a case's life, one module each: uitstroom (broker/cli/case_uitstroom.py),
# labels and criteria (broker/cli/case_labels.py), the youth's rights (broker/cli/rights.py).
from broker.cli import case_labels, case_uitstroom, rights  # noqa: E402

app.command()(case_uitstroom.leave)
app.command("uitstroombrief")(case_uitstroom.uitstroombrief)
app.command("correct-uitstroom")(case_uitstroom.correct_uitstroom_command)
app.command()(case_labels.relabel)
app.command()(case_labels.criteria)
app.command("export")(rights.export)
app.command("correct")(rights.correct)
app.command("erase")(rights.erase)
