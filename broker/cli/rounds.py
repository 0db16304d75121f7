"""`iaj round ...`: open an enrichment round for a youth, list the rounds, look at one."""

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
from broker.cli.terms import renamed_flag
from contracts.enums import Colour, Partner
from contracts.messages import WithdrawalReason, utc_now
from contracts.policy import load_policy
from handlers.db.tables import RoundRow
from handlers.db.uow import UnitOfWork
from handlers.errors import RoundNotOpen, UnknownRound
from handlers.reasons import check_reason
from handlers.relabel import REASON_MIN_CHARS
from handlers.round_list import RoundList, list_rounds
from handlers.round_view import QuestionView, RoundView, round_view
from handlers.rounds import OpenRound, open_round
from handlers.states import QuestionStatus, RoundState
from handlers.withdrawal import cancel_round
from kafka_access.tracing import configure_tracing, operation_span

__all__ = ["app", "round_json"]

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_show_locals=False)

_STATUS_STYLE = {
    QuestionStatus.WAITING: "dim",
    QuestionStatus.OPEN: "yellow",
    QuestionStatus.ANSWERED: "green",
    QuestionStatus.EXPIRED: "red",
    QuestionStatus.NOT_APPLICABLE: "dim",
    QuestionStatus.WITHDRAWN: "magenta",
}
_COLOUR_STYLE = {Colour.GROEN: "green", Colour.ORANJE: "dark_orange", Colour.ROOD: "red"}


@app.callback()
def _root() -> None:
    """Enrichment rounds ("uitvraag"): open, list, show, cancel."""


@app.command("open")
def open_(
    case_id: Annotated[str, typer.Argument(metavar="CASE", help="The case id.")],
    kleur: Annotated[
        Colour | None,
        typer.Option(
            help="The case's label (the default); another colour is refused: relabel first."
        ),
    ] = None,
    who: ActorOpt = None,
    as_json: JsonOpt = False,
    database_url: DatabaseUrlOpt = None,
    old_colour: Annotated[Colour | None, typer.Option("--colour", hidden=True)] = None,
) -> None:
    """Open a round at the case's label: its question sets go to the outbox, which `iaj serve`
    publishes. Refused when the recorded criteria do not support the label."""
    colour = renamed_flag(kleur, old_colour, old="--colour", new="--kleur")
    settings = load_settings(database_url)
    actor = acting_official(settings, who)
    with reported_errors():
        policy = load_policy(settings.policy_file)

    # With OTEL_* set, the round's trace starts here: its question sets carry it on.
    configure_tracing("iaj-cli")

    async def work(uow: UnitOfWork) -> RoundView:
        request = OpenRound(case_id=case_id, colour=colour, actor=actor)
        with operation_span("iaj round open"):
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
            (view.colour.value, _COLOUR_STYLE[view.colour]),
            f" · deadline {view.deadline:%Y-%m-%d %H:%M} UTC",
        ),
        soft_wrap=True,
    )
    out.print(f"asked now: {', '.join(asked_now) or '-'}", soft_wrap=True)
    if asked_later:
        out.print(f"asked once their condition is met: {', '.join(asked_later)}", soft_wrap=True)
    out.print("[dim]the running service (iaj serve) publishes the question sets[/dim]")


