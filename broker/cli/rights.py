"""`iaj case export | correct | erase`: the youth's rights of access, rectification and
erasure (AVG art. 15, 16, 17). Registered on the `case` app by broker/cli/cases.py."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.text import Text

from broker.cli.cases_common import CaseArg
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
from contracts.messages import utc_now
from contracts.policy import load_policy
from handlers.db.uow import UnitOfWork
from handlers.rights.correction import Correction, CorrectionReport, correct_case
from handlers.rights.erasure import (
    ErasurePreview,
    ErasureReason,
    ErasureReport,
    erase_case,
    erasure_preview,
    settle_storage,
)
from handlers.rights.export import export_case, to_html

__all__ = ["correct", "erase", "export"]

_err = Console(stderr=True)


@dataclasses.dataclass(frozen=True)
class _Exported:
    data: dict[str, Any]
    written: Path | None


def export(
    case_id: CaseArg,
    html_file: Annotated[
        Path | None,
        typer.Option(
            "--html",
            metavar="FILE",
            dir_okay=False,
            help="Write a readable page to hand over to FILE (readable by you only).",
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite FILE if it exists.")] = False,
    who: ActorOpt = None,
    as_json: JsonOpt = False,
    database_url: DatabaseUrlOpt = None,
) -> None:
    """Inzage (AVG art. 15): everything held about the youth and the family members of the
    case, what was shared with which partner and what came back, and every processing of it.

    --json prints it; --html FILE writes a standalone page. The export is logged; its
    content never is."""
    if not as_json and html_file is None:
        fail(
            "say where the export goes: --json prints it, --html FILE writes a page to hand "
            "over (or both)"
        )
    if html_file is not None:
        if html_file.exists() and not force:
            fail(f"{html_file} exists already: choose another file, or add --force to replace it")
        if not html_file.parent.is_dir():
            fail(f"there is no folder {html_file.parent}: create it or choose another file")
    settings = load_settings(database_url)
    actor = acting_official(settings, who)
    how = " and ".join(
        f for f, wanted in (("JSON", as_json), ("HTML page", html_file is not None)) if wanted
    )

    async def work(uow: UnitOfWork) -> _Exported:
        found = await export_case(uow, case_id, actor=actor, how=how, now=utc_now())
        if html_file is None:
            await uow.commit()
            return _Exported(found.to_json(), None)
        _write_private(html_file, to_html(found), force=force)
        try:
            await uow.commit()
        except BaseException:
            html_file.unlink(missing_ok=True)  # not logged, so not handed out either
            raise
        return _Exported(found.to_json(), html_file)

    exported = run_db(settings, work)
    if as_json:
        print_json(exported.data)
    if exported.written is not None:
        (_err if as_json else out).print(
            Text.assemble(
                ("inzage written to ", "green"),
                str(exported.written),
                " (readable by you only): hand it to the youth in person or by a secure channel",
            ),
            soft_wrap=True,
        )


def _write_private(path: Path, text: str, *, force: bool) -> None:
    """Write `text` to a file only its owner can read; never over a file unless `force`."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if force else os.O_EXCL)
    with reported_errors():
        try:
            fd = os.open(path, flags, 0o600)
        except FileExistsError:
            fail(f"{path} exists already: choose another file, or add --force to replace it")
        os.fchmod(fd, 0o600)  # also when --force replaced a file with a wider mode
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)


