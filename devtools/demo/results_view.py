"""The demo's ending, as a regisseur reads it: per youth what each partner answered, the
counts, and what the over-sharing partner's adapter refused at source."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from rich import box
from rich.console import Console
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from contracts.enums import Partner, YesNo
from contracts.messages import AnswerItem, Completion, OutcomeStatus, QuestionOutcome
from devtools.demo.report import DemoReport, DemoRound, RefusalGroup, Summary
from devtools.demo.run import LOG_FILE
from devtools.demo.view import COLOUR_STYLE, LABEL_WIDTH, step

__all__ = ["print_results"]

_CLIP = 36  # characters of a toelichting or a detail text shown; the JSON has them whole
_PARTNER_WIDTH = len(max(Partner, key=len))
_INDENT = LABEL_WIDTH


def print_results(console: Console, report: DemoReport) -> None:
    console.rule("results per youth, as the municipality received them on iaj.results")
    for demo_round in report.rounds:
        console.print(_youth_header(demo_round))
        console.print(_answers(demo_round))
    console.print()
    _print_summary(console, report.summary)
    if report.refusals:
        console.print()
        _print_refusals(console, report)
    console.print()
    _print_footer(console, report)


def _youth_header(r: DemoRound) -> Text:
    case, colour = r.youth.case, r.youth.colour
    family = len(case.family)
    header = Text.assemble((case.naam, "bold"), " · ", (colour.value, COLOUR_STYLE[colour]))
    if family:
        header.append(f" · {family} family member{'s' if family > 1 else ''}")
    if r.result is None:
        header.append(" · no result", "bold red")
    elif r.result.completion is Completion.COMPLETE:
        header.append(" · complete", "green")
    else:
        header.append(" · closed by deadline", "yellow")
    return header


def _answers(r: DemoRound) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(width=_PARTNER_WIDTH + 2, no_wrap=True)  # +2: indented under the name
    table.add_column()
    if r.result is None:
        return table
    all_nee, not_applicable = [], []
    for partner_result in r.result.partners:
        outcomes = partner_result.questions
        name = partner_result.partner.value
        if all(_is_nee(o) for o in outcomes):
            all_nee.append(name)
        elif all(o.status is OutcomeStatus.NOT_APPLICABLE for o in outcomes):
            not_applicable.append(name)
        else:
            table.add_row(f"  {name}", Text("\n").join(_outcome_lines(outcomes)))
    if all_nee:
        table.add_row(Text("  all nee", "dim"), Text(", ".join(all_nee), "dim"))
    if not_applicable:
        table.add_row(Text("  not_applicable", "dim"), Text(", ".join(not_applicable), "dim"))
    return table


def _outcome_lines(outcomes: Sequence[QuestionOutcome]) -> Iterator[Text]:
    """One line per outcome worth reading; several plain 'nee' ones folded into one line."""
    named = len(outcomes) > 1
    nee = [o for o in outcomes if _is_nee(o)]
    for outcome in sorted(outcomes, key=_subject_order):
        if outcome in nee and len(nee) > 1:
            continue
        yield _outcome(outcome, named)
    if len(nee) > 1:
        yield Text(f"{len(nee)} other questions: nee", "dim")


def _outcome(o: QuestionOutcome, named: bool) -> Text:
    line = Text()
    if o.subject_ref != "jongere":
        line.append(f"{o.subject_ref} ", "italic")
    if named or o.subject_ref != "jongere":
        line.append(f"{o.key}: ")
    if o.status is OutcomeStatus.EXPIRED:
        return line.append("expired", "red")
    if o.status is OutcomeStatus.NOT_APPLICABLE:
        return line.append("not_applicable", "dim")
    assert o.answer is not None
    return line.append_text(_answer(o.answer))


def _answer(a: AnswerItem) -> Text:
    text = Text(a.antwoord.value, "bold green" if a.antwoord is YesNo.JA else "")
    extras = []
    if a.met_wie:
        extras.append(f"met wie: {', '.join(p.value for p in a.met_wie)}")
    if a.domeinen:
        extras.append(f"domeinen: {', '.join(d.value for d in a.domeinen)}")
    if a.toelichting:
        extras.append(f"“{_clip(a.toelichting)}”")
    if a.detail:
        extras.append(", ".join(f"{k}={_detail(v)}" for k, v in a.detail.items()))
    if extras:
        text.append(" · " + " · ".join(extras))
    return text


def _detail(value: object) -> str:
    if isinstance(value, bool):
        return "ja" if value else "nee"
    if isinstance(value, str):
        return f"“{_clip(value, 20)}”"
    return str(value)


def _clip(text: str, limit: int = _CLIP) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _subject_order(o: QuestionOutcome) -> int:
    """The youth first, then family members by number (gezinslid-10 after gezinslid-9)."""
    return 0 if o.subject_ref == "jongere" else int(o.subject_ref.rpartition("-")[2])


def _is_nee(o: QuestionOutcome) -> bool:
    return o.answer is not None and o.answer.antwoord is YesNo.NEE


def _print_summary(console: Console, s: Summary) -> None:
    console.print(
        step(
            "rounds",
            f"{s.rounds}: ",
            (f"{s.complete} complete", "green"),
            ", ",
            (f"{s.by_deadline} closed by deadline", "yellow" if s.by_deadline else ""),
            ", ",
            (f"{s.unfinished} without result", "bold red" if s.unfinished else "dim"),
        )
    )
    console.print(
        step(
            "answers",
            (f"{s.ja} ja", "green"),
            f", {s.nee} nee · ",
            (f"{s.expired} expired", "red" if s.expired else ""),
            f" (deadline passed unanswered) · {s.not_applicable} not_applicable (condition "
            "not met)",
        )
    )
    console.print(
        step(
            "refused",
            (f"{s.refused_at_source} at source", "bold red" if s.refused_at_source else ""),
            f" · {s.refused_by_municipality} by the municipality · late answers "
            f"{s.late_answers} · dead letters {s.dead_letters}",
        )
    )


def _print_refusals(console: Console, report: DemoReport) -> None:
    partners = sorted({g.partner for g in report.refusals}, key=list(Partner).index)
    for partner in partners:
        groups = [g for g in report.refusals if g.partner is partner]
        console.print(
            step(
                "at source",
                (partner.value, "bold red"),
                f"'s adapter refused {_plural(sum(g.count for g in groups), 'answer')}; "
                "it keeps only question, rule and field, no content:",
            )
        )
        console.print(Padding(_refusal_table(groups), (0, 0, 1, _INDENT)))
        console.print(Padding(_explanation(report, partner), (0, 0, 0, _INDENT)))


def _refusal_table(groups: Sequence[RefusalGroup]) -> Table:
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for column in ("question", "rule broken", "field", "source"):
        table.add_column(column, no_wrap=True)
    table.add_column("times", justify="right")
    for g in groups:
        table.add_row(g.question_key or "-", g.reason, g.field or "-", g.source, str(g.count))
    return table


def _explanation(report: DemoReport, partner: Partner) -> Text:
    final = next(p for p in report.final.partners if p.partner is partner)
    expired = sum(
        o.status is OutcomeStatus.EXPIRED
        for r in report.rounds
        if r.result is not None
        for p in r.result.partners
        if p.partner is partner
        for o in p.questions
    )
    name = partner.value
    # Claim only what the numbers show: a refusal on the municipal side means an answer did
    # arrive there, and then this must not say otherwise.
    if final.refused_by_municipality == 0:
        arrived = (
            f"The municipality holds no refusal of a {name} answer, as it would if one had arrived."
        )
    else:
        arrived = (
            f"The municipality did refuse {_plural(final.refused_by_municipality, 'answer')} "
            f"from {name} that its adapter let through: see `iaj status`."
        )
    return Text(
        f"None of these answers left {name}: its adapter checks each answer against what the "
        f"round's colour permits, and sends none that carries more. {arrived} Their questions "
        f"stayed open until the deadline: the {expired} 'expired' above. {name}'s 'nee' "
        "answers, and 'ja' answers whose question permits all they carried, went through. "
        f"Until {name} fixes its system, someone there can answer by hand: "
        "`iaj-adapter answer`."
    )


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _print_footer(console: Console, report: DemoReport) -> None:
    console.print(
        step(
            "stopped",
            f"everything, {report.elapsed_seconds:.1f} s in all "
            f"({report.started_seconds:.1f} s of it starting up)",
        )
    )
    if report.kept:
        console.print(step("", f"files kept in {report.workdir}"), soft_wrap=True)
        console.print(
            step("", f"focus-list.csv, partner-records/, iaj.db, adapter-*.db, {LOG_FILE}")
        )
    else:
        console.print(step("", "temporary files removed; --workdir DIR keeps them"))
