"""`iaj focuslist import`: take the netto rows of a focus-list CSV in, in one transaction.

The report names rows by number only: a row that is not taken in is never stored, and its
name must not end up in a terminal scroll-back or a CI log either.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.table import Table
from rich.text import Text

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
from contracts.policy import load_policy
from handlers.db.uow import UnitOfWork
from handlers.errors import FocusListMalformed
from handlers.focus_list import REQUIRED_COLUMNS, RowOutcome, import_focus_list

__all__ = ["app"]

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_show_locals=False)


@app.callback()
def _root() -> None:
    """Import the focus list."""


@app.command("import")
def import_(
    file: Annotated[
        Path,
        typer.Argument(
            exists=True,
            dir_okay=False,
            readable=True,
            help=f"CSV (UTF-8; commas, or semicolons as Dutch Excel writes) with the "
            f"columns {', '.join(REQUIRED_COLUMNS)}, ...",
        ),
    ],
    who: ActorOpt = None,
    as_json: JsonOpt = False,
    database_url: DatabaseUrlOpt = None,
) -> None:
    """Take in every valid netto row; bruto and invalid rows are reported by line number only.

    Exits 2 when no row was taken in (unless every netto row is on the list already)."""
    settings = load_settings(database_url)
    actor = acting_official(settings, who)
    try:
        # utf-8-sig: spreadsheets put a byte-order mark before the header.
        text = file.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        fail(f"{file}: not UTF-8 (byte {exc.start}); save it as 'CSV UTF-8'. Nothing imported.")
    except OSError as exc:
        fail(f"{file}: cannot read it: {exc.strerror or exc}")
    today = dt.date.today()
    with reported_errors():
        policy = load_policy(settings.policy_file)

    async def work(uow: UnitOfWork) -> list[RowOutcome]:
        try:
            outcomes = await import_focus_list(uow, text, actor=actor, today=today, policy=policy)
        except FocusListMalformed as exc:
            raise FocusListMalformed(f"{file}: {exc}. Nothing imported.") from None
        await uow.commit()
        return outcomes

    outcomes = run_db(settings, work)
    taken = sum(o.taken_in for o in outcomes)
    if as_json:
        print_json(
            {
                "rows": [dataclasses.asdict(o) for o in outcomes],
                "taken_in": taken,
                "not_taken_in": len(outcomes) - taken,
            }
        )
    else:
        out.print(_table(outcomes))
        out.print(
            Text.assemble(
                ("taken in: ", "bold"),
                (str(taken), "green"),
                ("   not taken in: ", "bold"),
                (str(len(outcomes) - taken), "yellow" if taken < len(outcomes) else ""),
            )
        )
    why_none = _why_none_taken_in(outcomes)
    if why_none is not None:
        fail(f"{file}: no row was taken in: {why_none}")


def _why_none_taken_in(outcomes: list[RowOutcome]) -> str | None:
    """Why an import that took no one in failed (exit 2); None when it did not fail: a row
    was taken in, now or by an earlier import of the file (its youths are on the list)."""
    if any(o.taken_in or o.case_id is not None for o in outcomes):
        return None
    if not outcomes:
        return "the file has a header and no rows"
    bruto = sum((o.reason or "").startswith("bruto") for o in outcomes)
    refused = len(outcomes) - bruto
    if refused == 0:
        return f"all {bruto} row(s) are bruto, which are not taken in; is it the netto list?"
    return (
        f"{refused} row(s) refused (see the reasons above), {bruto} bruto; correct the "
        "refused rows and import the file again"
    )


def _table(outcomes: list[RowOutcome]) -> Table:
    table = Table(box=box.SIMPLE_HEAD)
    table.add_column("line", justify="right")
    table.add_column("taken in")
    table.add_column("case / why not", overflow="fold")
    for o in outcomes:
        if o.taken_in:
            table.add_row(str(o.row), Text("yes", "green"), o.case_id or "")
        else:
            table.add_row(str(o.row), Text("no", "yellow"), Text(o.reason or ""))
    return table
