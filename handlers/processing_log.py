"""The processing log (in the spirit of Logboek Dataverwerkingen): who, what, which person, why."""

from __future__ import annotations

from broker.db.tables import ProcessingLogRow
from broker.db.uow import UnitOfWork
from contracts.messages import utc_now

__all__ = ["log_processing"]


def log_processing(
    uow: UnitOfWork,
    actor: str,
    action: str,
    purpose: str,
    *,
    case_id: str | None = None,
    round_id: str | None = None,
) -> None:
    uow.session.add(
        ProcessingLogRow(
            at=utc_now(),
            actor=actor,
            action=action,
            case_id=case_id,
            round_id=round_id,
            purpose=purpose,
        )
    )
