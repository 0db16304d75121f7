"""`iaj policy ...`: show and check the uitvraag policy (who is asked what, at which colour)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from broker.cli.terms import renamed_flag
from contracts.enums import AnswerShape, Colour, Partner
from contracts.policy import AskedQuestion, DetailFieldKind, Policy, PolicyError, load_policy

__all__ = ["app", "policy_view"]

PolicyView = dict[str, dict[str, list[dict[str, Any]]]]

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_show_locals=False)

_FileOption = Annotated[
    Path | None,
    typer.Option(
        "--file",
        "-f",
        dir_okay=False,
        help="Another policy file (default: the shipped Haarlem one).",
    ),
]


def policy_view(
    policy: Policy, colour: Colour | None = None, partner: Partner | None = None
) -> PolicyView:
    """colour -> partner -> the questions asked, as plain data (what `show --json` prints)."""
    colours = [colour] if colour else list(Colour)
    view: PolicyView = {}
    for c in colours:
        per_partner: dict[str, list[dict[str, Any]]] = {}
        for q in policy.asked(c, partner):
            per_partner.setdefault(q.partner.value, []).append(_question_view(policy, q))
        view[c.value] = per_partner
    return view


def _question_view(policy: Policy, q: AskedQuestion) -> dict[str, Any]:
    item: dict[str, Any] = {
        "subject": q.subject.value,
        "key": q.key,
        "shape": q.shape.value,
        "text": q.text,
    }
    if q.after is not None:
        item["condition"] = q.after.model_dump(mode="json")
    if q.shape is AnswerShape.DETAIL:
        item["detail_fields"] = [f.model_dump(mode="json") for f in q.detail_fields]
    limit = policy.text_limit(q.shape)
    carries_text = q.shape is AnswerShape.JA_NEE_TOELICHTING or any(
        f.kind is DetailFieldKind.TEKST for f in q.detail_fields
    )
    if limit is not None and carries_text:
        item["text_limit"] = limit
    return item


@app.command()
def show(
    kleur: Annotated[
        Colour | None, typer.Option("--kleur", "-k", help="Only this colour (label).")
    ] = None,
    partner: Annotated[
        Partner | None, typer.Option("--partner", "-p", help="Only this partner.")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="JSON: colour -> partner -> questions.")
    ] = False,
    file: _FileOption = None,
    old_colour: Annotated[Colour | None, typer.Option("--colour", "-c", hidden=True)] = None,
) -> None:
    """Show which partner is asked what, about whom, and in which answer shape, per colour."""
    colour = renamed_flag(kleur, old_colour, old="--colour", new="--kleur")
    policy = _load(file)
    view = policy_view(policy, colour, partner)
    if as_json:
        typer.echo(json.dumps(view, indent=2, ensure_ascii=False))
        return
    console = Console(highlight=False)
    for colour_name, per_partner in view.items():
        console.print(_table(policy, colour_name, per_partner))


@app.command()
def check(
    file: Annotated[
        Path | None,
        typer.Argument(dir_okay=False, help="The policy file (default: the shipped one)."),
    ] = None,
) -> None:
    """Validate a policy file; on an error print file:line and the rule, and exit 2."""
    policy = _load(file)
    _console().print(
        Text(
            f"OK: {file or 'shipped policy'} is policy {policy.id!r} version {policy.version}, "
            f"effective from {policy.effective_from.isoformat()} "
            f"({len(policy.questions)} questions)",
            style="green",
        )
    )


def _load(path: Path | None) -> Policy:
    try:
        return load_policy(path)
    except PolicyError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"{path}: cannot read the policy file: {exc.strerror or exc}")


def _fail(message: str) -> NoReturn:
    _console(stderr=True).print(Text(message, style="red"))
    raise typer.Exit(2)


def _console(*, stderr: bool = False) -> Console:
    return Console(stderr=stderr, soft_wrap=True, markup=False, highlight=False)


def _table(policy: Policy, colour: str, per_partner: dict[str, list[dict[str, Any]]]) -> Table:
    table = Table(
        title=f"{colour} · {policy.id} v{policy.version}",
        box=box.SIMPLE_HEAD,
        title_justify="left",
    )
    table.add_column("partner", no_wrap=True, min_width=len(max(Partner, key=len)))
    table.add_column("question", overflow="fold")
    table.add_column("shape", no_wrap=True)
    if not per_partner:
        table.add_row("(no questions)", "", "")
    for partner, questions in per_partner.items():
        for i, q in enumerate(questions):
            table.add_row(partner if i == 0 else "", _question_cell(q), q["shape"])
    return table


def _question_cell(q: dict[str, Any]) -> Text:
    cell = Text(q["key"])
    if q["subject"] != "jongere":
        cell.append(f" (each {q['subject']})", style="bold")
    notes = []
    if "condition" in q:
        c = q["condition"]
        notes.append(f"only after {c['partner']}.{c['key']} = {c['answer']}")
    notes += [f"· {f['name']} ({f['kind']})" for f in q.get("detail_fields", ())]
    if "text_limit" in q:
        notes.append(f"text at most {q['text_limit']} characters")
    for note in notes:
        cell.append(f"\n{note}", style="dim")
    return cell
