"""The demo in a terminal while it runs: what goes in, the import, and live progress."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from contextlib import AbstractContextManager
from pathlib import Path

from rich import box
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from broker.settings import ServiceSettings
from contracts.enums import Colour, Partner
from devtools.demo.inputs import DemoInputs
from devtools.demo.progress import Progress
from devtools.demo.report import ImportReport
from devtools.demo.run import DemoOptions, Observer
from handlers.states import RoundState

__all__ = ["COLOUR_STYLE", "LABEL_WIDTH", "ConsoleObserver", "step"]

COLOUR_STYLE = {Colour.GROEN: "green", Colour.ORANJE: "dark_orange", Colour.ROOD: "red"}
LABEL_WIDTH = 10


def step(label: str, *parts: str | Text | tuple[str, str]) -> Text:
    """`label     text`: one line of the demo's running account."""
    return Text.assemble((f"{label:<{LABEL_WIDTH}}", "bold"), *parts)


def _indent(*parts: str | Text | tuple[str, str]) -> Text:
    return Text.assemble(" " * LABEL_WIDTH, *parts)


class ConsoleObserver(Observer):
    def __init__(self, console: Console) -> None:
        self.console = console
        self._live: Live | None = None

    def prepared(self, inputs: DemoInputs, workdir: Path, options: DemoOptions) -> None:
        c = self.console
        c.print(
            Text.assemble(
                ("iaj demo", "bold"),
                " · the municipal service and 14 partner adapters on this machine,"
                " invented people only",
            )
        )
        colours = Counter(y.colour for y in inputs.youths)
        mix = Text(", ").join(Text(f"{colours[c]} {c.value}", COLOUR_STYLE[c]) for c in Colour)
        with_family = sum(1 for y in inputs.youths if y.case.family)
        c.print(
            step(
                "input",
                f"{inputs.focus_list_csv.name}: {len(inputs.youths)} youths (",
                mix,
                f"; {with_family} with family) and {len(inputs.bruto)} bruto rows",
            )
        )
        c.print(
            _indent(
                f"{inputs.records_dir.name}/: what each partner's system knows, "
                "read by its reference lookup"
            )
        )
        for partner in sorted(options.oversharing, key=list(Partner).index):
            c.print(
                _indent(
                    (partner.value, "bold red"),
                    "'s system over-shares on purpose: its adapter has to stop that at source",
                )
            )
        production = ServiceSettings.model_fields["round_deadline"].default
        seconds = int(options.round_deadline.total_seconds())
        c.print(
            _indent(
                f"round deadline {seconds} s (in production {_days(production)}) · "
                f"seed {options.seed}"
            )
        )
        temporary = "" if options.workdir else " (temporary; --workdir DIR keeps the files)"
        c.print(step("files", str(workdir), temporary), soft_wrap=True)

    def starting(self) -> AbstractContextManager[object]:
        return self.console.status(
            "starting embedded Kafka (Tansu), the municipal service and 14 partner adapters…"
        )

    def started(self, seconds: float, bootstrap: str) -> None:
        self.console.print(
            step("running", f"embedded Kafka (Tansu) at {bootstrap}, all up in {seconds:.1f} s")
        )
        self.console.print(
            _indent("the municipal service on SQLite (iaj.db), 14 adapters (adapter-<partner>.db)")
        )

    def imported(self, report: ImportReport) -> None:
        c = self.console
        c.print(
            step(
                "import",
                f"{report.rows} rows through the focus-list import: ",
                (f"{report.taken_in} taken in", "green"),
                ", ",
                (f"{len(report.not_taken_in)} not", "yellow" if report.not_taken_in else "dim"),
            )
        )
        reasons: dict[str, list[int]] = {}
        for row, reason in report.not_taken_in:
            reasons.setdefault(reason, []).append(row)
        for reason, rows in reasons.items():
            where = "row" if len(rows) == 1 else "rows"
            c.print(_indent(f"{where} {_ranges(rows)}: {reason}"), soft_wrap=True)

    def opening(self, count: int) -> None:
        self.console.print(
            step(
                "rounds",
                f"opening {count}, one per youth with its colour; "
                "the outbox relay publishes the question sets",
            )
        )
        self.console.print()

    def progress(self, progress: Progress) -> None:
        if self._live is None:
            self._live = Live(console=self.console, auto_refresh=False)
            self._live.start()
        self._live.update(self._render(progress), refresh=True)

    def settled(self, progress: Progress) -> None:
        if self._live is not None:
            self._live.update(self._render(progress), refresh=True)
        self.close()
        self.console.print()

    def close(self) -> None:
        if self._live is not None:
            self._live.stop()  # also shows the cursor again after an interrupted run
            self._live = None

    def _render(self, progress: Progress) -> RenderableType:
        return Group(_partner_table(progress), _rounds_line(progress), _municipal_line(progress))


