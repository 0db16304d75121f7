"""The service's operational log lines at INFO: what a batch of answers or a command did, with
the ids an operator searches for (`round_id`, `partner`, `correlation_id`), never content.

Refusals, dead letters and rounds opened are logged where they are recorded (in `handlers`),
once their transaction committed; question sets and results when the relay published them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from handlers.answers import AnswerReport
from handlers.commands import CommandReport
from handlers.dead_letters import Delivery

__all__ = ["log_answer_batch", "log_command"]

# The service logs under one name: filters and alerts on it keep matching.
log = logging.getLogger("broker.service.municipal")


def log_answer_batch(reports: Sequence[AnswerReport]) -> None:
    """One line per batch of answer messages, with counts; and one per answer message kept,
    with its ids (the per-message line is at DEBUG when nothing was accepted or completed)."""
    rounds = sorted({r.round_id for r in reports if r.round_id})
    partners = sorted({r.partner for r in reports if r.partner})
    counts = {
        "messages": len(reports),
        "accepted": sum(r.accepted for r in reports),
        "refused": sum(len(r.refused) for r in reports),
        "late": sum(r.late for r in reports),
        "duplicates": sum(r.duplicate for r in reports),
        "dead_lettered": sum(r.dead_lettered for r in reports),
        "rounds_completed": sum(r.completed for r in reports),
        "follow_up_questions": sum(r.issued for r in reports),
    }
    log.info(
        "answer batch: %(messages)d message(s), %(accepted)d answer(s) accepted, "
        "%(refused)d refused, %(rounds_completed)d round(s) completed",
        counts,
        extra={"event": "answer_batch", **counts, "round_ids": rounds, "partners": partners},
    )
    for report in reports:
        if report.round_id is None or report.duplicate:
            continue
        log.info(
            "answer %s of %s: %d accepted%s",
            report.message_id,
            report.partner,
            report.accepted,
            ", round completed" if report.completed else "",
            extra={
                "event": "answer_received",
                "partner": report.partner,
                "round_id": report.round_id,
                "correlation_id": report.correlation_id,
                "message_id": report.message_id,
                "accepted": report.accepted,
                "refused": len(report.refused),
                "late": report.late,
                "follow_up_questions": report.issued,
                "round_completed": report.completed,
            },
        )


def log_command(report: CommandReport, delivery: Delivery) -> None:
    """One line per command: its outcome and ids (a rejection's detail is not logged: it may
    name an official; it is on the dead letter)."""
    fields: dict[str, object] = {
        "event": "command",
        "outcome": report.outcome,
        **delivery.log_fields(),
    }
    if report.round_id:
        fields["round_id"] = report.round_id
    level = logging.WARNING if report.outcome == "dead_lettered" else logging.INFO
    log.log(
        level,
        "command at %s: %s%s",
        delivery.position,
        report.outcome,
        f" (round {report.round_id})" if report.round_id else "",
        extra=fields,
    )
