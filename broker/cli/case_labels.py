"""`iaj case relabel | criteria`: op- en afschalen, and the criteria that permit a label."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from broker.cli.cases_common import CaseArg
from broker.cli.common import (
    ActorOpt,
    DatabaseUrlOpt,
    JsonOpt,
    acting_official,
    fail,
    load_settings,
    out,
    print_json,
    reported_errors,
    run_db,
)
from broker.cli.terms import renamed_flag
from contracts.enums import Colour, Criterion
from contracts.messages import utc_now
from contracts.policy import load_policy
from handlers.criteria import record_criteria
from handlers.db.uow import UnitOfWork
from handlers.relabel import RelabelReport, partners_in, relabel_case

__all__ = ["criteria", "relabel"]


def criteria(
    case_id: CaseArg,
    reason: Annotated[
        str, typer.Option(help="Why the criteria change (a sentence; in the processing log).")
    ],
    add: Annotated[
        list[Criterion] | None, typer.Option("--add", help="A criterion now met; repeat.")
    ] = None,
    remove: Annotated[
        list[Criterion] | None,
        typer.Option("--remove", help="A criterion no longer met; repeat."),
    ] = None,
    who: ActorOpt = None,
    as_json: JsonOpt = False,
    database_url: DatabaseUrlOpt = None,
) -> None:
    """Record afwegingskader criteria met (or no longer met) since registration. The label
    must stay permitted: e.g. rood needs a BIT criterion recorded first."""
    settings = load_settings(database_url)
    actor = acting_official(settings, who)
    with reported_errors():
        policy = load_policy(settings.policy_file)

    async def work(uow: UnitOfWork) -> tuple[Criterion, ...]:
        recorded = await record_criteria(
            uow, policy, case_id, add=add or (), remove=remove or (), reason=reason, actor=actor
        )
        await uow.commit()
        return recorded

    recorded = run_db(settings, work)
    if as_json:
        print_json({"case_id": case_id, "criteria": [c.value for c in recorded]})
        return
    out.print(f"[green]criteria recorded[/green]: {', '.join(c.value for c in recorded)}")


def relabel(
    case_id: CaseArg,
    reason: Annotated[
        str, typer.Option(help="Why the label changes (a sentence; in the processing log).")
    ],
    kleur: Annotated[
        Colour | None, typer.Option(help="The new label: groen, oranje or rood. Required.")
    ] = None,
    who: ActorOpt = None,
    as_json: JsonOpt = False,
    database_url: DatabaseUrlOpt = None,
    old_colour: Annotated[Colour | None, typer.Option("--colour", hidden=True)] = None,
) -> None:
    """Op- of afschalen. Up: an open round asks only the new label's additional questions
    and completes under it. Down: questions the lower label does not ask are withdrawn, and
    what it does not permit is deleted from every round of the case (results re-published)."""
    colour = renamed_flag(kleur, old_colour, old="--colour", new="--kleur")
    if colour is None:
        fail("missing option --kleur")
    settings = load_settings(database_url)
    actor = acting_official(settings, who)
    with reported_errors():
        policy = load_policy(settings.policy_file)

    async def work(uow: UnitOfWork) -> RelabelReport:
        report = await relabel_case(
            uow, policy, case_id, colour, reason=reason, actor=actor, now=utc_now()
        )
        await uow.commit()
        return report

    report = run_db(settings, work, flags={"colour": "--kleur", "criteria": "--add/--remove"})
    added, withdrawn = partners_in(report.added), partners_in(report.withdrawn)
    summary: dict[str, Any] = {
        "case_id": report.case_id,
        "from": report.old,
        "to": report.new,
        "round_id": report.round_id,
        "round_completed": report.round_completed,
        "added": added,
        "withdrawn": withdrawn,
        "answers_deleted": report.answers_deleted,
        "answers_reduced": report.answers_reduced,
        "family_members_deleted": report.family_deleted,
        "results_republished": report.republished,
    }
    if as_json:
        print_json(summary)
        return
    old = report.old.value if report.old else "(none)"
    out.print(f"[green]case {report.case_id}: {old} -> {report.new.value}[/green]", soft_wrap=True)

    def per_partner(counts: dict[str, int]) -> str:
        return ", ".join(f"{p} ({n})" for p, n in counts.items()) or "-"

    if report.round_id is not None:
        out.print(
            f"open round {report.round_id} follows the new label"
            + (" and is complete" if report.round_completed else ""),
            soft_wrap=True,
        )
        out.print(f"questions added: {per_partner(added)}", soft_wrap=True)
        out.print(f"questions withdrawn: {per_partner(withdrawn)}", soft_wrap=True)
    if report.answers_deleted or report.answers_reduced or report.family_deleted:
        out.print(
            f"purged: {report.answers_deleted} answer(s) deleted, {report.answers_reduced} "
            f"reduced to what {report.new.value} permits, {report.family_deleted} family "
            "member(s) deleted",
            soft_wrap=True,
        )
    if report.republished:
        out.print(
            f"results re-published for {len(report.republished)} round(s): "
            + ", ".join(report.republished),
            soft_wrap=True,
        )
