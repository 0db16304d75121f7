"""`iaj retention purge`: delete what the convenant no longer allows us to keep."""

from __future__ import annotations

import dataclasses
import datetime as dt

import typer

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
from contracts.messages import utc_now
from handlers.db.uow import UnitOfWork
from handlers.retention import PurgeDue, due_for_purge, purge

__all__ = ["app"]

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_show_locals=False)


@app.callback()
def _root() -> None:
    """Retention: 1 year after uitstroom, 5 years after the last processing."""


@app.command("purge")
def purge_(
    dry_run: bool = typer.Option(False, "--dry-run", help="Only list what would be deleted."),
    who: ActorOpt = None,
    as_json: JsonOpt = False,
    database_url: DatabaseUrlOpt = None,
) -> None:
    """Delete cases past their retention period, with everything about them.

    Run it daily (cron or a Kubernetes CronJob); it is safe to run any number of times.
    """
    settings = load_settings(database_url)
    actor = acting_official(settings, who)

    async def work(uow: UnitOfWork) -> list[PurgeDue]:
        due = await due_for_purge(uow, dt.date.today())
        if not dry_run:
            await purge(uow, due, actor=actor, now=utc_now())
            await uow.commit()
        return due

    due = run_db(settings, work)
    if as_json:
        print_json(
            {
                "dry_run": dry_run,
                "purged": [] if dry_run else [dataclasses.asdict(d) for d in due],
                "due": [dataclasses.asdict(d) for d in due],
            }
        )
        return
    verb = "would be deleted" if dry_run else "deleted"
    out.print(f"{len(due)} case(s) {verb}")
    for item in due:
        out.print(f"  {item.case_id}  ({item.why})")
