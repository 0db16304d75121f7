"""How the CLI shows status and open questions: rich tables for people, JSON for scripts."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from contracts import AnswerShape, LifeDomain, Partner, Policy, Question
from partner_adapters.manual import explain
from partner_adapters.policy_guard import scope_question
from partner_adapters.state import AdapterStatus, OpenQuestion, Refusal

__all__ = ["allowed_text", "pending_json", "pending_view", "status_json", "status_view"]


def allowed_text(question: Question) -> str:
    """What an answer to `question` may carry, in terms of `iaj adapter answer` flags."""
    shape = question.shape
    if shape is AnswerShape.JA_NEE:
        return "ja | nee"
    if shape is AnswerShape.JA_NEE_MET_WIE:
        return f"ja | nee; on ja: --met-wie PARTNER ... ({', '.join(p.value for p in Partner)})"
    if shape is AnswerShape.JA_NEE_DOMEINEN:
        return f"ja | nee; on ja: --domein DOMEIN ... ({', '.join(d.value for d in LifeDomain)})"
    if shape is AnswerShape.JA_NEE_TOELICHTING:
        return f"ja | nee; on ja: --toelichting TEXT (at most {question.text_limit} characters)"
    fields = ", ".join(f"{f.name} ({f.kind.value})" for f in question.detail_fields)
    limit = f"; text at most {question.text_limit} characters" if question.text_limit else ""
    return f"ja | nee; on ja: --detail NAME=VALUE for {fields}{limit}"


def effective_question(oq: OpenQuestion, partner: Partner, policy: Policy) -> Question | Refusal:
    if oq.subject is None:
        return oq.question
    return scope_question(
        oq.question, oq.subject.role, partner, oq.colour, oq.policy == policy.ref, policy
    )


def pending_json(
    open_questions: list[OpenQuestion], partner: Partner, policy: Policy
) -> list[dict[str, Any]]:
    rows = []
    for oq in open_questions:
        scoped = effective_question(oq, partner, policy)
        question = oq.question if isinstance(scoped, Refusal) else scoped
        rows.append(
            {
                "question_set_id": str(oq.question_set_id),
                "round_id": str(oq.round_id),
                "colour": oq.colour.value,
                "deadline": oq.deadline.isoformat(),
                "question_id": str(question.question_id),
                "key": question.key,
                "text": question.text,
                "shape": question.shape.value,
                "detail_fields": [
                    {"name": f.name, "kind": f.kind.value} for f in question.detail_fields
                ],
                "text_limit": question.text_limit,
                "answerable": not isinstance(scoped, Refusal),
                "allowed": explain(scoped.reason)
                if isinstance(scoped, Refusal)
                else allowed_text(question),
                "subject": None
                if oq.subject is None
                else {
                    "subject_ref": oq.subject.subject_ref,
                    "role": oq.subject.role.value,
                    "naam": oq.subject.naam,
                    "geboortedatum": oq.subject.geboortedatum.isoformat(),
                },
                "last_refusal": _refusal_json(oq.last_refusal),
            }
        )
    return rows


def pending_view(rows: list[dict[str, Any]], partner: Partner) -> Group:
    """One panel per open question: readable at any terminal width."""
    title = Text(f"Open questions for {partner.value}: {len(rows)}", style="bold")
    panels: list[Text | Panel] = [title]
    for row in rows:
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="dim", no_wrap=True)
        grid.add_column(overflow="fold")
        subject = row["subject"] or {}
        about = (
            f"{subject['naam']}, born {subject['geboortedatum']} ({subject['role']})"
            if subject
            else "(removed: past the deadline)"
        )
        grid.add_row("about", Text(about))
        grid.add_row("asks", Text.assemble((row["key"], "bold"), "  ", row["text"]))
        allowed = Text(row["allowed"], style="" if row["answerable"] else "red")
        grid.add_row("may carry", allowed)
        grid.add_row(
            "set",
            Text(f"{row['question_set_id']} ({row['colour']}), deadline {row['deadline'][:16]}"),
        )
        if row["last_refusal"]:
            refusal = row["last_refusal"]
            on_field = f" on {refusal['field']}" if refusal["field"] else ""
            note = f"{refusal['source']} answer refused: {refusal['reason']}{on_field}"
            grid.add_row("note", Text(note, style="yellow"))
        panels.append(Panel(grid, title=Text(row["question_id"]), title_align="left"))
    return Group(*panels)


def status_json(status: AdapterStatus) -> dict[str, Any]:
    return {
        "partner": status.partner.value,
        "question_sets": {
            "received": status.question_sets_received,
            "answered": status.question_sets_answered,
            "pending": status.question_sets_pending,
            "expired": status.question_sets_expired,
        },
        "questions": {"open": status.questions_open, "answered": status.questions_answered},
        "refused_at_source": status.refused_at_source,
        "rejected": status.rejected,
        "lookup_failures": status.lookup_failures,
        "undelivered": status.undelivered,
        "refused_by_municipality": status.refused_by_municipality,
        "recent_municipal_refusals": [
            {
                "at": r.at.isoformat(),
                "answer_message_id": str(r.in_reply_to),
                "question_id": None if r.question_id is None else str(r.question_id),
                "reason": r.reason,
                "field": r.field,
                "explanation": r.explanation,
            }
            for r in status.recent_municipal_refusals
        ],
        "recent_refusals": [
            {
                "at": r.at.isoformat(),
                "question_set_id": None if r.question_set_id is None else str(r.question_set_id),
                **(_refusal_json(r.refusal) or {}),
            }
            for r in status.recent_refusals
        ],
        "recent_rejections": [
            {
                "at": r.at.isoformat(),
                "message_id": None
                if r.rejection.message_id is None
                else str(r.rejection.message_id),
                "reason": r.rejection.reason,
                "detail": r.rejection.detail,
                "position": None
                if r.rejection.position is None
                else {
                    "topic": r.rejection.position.topic,
                    "partition": r.rejection.position.partition,
                    "offset": r.rejection.position.offset,
                },
            }
            for r in status.recent_rejections
        ],
        "recent_lookup_failures": [
            {
                "at": r.at.isoformat(),
                "question_set_id": str(r.question_set_id),
                "kind": r.failure.kind,
                "attempts": r.failure.attempts,
            }
            for r in status.recent_lookup_failures
        ],
    }


def status_view(data: dict[str, Any]) -> Group:
    counts = Table(title=f"Adapter status: {data['partner']}", show_header=False)
    counts.add_column("what")
    counts.add_column("count", justify="right")
    sets = data["question_sets"]
    for label, value in (
        ("question sets received", sets["received"]),
        ("  answered", sets["answered"]),
        ("  pending (open questions)", sets["pending"]),
        ("  expired with open questions", sets["expired"]),
        ("questions answered", data["questions"]["answered"]),
        ("questions open", data["questions"]["open"]),
        ("answers refused at source", data["refused_at_source"]),
        ("messages rejected (other partner, malformed, late)", data["rejected"]),
        ("lookup failures", data["lookup_failures"]),
        ("answers recorded, not yet sent", data["undelivered"]),
        ("answers refused by the municipality", data["refused_by_municipality"]),
    ):
        counts.add_row(label, str(value))
    parts: list[Table] = [counts]
    if data["recent_refusals"]:
        refusals = Table(title="Most recent refusals at source (no content is kept)")
        for column in ("at", "question", "reason", "field", "by"):
            refusals.add_column(column, overflow="fold")
        for r in data["recent_refusals"]:
            refusals.add_row(
                r["at"][:16],
                r["question_key"] or str(r["question_id"]),
                r["reason"],
                r["field"] or "",
                r["source"],
            )
        parts.append(refusals)
    if data["recent_municipal_refusals"]:
        municipal = Table(title="Most recent refusals by the municipality (iaj.refusals)")
        for column in ("at", "answer message", "question", "reason", "field", "explanation"):
            municipal.add_column(column, overflow="fold")
        for r in data["recent_municipal_refusals"]:
            municipal.add_row(
                r["at"][:16],
                r["answer_message_id"],
                r["question_id"] or "",
                Text(r["reason"], style="red"),
                r["field"] or "",
                Text(r["explanation"]),
            )
        parts.append(municipal)
    if data["recent_rejections"]:
        rejections = Table(title="Most recent rejected messages")
        for column in ("at", "reason", "detail", "message id"):
            rejections.add_column(column, overflow="fold")
        for r in data["recent_rejections"]:
            rejections.add_row(
                r["at"][:16], Text(r["reason"]), Text(r["detail"]), r["message_id"] or ""
            )
        parts.append(rejections)
    if data["recent_lookup_failures"]:
        failures = Table(title="Most recent lookup failures")
        for column in ("at", "question set", "kind", "attempts"):
            failures.add_column(column, overflow="fold")
        for r in data["recent_lookup_failures"]:
            failures.add_row(r["at"][:16], r["question_set_id"], r["kind"], str(r["attempts"]))
        parts.append(failures)
    return Group(*parts)


def _refusal_json(refusal: Refusal | None) -> dict[str, Any] | None:
    if refusal is None:
        return None
    return {
        "question_id": None if refusal.question_id is None else str(refusal.question_id),
        "question_key": refusal.question_key,
        "reason": refusal.reason,
        "field": refusal.field,
        "source": refusal.source.value,
    }