def _rounds_line(progress: Progress) -> Text:
    rounds = progress.rounds
    line = step(
        "rounds",
        f"{progress.opened}/{progress.to_open} opened · ",
        (f"{rounds.get(RoundState.COMPLETE, 0)} complete", "green"),
        " · ",
        (f"{rounds.get(RoundState.DEADLINE, 0)} by deadline", "yellow"),
        " · ",
        (f"{progress.rounds_open} open", "bold" if progress.rounds_open else "dim"),
    )
    line.append(f" · {progress.results} results")
    if progress.rounds_open and progress.last_deadline is not None:
        left = int((progress.last_deadline - progress.at).total_seconds()) + 1
        line.append(f" · last deadline in {left} s" if left > 0 else " · last deadline passed")
    return line


def _partner_table(progress: Progress) -> Table:
    # No edges and a one-line caption: the live view must fit a 24-line terminal.
    table = Table(
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        caption="question sets per partner; refused at source: answers its adapter kept back",
        caption_justify="left",
        caption_style="dim",
    )
    table.add_column("partner", no_wrap=True, min_width=len(max(Partner, key=len)))
    for column in ("sets sent", "answered", "waiting", "expired"):
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column("refused at source", justify="right", no_wrap=True)
    table.add_column("", no_wrap=True)
    for p in progress.partners:
        style = "" if p.sets_sent or p.refused_at_source else "dim"
        table.add_row(
            Text(p.partner.value, style),
            Text(str(p.sets_sent), style),
            Text(str(p.answered), style),
            Text(str(p.open), "yellow" if p.open else "dim"),
            Text(str(p.expired), "red" if p.expired else "dim"),
            Text(str(p.refused_at_source), "bold red" if p.refused_at_source else "dim"),
            Text("over-shares", "red") if p.oversharing else Text(""),
        )
    return table


def _municipal_line(progress: Progress) -> Text:
    accepted = sum(p.accepted for p in progress.partners)
    refused = sum(p.refused_by_municipality for p in progress.partners)
    return step(
        "municipal",
        f"answers accepted {accepted} · refused {refused} · late {progress.late_answers} · ",
        (f"dead letters {progress.dead_letters}", "red" if progress.dead_letters else ""),
        f" · outbox unsent {progress.outbox_unsent}",
    )


def _ranges(rows: Sequence[int]) -> str:
    """`2-4, 9`: row numbers, consecutive ones joined."""
    parts: list[str] = []
    start = prev = rows[0]
    for row in [*rows[1:], None]:
        if row is not None and row == prev + 1:
            prev = row
            continue
        parts.append(str(start) if start == prev else f"{start}-{prev}")
        if row is not None:
            start = prev = row
    return ", ".join(parts)


def _days(delta: dt.timedelta) -> str:
    days = delta.days
    return f"{days} day{'s' if days != 1 else ''}" if days else f"{int(delta.total_seconds())} s"
