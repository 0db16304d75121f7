"""`iaj deadletters ...`: the messages that could not be read, as the database records them.

Why, from where (source topic, partition, offset), how big and when: never content, which
the database does not hold (handlers/dead_letters.py). The original record stays on its
source topic, and the dead letter's copy on iaj.deadletter, for an operator whose Kafka user
may read them (README, "Looking at a dead letter's record").
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from typing import Annotated, Any

import typer
from rich import box
from rich.table import Table
from rich.text import Text

from broker.cli.common import (
    DatabaseUrlOpt,
    JsonOpt,
    fail,
    load_settings,
    out,
    print_json,
    run_db,
)
from contracts.enums import Partner
from contracts.messages import utc_now
from handlers.db.uow import UnitOfWork
from handlers.dead_letter_view import (
    KNOWN_REASONS,
    DeadLetterList,
    DeadLetterView,
    dead_letter_view,
    list_dead_letters,
)

__all__ = ["app", "parse_since"]

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_show_locals=False)

_AGO = re.compile(r"^(\d+)\s*([mhd])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


@app.callback()
def _root() -> None:
    """Messages that could not be read (never their content)."""


def parse_since(text: str, now: dt.datetime) -> dt.datetime:
    """`30m`, `6h`, `7d` ago, or a date (`2026-11-20`, midnight UTC) or time
    (`2026-11-20T14:00`, UTC unless it says otherwise)."""
    ago = _AGO.match(text.strip())
    if ago:
        return now - dt.timedelta(**{_UNITS[ago[2]]: int(ago[1])})
    try:
        at = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        fail(
            f"--since {text!r}: give a time ago (30m, 6h, 7d) or a date or time "
            "(2026-11-20, 2026-11-20T14:00, UTC)"
        )
    return at if at.tzinfo is not None else at.replace(tzinfo=dt.UTC)


@app.command("list")
def list_(
    partner: Annotated[
        Partner | None,
        typer.Option(help="Only those from this partner's answer topic.", case_sensitive=False),
    ] = None,
    reason: Annotated[
        str | None, typer.Option(help=f"Only this reason: {', '.join(KNOWN_REASONS)}.")
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(help="Only those since: 30m, 6h, 7d ago, or a date or time (UTC)."),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many, newest first.")] = 50,
    as_json: JsonOpt = False,
    database_url: DatabaseUrlOpt = None,
) -> None:
    """The dead letters, newest first: id, time, reason, partner, source topic and position,
    size. `iaj deadletters show ID` adds the detail."""
    if reason is not None and reason not in KNOWN_REASONS:
        fail(f"--reason {reason!r} is not a dead-letter reason; one of {', '.join(KNOWN_REASONS)}")
    settings = load_settings(database_url)
    from_time = parse_since(since, utc_now()) if since is not None else None

    async def work(uow: UnitOfWork) -> DeadLetterList:
        return await list_dead_letters(
            uow, partner=partner, reason=reason, since=from_time, limit=limit
        )

    listed = run_db(settings, work)
    if as_json:
        print_json(
            {"matching": listed.matching, "dead_letters": [_json(d) for d in listed.letters]}
        )
        return
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for column in ("id", "received (UTC)", "reason", "partner", "source", "bytes"):
        table.add_column(column, no_wrap=column != "source", overflow="fold")
    for d in listed.letters:
        table.add_row(
            str(d.id),
            f"{d.received_at.astimezone(dt.UTC):%Y-%m-%d %H:%M:%S}",
            Text(d.reason, "red" if d.reason == "processing_error" else "yellow"),
            d.partner or "-",
            _position(d),
            "-" if d.size_bytes is None else str(d.size_bytes),
        )
    if not listed.letters:
        table.add_row("(none)", *[""] * 5)
    out.print(table)
    if listed.matching > len(listed.letters):
        out.print(f"[dim]{len(listed.letters)} of {listed.matching} shown; --limit for more[/dim]")


@app.command()
def show(
    letter_id: Annotated[int, typer.Argument(metavar="ID", help="The id `list` shows.")],
    as_json: JsonOpt = False,
    database_url: DatabaseUrlOpt = None,
) -> None:
    """One dead letter: reason, detail, source topic, partition, offset, size, time, and
    its dlq_id header on iaj.deadletter. Never its content."""
    settings = load_settings(database_url)

    async def work(uow: UnitOfWork) -> DeadLetterView:
        return await dead_letter_view(uow, letter_id)

    d = run_db(settings, work)
    if as_json:
        print_json(_json(d))
        return
    rows = [
        ("reason", d.reason),
        ("detail", d.detail or "-"),
        ("received", f"{d.received_at.astimezone(dt.UTC):%Y-%m-%d %H:%M:%S} UTC"),
        ("partner", d.partner or "-"),
        ("source topic", d.source_topic),
        ("partition", _or_dash(d.source_partition)),
        ("offset", _or_dash(d.source_offset)),
        ("size", "-" if d.size_bytes is None else f"{d.size_bytes} bytes"),
        ("dlq_id", d.dlq_id or "-"),
    ]
    table = Table(box=None, show_header=False, pad_edge=False, title=f"dead letter {d.id}")
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    for name, value in rows:
        table.add_row(name, Text(value))  # the detail is data, never markup
    out.print(table)
    if d.source_partition is not None and d.source_offset is not None:
        out.print(
            "[dim]the original record, for a Kafka user allowed to read the topic: "
            f"kcat -C -t {d.source_topic} -p {d.source_partition} -o {d.source_offset} -c 1 "
            "(README: Looking at a dead letter's record)[/dim]",
            soft_wrap=True,
        )


def _position(d: DeadLetterView) -> str:
    return f"{d.source_topic}:{_or_dash(d.source_partition)}:{_or_dash(d.source_offset)}"


def _or_dash(value: int | None) -> str:
    return "-" if value is None else str(value)


def _json(d: DeadLetterView) -> dict[str, Any]:
    return dataclasses.asdict(d)
