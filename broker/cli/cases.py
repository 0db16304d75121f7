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
from contracts.enums import Colour, District, Track
from contracts.messages import utc_now
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
from handlers.relabel import RelabelReport, partners_in, relabel_case
from handlers.uitstroom import correct_uitstroom, record_uitstroom, record_uitstroombrief

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
    colour: Annotated[
        Colour,
        typer.Option(
            help="The label the overleg gave: groen, oranje or rood (rood needs a BIT "
            "criterion; the BIT track is rood only)."
        ),
    ],
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
        dt.datetime | None, _date("Date of the letter informing the youth")
    ] = None,
    op_lijst_sinds: Annotated[
        dt.datetime | None, _date("Date the youth was put on the focus list, if known")
    ] = None,
    who: ActorOpt = None,
    as_json: JsonOpt = False,
    database_url: DatabaseUrlOpt = None,
) -> None:
    """Put a youth on the netto focus list with its label. Prints the new case id."""
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
    uitstroombrief: Annotated[
        dt.datetime | None,
        _date("Date the uitstroombrief was sent; or later with `iaj case uitstroombrief`"),
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


@app.command("uitstroombrief")
def uitstroombrief_(
    case_id: Annotated[str, typer.Argument(metavar="CASE", help="The case id.")],
    date: Annotated[dt.datetime, _date("Date the uitstroombrief was sent")],
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


@app.command("correct-uitstroom")
def correct_uitstroom_(
    case_id: Annotated[str, typer.Argument(metavar="CASE", help="The case id.")],
    date: Annotated[dt.datetime, _date("The day the youth really left (earlier than recorded)")],
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


@app.command()
def relabel(
    case_id: Annotated[str, typer.Argument(metavar="CASE", help="The case id.")],
    colour: Annotated[Colour, typer.Option(help="The new label.")],
    reason: Annotated[
        str, typer.Option(help="Why the label changes (a sentence; in the processing log).")
    ],
    who: ActorOpt = None,
    as_json: JsonOpt = False,
    database_url: DatabaseUrlOpt = None,
) -> None:
    """Op- of afschalen. Up: an open round asks only the new label's additional questions
    and completes under it. Down: questions the lower label does not ask are withdrawn, and
    what it does not permit is deleted from every round of the case (results re-published)."""
    settings = load_settings(database_url)
    actor = acting_official(settings, who)
    with reported_errors():
        policy = load_policy(settings.policy_file)

    async def work(uow: UnitOfWork) -> RelabelReport:
        report = await relabel_case(
            uow, policy, case_id, colour, reason=reason, actor=actor, now=utc_now()
        )
        await uow.commit()
        return report

    report = run_db(settings, work)
    added, withdrawn = partners_in(report.added), partners_in(report.withdrawn)
    summary: dict[str, Any] = {
        "case_id": report.case_id,
        "from": report.old,
        "to": report.new,
        "round_id": report.round_id,
        "round_completed": report.round_completed,
        "added": added,
        "withdrawn": withdrawn,
        "answers_deleted": report.answers_deleted,
        "answers_reduced": report.answers_reduced,
        "family_members_deleted": report.family_deleted,
        "results_republished": report.republished,
    }
    if as_json:
        print_json(summary)
        return
    old = report.old.value if report.old else "(none)"
    out.print(f"[green]case {report.case_id}: {old} -> {report.new.value}[/green]", soft_wrap=True)

    def per_partner(counts: dict[str, int]) -> str:
        return ", ".join(f"{p} ({n})" for p, n in counts.items()) or "-"

    if report.round_id is not None:
        out.print(
            f"open round {report.round_id} follows the new label"
            + (" and is complete" if report.round_completed else ""),
            soft_wrap=True,
        )
        out.print(f"questions added: {per_partner(added)}", soft_wrap=True)
        out.print(f"questions withdrawn: {per_partner(withdrawn)}", soft_wrap=True)
    if report.answers_deleted or report.answers_reduced or report.family_deleted:
        out.print(
            f"purged: {report.answers_deleted} answer(s) deleted, {report.answers_reduced} "
            f"reduced to what {report.new.value} permits, {report.family_deleted} family "
            "member(s) deleted",
            soft_wrap=True,
        )
    if report.republished:
        out.print(
            f"results re-published for {len(report.republished)} round(s): "
            + ", ".join(report.republished),
            soft_wrap=True,
        )


# The youth's rights (AVG art. 15, 16, 17): broker/cli/rights.py.
from broker.cli import rights  # noqa: E402

app.command("export")(rights.export)
app.command("correct")(rights.correct)
app.command("erase")(rights.erase)
