"""The processing log (in the spirit of Logboek Dataverwerkingen): who, what, which person, why."""

from __future__ import annotations

import re

from sqlalchemy import or_, select

from contracts.messages import utc_now
from handlers.db.pending import add_row
from handlers.db.tables import ProcessingLogRow
from handlers.db.uow import UnitOfWork
from handlers.tracing import current_trace_id

__all__ = ["REDACTED", "VIEW_ACTIONS", "log_processing", "log_view", "redact_names"]

REDACTED = "[verwijderd]"

# Showing data to an official is a processing to log, but not one that keeps a dossier alive:
# the retention clock ("5 years after the last processing") ignores these actions.
CASE_VIEWED = "case_viewed"
ROUND_VIEWED = "round_viewed"
CASE_EXPORTED = "case_exported"  # inzage (AVG art. 15): an access, not a use of the dossier
VIEW_ACTIONS = frozenset({CASE_VIEWED, ROUND_VIEWED, CASE_EXPORTED})


def log_processing(
    uow: UnitOfWork,
    actor: str,
    action: str,
    purpose: str,
    *,
    case_id: str | None = None,
    round_id: str | None = None,
    partner: str | None = None,
) -> None:
    """`partner`: the partner the data went to or came from, when it crossed to a partner."""
    add_row(
        uow.session,
        ProcessingLogRow,
        {
            "at": utc_now(),
            "actor": actor,
            "action": action,
            "case_id": case_id,
            "round_id": round_id,
            "partner": partner,
            "purpose": purpose,
            "trace_id": current_trace_id(),
        },
    )


def log_view(
    uow: UnitOfWork, actor: str, purpose: str, *, case_id: str, round_id: str | None = None
) -> None:
    """An official was shown a case (or one round of it). Caller commits."""
    action = CASE_VIEWED if round_id is None else ROUND_VIEWED
    log_processing(uow, actor, action, purpose, case_id=case_id, round_id=round_id)


async def redact_names(
    uow: UnitOfWork, case_id: str, round_ids: list[str], secrets: list[str]
) -> int:
    """Log entries name no one by design; a free-text reason might. Replace any occurrence of
    `secrets` (the names and address of a case being deleted) in the case's entries, so the
    log outlives the data without holding it. Returns how many entries changed."""
    if not secrets:
        return 0
    pattern = re.compile(
        "|".join(rf"\b{re.escape(s)}\b" for s in sorted(secrets, key=len, reverse=True)),
        re.IGNORECASE,
    )
    about = ProcessingLogRow.case_id == case_id
    if round_ids:
        about = or_(about, ProcessingLogRow.round_id.in_(round_ids))
    changed = 0
    for entry in await uow.session.scalars(select(ProcessingLogRow).where(about)):
        purpose = pattern.sub(REDACTED, entry.purpose)
        if purpose != entry.purpose:
            entry.purpose = purpose
            changed += 1
    return changed
