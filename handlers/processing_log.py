"""The processing log (in the spirit of Logboek Dataverwerkingen): who, what, which person, why."""

from __future__ import annotations

from contracts.messages import utc_now
from handlers.db.tables import ProcessingLogRow
from handlers.db.uow import UnitOfWork

__all__ = ["VIEW_ACTIONS", "log_processing", "log_view"]

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
    uow.session.add(
        ProcessingLogRow(
            at=utc_now(),
            actor=actor,
            action=action,
            case_id=case_id,
            round_id=round_id,
            partner=partner,
            purpose=purpose,
        )
    )


def log_view(
    uow: UnitOfWork, actor: str, purpose: str, *, case_id: str, round_id: str | None = None
) -> None:
    """An official was shown a case (or one round of it). Caller commits."""
    action = CASE_VIEWED if round_id is None else ROUND_VIEWED
    log_processing(uow, actor, action, purpose, case_id=case_id, round_id=round_id)
