"""`iaj demo`: parse the options, run the demo, render it (or print JSON), exit 0 if it worked."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from broker.cli.common import EXIT_UNAVAILABLE, JsonOpt, fail, out, print_json
from contracts.enums import Partner
from devtools.demo.report import report_json
from devtools.demo.results_view import print_results
from devtools.demo.run import LOG_FILE, DemoOptions, run_demo
from devtools.demo.view import ConsoleObserver
from devtools.embedded_kafka import EmbeddedKafkaError

__all__ = ["app", "demo"]

_NONE = "none"


def _oversharing(values: list[str]) -> frozenset[Partner]:
    if values == [_NONE]:
        return frozenset()
    known = {p.value: p for p in Partner}
    unknown = [v for v in values if v not in known]
    if unknown:
        raise typer.BadParameter(
            f"{', '.join(unknown)}: not a partner; use one of {', '.join(known)} (or {_NONE})",
            param_hint="--oversharing",
        )
    return frozenset(known[v] for v in values)


def demo(
    youths: Annotated[
        int, typer.Option("--youths", min=1, max=500, help="Youths on the netto focus list.")
    ] = 25,
    bruto: Annotated[
        int, typer.Option("--bruto", min=0, max=50, help="Bruto rows mixed into the CSV.")
    ] = 3,
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same invented people.")] = 2026,
    oversharing: Annotated[
        list[str] | None,
        typer.Option(
            "--oversharing",
            metavar="PARTNER",
            help=f"A partner whose system over-shares (repeatable; '{_NONE}' for none).",
        ),
    ] = None,
    deadline_seconds: Annotated[
        int,
        typer.Option(
            "--deadline-seconds", min=5, max=600, help="Round deadline (production: days)."
        ),
    ] = 20,
    workdir: Annotated[
        Path | None,
        typer.Option(
            "--workdir",
            file_okay=False,
            help="Keep the files here (a new or empty directory); else a temporary one.",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """The whole system on this machine, with invented people only.

    Embedded Kafka (Tansu), the municipal service on SQLite and the 14
    reference adapters, one of which over-shares. A synthetic focus list,
    bruto rows included, goes through the import; one round per youth;
    progress shows live. At the end: per youth what each partner answered
    as its colour permits, and what the over-sharing partner's adapter
    refused at source. About half a minute; --json prints JSON for scripts.
    """
    if workdir is not None and workdir.exists() and any(workdir.iterdir()):
        fail(f"{workdir} is not empty: give a new or empty directory, so no earlier run mixes in")
    options = DemoOptions(
        youths=youths,
        bruto=bruto,
        seed=seed,
        oversharing=_oversharing(oversharing) if oversharing else DemoOptions.oversharing,
        round_deadline=dt.timedelta(seconds=deadline_seconds),
        workdir=workdir,
    )
    observer = None if as_json else ConsoleObserver(out)
    try:
        report = asyncio.run(run_demo(options, observer))
    except EmbeddedKafkaError as exc:
        fail("\n".join([str(exc), *getattr(exc, "__notes__", ())]), EXIT_UNAVAILABLE)
    except KeyboardInterrupt:
        fail("interrupted; everything is stopped", 130)
    if as_json:
        print_json(report_json(report))
    else:
        print_results(out, report)
    if not report.ok:
        message = (
            f"{report.summary.unfinished} round(s) had no result "
            f"{options.grace.total_seconds():.0f} s after the last deadline; "
            f"see {report.workdir / LOG_FILE}"
        )
        fail(message, 1)


# One command: `iaj demo` hands its arguments to this app (broker/cli/dev.py).
app = typer.Typer(add_completion=False, pretty_exceptions_show_locals=False)
app.command()(demo)