def correct(
    case_id: CaseArg,
    reason: Annotated[
        str,
        typer.Option(
            "--reason",
            help="Why, as a sentence (logged): without the name, date of birth or address.",
        ),
    ],
    naam: Annotated[str | None, typer.Option(help="The correct name of the youth.")] = None,
    geboortedatum: Annotated[
        dt.datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="The correct date of birth (YYYY-MM-DD)."),
    ] = None,
    adres: Annotated[
        str | None, typer.Option(help="The correct address, with --adres-reden.")
    ] = None,
    adres_reden: Annotated[
        str | None, typer.Option(help="Why the partners need the address, as a sentence.")
    ] = None,
    who: ActorOpt = None,
    as_json: JsonOpt = False,
    database_url: DatabaseUrlOpt = None,
) -> None:
    """Rectification (AVG art. 16): correct the youth's name, date of birth or address.

    Question sets already sent are not rewritten: each partner that was sent a corrected
    field gets a correction with only what it was sent (the service publishes it). Open
    rounds continue; questions issued from now on carry the corrected data."""
    settings = load_settings(database_url)
    actor = acting_official(settings, who)
    with reported_errors():
        policy = load_policy(settings.policy_file)
    correction = Correction(
        reason=reason,
        naam=naam,
        geboortedatum=geboortedatum.date() if geboortedatum else None,
        adres=adres,
        adres_reden=adres_reden,
    )

    async def work(uow: UnitOfWork) -> CorrectionReport:
        report = await correct_case(
            uow, case_id, correction, policy=policy, actor=actor, now=utc_now()
        )
        await uow.commit()
        return report

    report = run_db(settings, work)
    if as_json:
        print_json(
            {
                "case_id": report.case_id,
                "corrected": list(report.corrected),
                "told": [
                    {"partner": t.partner.value, "round_id": t.round_id, "fields": list(t.fields)}
                    for t in report.told
                ],
                "not_concerned": [p.value for p in report.not_concerned],
                "open_rounds": list(report.open_rounds),
            }
        )
        return
    out.print(
        f"[green]corrected {', '.join(report.corrected)}[/green] of case {report.case_id}",
        soft_wrap=True,
    )
    if report.told:
        told = "; ".join(f"{t.partner.value} ({', '.join(t.fields)})" for t in report.told)
        out.print(
            f"partners told (the service sends it, one notice per round they were asked in): "
            f"{told}",
            soft_wrap=True,
        )
    else:
        out.print("no partner was sent the corrected data: nobody needed to be told")
    if report.not_concerned:
        out.print(
            f"[dim]not told (were not sent what changed): "
            f"{', '.join(p.value for p in report.not_concerned)}[/dim]",
            soft_wrap=True,
        )
    for round_id in report.open_rounds:
        out.print(
            f"open round {round_id} continues: what was already asked stays asked; questions "
            "issued from now on carry the corrected data",
            soft_wrap=True,
        )


def erase(
    case_id: CaseArg,
    reason: Annotated[
        ErasureReason,
        typer.Option(
            "--reason",
            help="registered-by-mistake, or objection-granted (AVG art. 21). Only this category "
            "is logged.",
        ),
    ],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    who: ActorOpt = None,
    as_json: JsonOpt = False,
    database_url: DatabaseUrlOpt = None,
) -> None:
    """Erasure (AVG art. 17): cancel the case's open rounds and delete the personal data of
    the youth and the family everywhere in the municipal database. Cannot be undone.

    The processing log keeps its entries (ids, no names) and records the erasure."""
    settings = load_settings(database_url)
    actor = acting_official(settings, who, responsible_only="erase a case")
    if not yes:

        async def look(uow: UnitOfWork) -> ErasurePreview:
            return await erasure_preview(uow, case_id)

        preview = run_db(settings, look)
        question = (
            f"Erase case {preview.case_id} (registered {preview.registered_on.isoformat()}, "
            f"{preview.rounds} round(s) of which {preview.open_rounds} open, "
            f"{preview.family_members} family member(s))? This cannot be undone"
        )
        if not typer.confirm(question, default=False, err=True):
            _err.print("nothing was erased")
            raise typer.Exit(1)

    async def work(uow: UnitOfWork) -> tuple[ErasureReport, str | None]:
        report = await erase_case(uow, case_id, reason=reason, actor=actor, now=utc_now())
        await uow.commit()
        return report, await settle_storage(uow)

    report, remains = run_db(settings, work)
    if as_json:
        print_json(
            {
                **dataclasses.asdict(report),
                "reason": report.reason.value,
                "cancelled_rounds": list(report.cancelled_rounds),
                "storage_note": remains,
            }
        )
    else:
        out.print(
            f"[green]case {report.case_id} erased[/green] ({report.reason.value}): "
            f"{report.rounds} round(s), {report.family_members} family member(s) and "
            f"{report.answers} answer(s) deleted",
            soft_wrap=True,
        )
        if report.cancelled_rounds:
            out.print(
                f"{len(report.cancelled_rounds)} open round(s) cancelled: the partners asked "
                "get a withdrawal notice and drop the questions (the service sends it)",
                soft_wrap=True,
            )
        out.print("[dim]the processing log keeps that this happened, without personal data[/dim]")
    if remains is not None:
        _err.print(Text(remains, style="yellow"), soft_wrap=True)