@app.command("list")
def list_(
    state: Annotated[
        RoundState | None, typer.Option(help="Only rounds in this state.", case_sensitive=False)
    ] = None,
    case_id: Annotated[
        str | None, typer.Option("--case", metavar="CASE", help="Only this case's rounds.")
    ] = None,
    partner: Annotated[
        Partner | None,
        typer.Option(
            help="Only rounds with a question still open at this partner.", case_sensitive=False
        ),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many, newest first.")] = 100,
    as_json: JsonOpt = False,
    database_url: DatabaseUrlOpt = None,
) -> None:
    """The rounds, newest first: id, case id, colour, state, deadline, and the partners
    whose questions are still open. Ids only, no names, so not logged as a view."""
    settings = load_settings(database_url)

    async def work(uow: UnitOfWork) -> RoundList:
        return await list_rounds(
            uow, state=state, case_id=case_id, outstanding_at=partner, limit=limit
        )

    listed = run_db(settings, work)
    if as_json:
        print_json(
            {
                "matching": listed.matching,
                "rounds": [
                    {
                        **dataclasses.asdict(r),
                        "outstanding": {p.value: n for p, n in r.outstanding.items()},
                    }
                    for r in listed.rounds
                ],
            }
        )
        return
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    # Ids whole (operators copy them into the next command): the round, its case below it.
    table.add_column("round / case", no_wrap=True)
    table.add_column("colour", no_wrap=True)
    table.add_column("state", no_wrap=True)
    table.add_column("deadline", no_wrap=True)
    table.add_column("open at", overflow="fold")
    for r in listed.rounds:
        ids = Text(r.round_id)
        ids.append(f"\n{r.case_id}", style="dim")
        table.add_row(
            ids,
            Text(r.colour.value, _COLOUR_STYLE[r.colour]),
            r.state.value,
            f"{r.deadline:%Y-%m-%d}",
            "\n".join(f"{p.value} {n}" for p, n in r.outstanding.items()) or "-",
        )
    if not listed.rounds:
        table.add_row("(none)", *[""] * 4)
    out.print(table)
    if listed.matching > len(listed.rounds):
        out.print(f"[dim]{len(listed.rounds)} of {listed.matching} shown; --limit for more[/dim]")


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
    if view.state is RoundState.CANCELLED:
        out.print(
            "[magenta]cancelled[/magenta]: its open questions were withdrawn from the partners; "
            "answers that still come are recorded as late, their content is not kept"
        )
    withdrawn = view.partners_with(QuestionStatus.WITHDRAWN)
    if withdrawn:
        out.print(
            f"withdrawn from: {', '.join(p.value for p in withdrawn)}", soft_wrap=True, markup=False
        )
    out.print(_table(view))


@app.command()
def cancel(
    round_id: Annotated[str, typer.Argument(metavar="ROUND", help="The round id.")],
    reason: Annotated[
        str, typer.Option(help="Why the round is stopped (a sentence; in the processing log).")
    ],
    who: ActorOpt = None,
    as_json: JsonOpt = False,
    database_url: DatabaseUrlOpt = None,
) -> None:
    """Stop an open round: partners are told its open questions are withdrawn, the backend
    gets its result as cancelled, and late answers are not kept."""
    settings = load_settings(database_url)
    actor = acting_official(settings, who)
    with reported_errors():
        why = check_reason(reason, "reason", REASON_MIN_CHARS)

    async def work(uow: UnitOfWork) -> RoundView:
        row = await uow.session.get(RoundRow, round_id, with_for_update=True)
        if row is None:
            raise UnknownRound(f"no round {round_id!r}; `iaj case list` shows the cases")
        if not await cancel_round(
            uow, row, reason=WithdrawalReason.ROUND_CANCELLED, why=why, actor=actor, now=utc_now()
        ):
            raise RoundNotOpen(
                f"round {row.id} is {row.state}, not open: there is nothing left to cancel"
            )
        view = await round_view(uow, round_id, actor=None)  # the cancel is logged already
        await uow.commit()
        return view

    view = run_db(settings, work)
    told = view.partners_with(QuestionStatus.WITHDRAWN)
    withdrawn = {
        p.value: sum(1 for q in qs if q.status is QuestionStatus.WITHDRAWN)
        for p, qs in view.by_partner().items()
        if p in told
    }
    if as_json:
        print_json({"round_id": view.round_id, "state": view.state, "withdrawn": withdrawn})
        return
    out.print(f"[magenta]round {view.round_id} cancelled[/magenta]", soft_wrap=True)
    out.print(
        "withdrawn questions in the round: "
        + (", ".join(f"{p} ({n})" for p, n in withdrawn.items()) or "none"),
        soft_wrap=True,
        markup=False,
    )
    out.print(
        "[dim]the running service (iaj serve) tells the partners and publishes the "
        "cancelled result[/dim]"
    )


@app.command()
def republish(
    round_id: Annotated[str, typer.Argument(metavar="ROUND", help="The round id.")],
    who: ActorOpt = None,
    as_json: JsonOpt = False,
    database_url: DatabaseUrlOpt = None,
) -> None:
    """Publish a closed round's result again on iaj.results (the backend lost it, or the
    topic's retention removed it): the same message id and revision, so a backend that has
    it already ignores the repeat. Logged in the processing log; refused for an open round."""
    from handlers.republish import Republished, republish_result

    settings = load_settings(database_url)
    actor = acting_official(settings, who)
    with reported_errors():
        policy = load_policy(settings.policy_file)

    async def work(uow: UnitOfWork) -> Republished:
        done = await republish_result(uow, policy, round_id, actor=actor, now=utc_now())
        await uow.commit()
        return done

    done = run_db(settings, work)
    if as_json:
        print_json(
            {
                "round_id": done.round_id,
                "message_id": done.message_id,
                "revision": done.revision,
                "completion": done.completion.value,
            }
        )
        return
    out.print(
        f"result of round {done.round_id} (revision {done.revision}, {done.completion.value}, "
        f"message id {done.message_id}) is in the outbox again",
        soft_wrap=True,
        markup=False,
    )
    out.print("[dim]the running service (iaj serve) publishes it on iaj.results[/dim]")


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
