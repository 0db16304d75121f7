"""`iaj round ...`: open an enrichment round for a youth, and look at one."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Annotated, Any

import typer
from rich import box
from rich.table import Table
from rich.text import Text

from broker.cli.common import (
    ActorOpt,
    DatabaseUrlOpt,
    JsonOpt,
    acting_official,
    iso,
    load_settings,
    out,
    print_json,
    reported_errors,
    run_db,
)
from contracts.enums import Colour
from contracts.messages import utc_now
from contracts.policy import load_policy
from handlers.db.uow import UnitOfWork
from handlers.round_view import QuestionView, RoundView, round_view
from handlers.rounds import OpenRound, open_round
from handlers.states import QuestionStatus

__all__ = ["app", "round_json"]

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_show_locals=False)

_STATUS_STYLE = {
    QuestionStatus.WAITING: "dim",
    QuestionStatus.OPEN: "yellow",
    QuestionStatus.ANSWERED: "green",
    QuestionStatus.EXPIRED: "red",
    QuestionStatus.NOT_APPLICABLE: "dim",
}
_COLOUR_STYLE = {Colour.GROEN: "green", Colour.ORANJE: "dark_orange", Colour.ROOD: "red"}


@app.callback()
def _root() -> None:
    """Enrichment rounds ("uitvraag")."""


@app.command("open")
def open_(
    case_id: Annotated[str, typer.Argument(metavar="CASE", help="The case id.")],
    colour: Annotated[Colour, typer.Option(help="The provisional colour label.")],
    who: ActorOpt = None,
    as_json: JsonOpt = False,
    database_url: DatabaseUrlOpt = None,
) -> None:
    """Open a round: its question sets go to the outbox, which `iaj serve` publishes."""
    settings = load_settings(database_url)
    actor = acting_official(settings, who)
    with reported_errors():
        policy = load_policy(settings.policy_file)

    async def work(uow: UnitOfWork) -> RoundView:
        request = OpenRound(case_id=case_id, colour=colour, actor=actor)
        round_id, _ = await open_round(
            uow, policy, request, now=utc_now(), deadline=settings.round_deadline
        )
        view = await round_view(uow, round_id, actor=None)  # opening it is logged already
        await uow.commit()
        return view

    view = run_db(settings, work)
    asked_now = [p.value for p in view.partners_with(QuestionStatus.OPEN)]
    asked_later = [p.value for p in view.partners_with(QuestionStatus.WAITING)]
    if as_json:
        print_json(
            {
                "round_id": view.round_id,
                "colour": view.colour,
                "deadline": view.deadline,
                "asked": asked_now,
                "waiting": asked_later,
            }
        )
        return
    out.print(
        Text.assemble(
            ("round ", "bold"),
            view.round_id,
            " · ",
            (colour.value, _COLOUR_STYLE[colour]),
            f" · deadline {view.deadline:%Y-%m-%d %H:%M} UTC",
        ),
        soft_wrap=True,
    )
    out.print(f"asked now: {', '.join(asked_now) or '-'}", soft_wrap=True)
    if asked_later:
        out.print(f"asked once their condition is met: {', '.join(asked_later)}", soft_wrap=True)
    out.print("[dim]the running service (iaj serve) publishes the question sets[/dim]")


@app.command()
def show(
    round_id: Annotated[str, typer.Argument(metavar="ROUND", help="The round id.")],
    who: ActorOpt = None,
    as_json: JsonOpt = False,
    database_url: DatabaseUrlOpt = None,
) -> None:
    """A round's state, and per partner what was asked and what was answered (logged)."""
    settings = load_settings(database_url)
    actor = acting_official(settings, who)

    async def work(uow: UnitOfWork) -> RoundView:
        view = await round_view(uow, round_id, actor=actor)
        await uow.commit()
        return view

    view = run_db(settings, work)
    if as_json:
        print_json(round_json(view))
        return
    colour = Text(view.colour.value, _COLOUR_STYLE[view.colour])
    title = Text.assemble(("round ", "bold"), view.round_id, " · ", colour, f" · {view.state}")
    out.print(title, soft_wrap=True)
    out.print(
        f"case {view.case_id} · opened {iso(view.opened_at)} by {view.opened_by} · "
        f"deadline {iso(view.deadline)} · completed {iso(view.completed_at) or '-'}",
        soft_wrap=True,
        markup=False,
    )
    out.print(f"refused answers: {view.refusals} · late answers: {view.late_answers}")
    out.print(_table(view))


def round_json(view: RoundView) -> dict[str, Any]:
    """What `round show --json` prints: the round, then partner -> its questions."""
    data = dataclasses.asdict(view)
    del data["questions"]
    data["partners"] = {
        p.value: [_question_json(q) for q in questions]
        for p, questions in view.by_partner().items()
    }
    return data


def _question_json(q: QuestionView) -> dict[str, Any]:
    data = dataclasses.asdict(q)
    del data["partner"]
    data["answer"] = dict(q.answer) if q.answer is not None else None
    return data


def _table(view: RoundView) -> Table:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for column in ("partner", "subject", "question", "shape", "status", "answer"):
        table.add_column(column, overflow="fold", no_wrap=column not in {"question", "answer"})
    for partner, questions in view.by_partner().items():
        for i, q in enumerate(questions):
            table.add_row(
                partner.value if i == 0 else "",
                q.subject_ref,
                q.key,
                q.shape.value,
                Text(q.status.value, _STATUS_STYLE[q.status]),
                _answer_text(q.answer),
            )
    return table


def _answer_text(answer: Mapping[str, Any] | None) -> Text:
    if answer is None:
        return Text("")
    parts = [str(answer.get("antwoord", "?"))]
    if answer.get("met_wie"):
        parts.append(f"met wie: {', '.join(answer['met_wie'])}")
    if answer.get("domeinen"):
        parts.append(f"domeinen: {', '.join(answer['domeinen'])}")
    if answer.get("toelichting"):
        parts.append(f"toelichting: {answer['toelichting']}")
    for name, value in (answer.get("detail") or {}).items():
        parts.append(f"{name}: {value}")
    return Text(" · ".join(parts))
