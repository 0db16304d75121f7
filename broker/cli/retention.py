"""`iaj retention purge`: delete what the convenant no longer allows us to keep."""

from __future__ import annotations

import dataclasses

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
from handlers.retention import PurgeDue, due_for_purge, purge_due

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
    """Delete cases past their retention period, with everything about them, now.

    `iaj serve` does this itself, at start-up and then every IAJ_RETENTION_INTERVAL_SECONDS;
    this is for a one-off run (e.g. right after restoring a backup). Same batches
    (IAJ_RETENTION_BATCH_SIZE cases per transaction), recorded as a pass that `iaj status`
    shows. Safe to run any number of times.
    """
    settings = load_settings(database_url)
    actor = acting_official(settings, who)

    async def work(uow: UnitOfWork) -> list[PurgeDue]:
        now = utc_now()
        if dry_run:
            return await due_for_purge(uow, now.date())
        return await purge_due(
            uow,
            today=now.date(),
            now=now,
            actor=actor,
            batch_size=settings.retention_batch_size,
        )

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
