"""`iaj status`: what operations watch. Renders handlers.status; computes nothing itself."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import TYPE_CHECKING, Annotated, Any

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
from broker.settings import ServiceSettings
from contracts.enums import Partner
from contracts.messages import utc_now
from handlers.db.uow import UnitOfWork
from handlers.status import ServiceStatus, service_status

if TYPE_CHECKING:
    from broker.service.consumer_lag import KafkaLag

__all__ = ["EXIT_KAFKA_UNREACHABLE", "app", "status", "status_json"]


# Exit codes: 0 all read; 1 the database could not be used (nothing shown); 3 the database
# part is shown, but Kafka could not be reached (no consumer lag).
EXIT_KAFKA_UNREACHABLE = 3

KafkaOpt = Annotated[
    bool,
    typer.Option(
        "--kafka/--no-kafka",
        help="Also read consumer lag from Kafka (IAJ_KAFKA_*, the monitoring user "
        "IAJ_MONITOR_SASL_USERNAME when set).",
    ),
]


def status(
    as_json: JsonOpt = False, database_url: DatabaseUrlOpt = None, kafka: KafkaOpt = True
) -> None:
    """What operations watch: partners' backlog, rounds, the outbox, dead letters, retention,
    and Kafka consumer lag.

    Per partner: open questions in open rounds ("open") and how long the oldest waits,
    answers accepted, refused and late, messages dead-lettered ("dead"). Then rounds per
    state, the unsent outbox rows and the dead letters per reason; the service's last
    retention pass and when the next is due; the cases that left without a recorded
    uitstroombrief. Then, from Kafka, per partner: records on its answer topic the service has
    not consumed ("answers lag"), questions its adapter has not consumed ("adapter lag") and
    the adapter's connected consumers; an adapter that left a question unconsumed for longer
    than IAJ_PARTNER_SILENT_AFTER is called silent. Exit 3 when Kafka could not be reached
    (the database part is shown), 1 when the database could not be used.
    """
    settings = load_settings(database_url)
    interval = dt.timedelta(seconds=settings.retention_interval_seconds)

    async def work(uow: UnitOfWork) -> ServiceStatus:
        return await service_status(uow, utc_now(), retention_interval=interval)

    report = run_db(settings, work)
    lag: KafkaLag | None = None
    unreachable: str | None = None
    if kafka:
        lag, unreachable = _read_lag(settings)
    if as_json:
        print_json(status_json(report, lag, unreachable, read_kafka=kafka))
        if unreachable is not None:
            raise typer.Exit(EXIT_KAFKA_UNREACHABLE)
        return
    _print_database_part(report)
    if lag is not None:
        _print_lag(lag)
    elif unreachable is not None:
        out.print(
            Text.assemble(
                ("kafka: ", "bold"),
                ("could not be reached", "red"),
                f" ({unreachable}); consumer lag unknown, the rest above is from the database",
            ),
            soft_wrap=True,
        )
        raise typer.Exit(EXIT_KAFKA_UNREACHABLE)


def _read_lag(settings: ServiceSettings) -> tuple[KafkaLag | None, str | None]:
    """The lag, or why Kafka could not be asked."""
    from broker.service.consumer_lag import KafkaUnreachable, read_lag

    # aiokafka logs each failed connection attempt; status says it once, in its own words.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    try:
        security = settings.monitor_security()
        lag = asyncio.run(
            read_lag(
                settings.kafka_bootstrap,
                silent_after=settings.partner_silent_after,
                now=utc_now(),
                municipal_group=settings.consumer_group,
                timeout_seconds=settings.status_kafka_timeout_seconds,
                **security.client_kwargs,
            )
        )
    except KafkaUnreachable as exc:
        return None, str(exc)
    return lag, None


def _print_lag(lag: KafkaLag) -> None:
    table = Table(
        title="kafka consumer lag", box=box.SIMPLE_HEAD, title_justify="left", pad_edge=False
    )
    table.add_column("partner", no_wrap=True, min_width=len(max(Partner, key=len)))
    for column in ("answers lag", "adapter lag", "consumers", "adapter"):
        table.add_column(column, justify="right", no_wrap=True)
    answers = {a.partner: a for a in lag.answers}
    for adapter in lag.adapters:
        answered = answers[adapter.partner]
        table.add_row(
            adapter.partner.value,
            Text(str(answered.lag), "yellow" if answered.lag else "dim"),
            Text(str(adapter.lag), "yellow" if adapter.lag else "dim"),
            "-" if adapter.members is None else str(adapter.members),
            Text("silent", "red") if adapter.stale else Text("ok", "green"),
        )
    out.print(table)
    threshold = human_age(lag.silent_after)
    for adapter in lag.silent():
        connected = (
            "no consumer connected"
            if adapter.members == 0
            else f"{adapter.members} consumer(s) connected"
            if adapter.members
            else "consumers unknown"
        )
        out.print(
            Text.assemble(
                (f"{adapter.partner.value}: ", "bold red"),
                f"its adapter has not consumed a question waiting for more than {threshold} "
                f"({adapter.lag} unconsumed on {adapter.topic}, {connected}): is the "
                "partner's adapter running?",
            ),
            soft_wrap=True,
        )
    if not lag.silent():
        out.print(
            Text.assemble(
                ("adapters: ", "bold"),
                (f"none silent (no question unconsumed for more than {threshold})", "green"),
            )
        )


def _print_database_part(report: ServiceStatus) -> None:
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


def status_json(
    report: ServiceStatus,
    lag: KafkaLag | None = None,
    unreachable: str | None = None,
    *,
    read_kafka: bool = False,
) -> dict[str, Any]:
    """Ages in seconds (null when nothing waits), counts as numbers, partners by code.
    `kafka`: null when not asked (--no-kafka), else `reachable` and, when it was, the lag."""
    data = _database_json(report)
    data["kafka"] = _kafka_json(lag, unreachable) if read_kafka else None
    return data


def _kafka_json(lag: KafkaLag | None, unreachable: str | None) -> dict[str, Any]:
    if lag is None:
        return {"reachable": False, "error": unreachable}
    answers = {a.partner: a for a in lag.answers}
    return {
        "reachable": True,
        "silent_after_seconds": lag.silent_after.total_seconds(),
        "silent": [a.partner.value for a in lag.silent()],
        "partners": {
            a.partner.value: {
                "answers_group": answers[a.partner].group,
                "answers_lag": answers[a.partner].lag,
                "adapter_group": a.group,
                "adapter_topic": a.topic,
                "adapter_lag": a.lag,
                "adapter_committed": a.committed,
                "adapter_end_offset": a.end_offset,
                "adapter_members": a.members,
                "adapter_silent": a.stale,
            }
            for a in lag.adapters
        },
    }


def _database_json(report: ServiceStatus) -> dict[str, Any]:
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
