"""Commands of the municipal backend from `iaj.commands`: open a round, relabel a case
(op- en afschalen), cancel a round. Idempotent by command id (the inbox).

Every command names the official who asked for it (`requested_by`); one who is not in the
officials file, or a service that has none, carries out nothing. A command that cannot be
carried out is dead-lettered with reason `command_rejected` and a detail saying why, in the
operator's terms (never the requester's name or other content of the command).
"""

from __future__ import annotations

import datetime as dt

from pydantic import ValidationError

from contracts.errors import DecodeFailure, MalformedMessage
from contracts.messages import (
    CancelRoundCommand,
    OpenRoundCommand,
    RelabelCommand,
    WithdrawalReason,
)
from contracts.policy import Policy
from contracts.wire import decode
from handlers.db.tables import RoundRow
from handlers.db.uow import UnitOfWork
from handlers.dead_letters import Delivery, dead_letter
from handlers.errors import RoundNotOpen, ServiceError, UnknownActor, UnknownRound
from handlers.inbox import claim
from handlers.officials import Officials
from handlers.reasons import check_reason
from handlers.relabel import REASON_MIN_CHARS, relabel_case
from handlers.rounds import OpenRound, open_round
from handlers.states import RoundState
from handlers.withdrawal import cancel_round

__all__ = ["COMMAND_REJECTED", "Command", "CommandReport", "handle_command"]

COMMAND_REJECTED = "command_rejected"
Command = OpenRoundCommand | RelabelCommand | CancelRoundCommand


class CommandReport:
    def __init__(self, outcome: str, round_id: str | None = None, detail: str = "") -> None:
        # opened | relabelled | cancelled | duplicate | dead_lettered
        self.outcome = outcome
        self.round_id = round_id
        self.detail = detail


async def handle_command(
    uow: UnitOfWork,
    raw: bytes,
    delivery: Delivery,
    policy: Policy,
    *,
    officials: Officials | None,
    deadline: dt.timedelta,
    now: dt.datetime,
) -> CommandReport:
    """Process one message from `iaj.commands`, and commit. `officials`: who may request
    commands; None (no officials file configured) rejects every command."""
    try:
        command = decode(raw)
        if not isinstance(command, Command):
            raise MalformedMessage(
                DecodeFailure.UNEXPECTED_TYPE, f"'{command.type}' is not a command"
            )
    except MalformedMessage as exc:
        return await _dead(uow, raw, delivery, exc.reason, exc.detail, now)
    refused = _requester_refused(command.requested_by, officials)
    if refused is not None:
        return await _dead(uow, raw, delivery, COMMAND_REJECTED, refused, now)
    if not await claim(uow, f"command:{command.message_id}", delivery.topic, now):
        return CommandReport("duplicate")
    try:
        report = await _carry_out(uow, command, policy, deadline=deadline, now=now)
    except (ServiceError, ValidationError) as exc:
        # A command that cannot be carried out is kept, with why, for the operator.
        await uow.session.rollback()
        return await _dead(uow, raw, delivery, COMMAND_REJECTED, _detail(exc), now)
    await uow.commit()
    return report


def _requester_refused(requested_by: str, officials: Officials | None) -> str | None:
    """Why `requested_by` may not request commands, or None. Never names the requester."""
    if officials is None:
        return (
            "the municipal service has no officials file (IAJ_OFFICIALS_FILE): it carries out "
            "no command until one is configured; send the command again after that"
        )
    if not requested_by.strip():
        return "requested_by names no one: say which official asks for this command"
    try:
        officials.require(requested_by)
    except UnknownActor:
        return (
            "requested_by is not an official of the municipality's officials file: only a "
            f"listed official may request commands; ask the responsible official "
            f"({officials.responsible.name}) to add the requester, then send it again"
        )
    return None


async def _carry_out(
    uow: UnitOfWork,
    command: Command,
    policy: Policy,
    *,
    deadline: dt.timedelta,
    now: dt.datetime,
) -> CommandReport:
    actor = command.requested_by.strip()
    if isinstance(command, OpenRoundCommand):
        request = OpenRound(
            case_id=str(command.case_id),
            colour=command.colour,
            actor=actor,
            round_id=command.round_id,
            correlation_id=command.correlation_id,
            command_id=str(command.message_id),
        )
        round_id, created = await open_round(uow, policy, request, now=now, deadline=deadline)
        return CommandReport("opened" if created else "duplicate", round_id)
    if isinstance(command, RelabelCommand):
        report = await relabel_case(
            uow,
            policy,
            str(command.case_id),
            command.colour,
            reason=command.reason,
            actor=actor,
            now=now,
        )
        return CommandReport("relabelled", report.round_id)
    return await _cancel(uow, command, actor=actor, now=now)


async def _cancel(
    uow: UnitOfWork, command: CancelRoundCommand, *, actor: str, now: dt.datetime
) -> CommandReport:
    why = check_reason(command.reason, "reason", REASON_MIN_CHARS)
    round_row = await uow.session.get(RoundRow, str(command.round_id), with_for_update=True)
    if round_row is None:
        raise UnknownRound(f"no round {command.round_id}: check the round id")
    if not await cancel_round(
        uow, round_row, reason=WithdrawalReason.ROUND_CANCELLED, why=why, actor=actor, now=now
    ):
        raise RoundNotOpen(
            f"round {round_row.id} is {RoundState(round_row.state).value}, not open: there is "
            "nothing left to cancel"
        )
    return CommandReport("cancelled", round_row.id)


def _detail(exc: ServiceError | ValidationError) -> str:
    if isinstance(exc, ValidationError):
        # Not str(exc): a command's values may hold personal data.
        return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())[:500]
    return str(exc)[:500]


async def _dead(
    uow: UnitOfWork, raw: bytes, delivery: Delivery, reason: str, detail: str, now: dt.datetime
) -> CommandReport:
    if not await claim(uow, delivery.position, delivery.topic, now):
        return CommandReport("duplicate")
    dead_letter(uow, delivery, raw, reason=reason, detail=detail, partner=None, now=now)
    await uow.commit()
    return CommandReport("dead_lettered", detail=detail)
