"""`iaj status`: what operations watch. Renders handlers.status; computes nothing itself."""

from __future__ import annotations

import datetime as dt
from typing import Any

import typer
from rich import box
from rich.table import Table
from rich.text import Text

from broker.cli.common import (
    DatabaseUrlOpt,
    JsonOpt,
    human_age,
    iso,
    load_settings,
    out,
    print_json,
    run_db,
)
from contracts.enums import Partner
from contracts.messages import utc_now
from handlers.db.uow import UnitOfWork
from handlers.status import ServiceStatus, service_status

__all__ = ["app", "status", "status_json"]


def status(as_json: JsonOpt = False, database_url: DatabaseUrlOpt = None) -> None:
    """What operations watch: partners' backlog, rounds, the outbox, dead letters, retention.

    Per partner: open questions in open rounds ("open") and how long the oldest waits,
    answers accepted, refused and late, messages dead-lettered ("dead"). Then rounds per
    state, the unsent outbox rows and the dead letters per reason; the service's last
    retention pass and when the next is due; the cases that left without a recorded
    uitstroombrief.
    """
    settings = load_settings(database_url)
    interval = dt.timedelta(seconds=settings.retention_interval_seconds)

    async def work(uow: UnitOfWork) -> ServiceStatus:
        return await service_status(uow, utc_now(), retention_interval=interval)

    report = run_db(settings, work)
    if as_json:
        print_json(status_json(report))
        return
    out.print(_partner_table(report))
    rounds = " · ".join(f"{state.value} {n}" for state, n in report.rounds.items())
    out.print(Text.assemble(("rounds: ", "bold"), rounds))
    backlog = report.outbox.unsent
    out.print(
        Text.assemble(
            ("outbox: ", "bold"),
            (f"{backlog} unsent", "yellow" if backlog else "green"),
            f", oldest {human_age(report.outbox.oldest_unsent)}" if backlog else "",
        )
    )
    reasons = ", ".join(f"{reason} {n}" for reason, n in report.dead_letters.items())
    out.print(
        Text.assemble(
            ("dead letters: ", "bold"),
            (str(report.dead_letters_total), "red" if report.dead_letters_total else "green"),
            f" ({reasons})" if reasons else "",
        )
    )
    retention = report.retention
    if retention.last_at is None:
        last = Text("none yet", "yellow")
    else:
        last = Text(f"{_minute(retention.last_at)} ({retention.last_detail})")
    out.print(
        Text.assemble(
            ("retention: ", "bold"),
            "last ",
            last,
            ", next ",
            _next_pass(report),
        )
    )
    unsent_letters = report.left_without_uitstroombrief
    out.print(
        Text.assemble(
            ("uitstroom without uitstroombrief: ", "bold"),
            (str(unsent_letters), "yellow" if unsent_letters else "green"),
            " (send it, then: iaj case uitstroombrief CASE --date YYYY-MM-DD)"
            if unsent_letters
            else "",
        )
    )


# A pass takes a while (batches); only a pass this long past its time means none is running.
_OVERDUE_AFTER = dt.timedelta(hours=1)


def _minute(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _next_pass(report: ServiceStatus) -> Text:
    due = report.retention.next_at
    if due is None:
        return Text("at the service's start-up")
    if report.at - due > _OVERDUE_AFTER:
        return Text(f"{_minute(due)}, overdue: is `iaj serve` running?", "red")
    if due <= report.at:
        return Text("now")
    return Text(_minute(due))


def status_json(report: ServiceStatus) -> dict[str, Any]:
    """Ages in seconds (null when nothing waits), counts as numbers, partners by code."""
    return {
        "at": report.at.isoformat(),
        "partners": {
            p.partner.value: {
                "outstanding": p.outstanding,
                "oldest_outstanding_seconds": _seconds(p.oldest_outstanding),
                "oldest_outstanding": human_age(p.oldest_outstanding),
                "answered": p.answered,
                "refused": p.refused,
                "late": p.late,
                "dead_lettered": p.dead_lettered,
            }
            for p in report.partners
        },
        "rounds": {state.value: n for state, n in report.rounds.items()},
        "outbox": {
            "unsent": report.outbox.unsent,
            "oldest_unsent_seconds": _seconds(report.outbox.oldest_unsent),
        },
        "dead_letters": {"total": report.dead_letters_total, "by_reason": report.dead_letters},
        "retention": {
            "last_at": iso(report.retention.last_at),
            "last_detail": report.retention.last_detail,
            "next_at": iso(report.retention.next_at),
            # no pass recorded yet: the service runs one when it starts
            "next_at_start_up": report.retention.next_at is None,
        },
        "left_without_uitstroombrief": report.left_without_uitstroombrief,
    }


def _seconds(age: dt.timedelta | None) -> float | None:
    return None if age is None else round(age.total_seconds(), 3)


def _partner_table(report: ServiceStatus) -> Table:
    table = Table(title="partners", box=box.SIMPLE_HEAD, title_justify="left", pad_edge=False)
    table.add_column("partner", no_wrap=True, min_width=len(max(Partner, key=len)))
    # Short headers: the table fits an 80-column terminal. `--help` explains them.
    for column in ("open", "oldest", "answered", "refused", "late", "dead"):
        table.add_column(column, justify="right", no_wrap=True)
    for p in report.partners:
        table.add_row(
            p.partner.value,
            Text(str(p.outstanding), "yellow" if p.outstanding else "dim"),
            human_age(p.oldest_outstanding),
            str(p.answered),
            Text(str(p.refused), "red" if p.refused else "dim"),
            Text(str(p.late), "yellow" if p.late else "dim"),
            Text(str(p.dead_lettered), "red" if p.dead_lettered else "dim"),
        )
    return table


app = typer.Typer(add_completion=False, pretty_exceptions_show_locals=False)
app.command()(status)
