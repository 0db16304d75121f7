"""Open-round commands from `iaj.commands`: idempotent by command id."""

from __future__ import annotations

import datetime as dt

from pydantic import ValidationError

from contracts.errors import DecodeFailure, MalformedMessage
from contracts.messages import OpenRoundCommand
from contracts.policy import Policy
from contracts.wire import decode
from handlers.db.uow import UnitOfWork
from handlers.dead_letters import Delivery, dead_letter
from handlers.errors import ServiceError
from handlers.inbox import claim
from handlers.rounds import OpenRound, open_round

__all__ = ["CommandReport", "handle_command"]


class CommandReport:
    def __init__(self, outcome: str, round_id: str | None = None, detail: str = "") -> None:
        self.outcome = outcome  # opened | duplicate | rejected | dead_lettered
        self.round_id = round_id
        self.detail = detail


async def handle_command(
    uow: UnitOfWork,
    raw: bytes,
    delivery: Delivery,
    policy: Policy,
    *,
    deadline: dt.timedelta,
    now: dt.datetime,
) -> CommandReport:
    """Process one message from `iaj.commands`, and commit."""
    try:
        command = decode(raw)
        if not isinstance(command, OpenRoundCommand):
            raise MalformedMessage(
                DecodeFailure.UNEXPECTED_TYPE, f"'{command.type}' is not a command"
            )
    except MalformedMessage as exc:
        return await _dead(uow, raw, delivery, exc.reason, exc.detail, now)
    if not await claim(uow, f"command:{command.message_id}", delivery.topic, now):
        return CommandReport("duplicate")
    request = OpenRound(
        case_id=str(command.case_id),
        colour=command.colour,
        actor=command.requested_by,
        round_id=command.round_id,
        correlation_id=command.correlation_id,
        command_id=str(command.message_id),
    )
    try:
        round_id, created = await open_round(uow, policy, request, now=now, deadline=deadline)
    except (ServiceError, ValidationError) as exc:
        # A command that cannot be carried out is kept, with why, for the operator.
        await uow.session.rollback()
        return await _dead(uow, raw, delivery, "command_rejected", str(exc), now)
    await uow.commit()
    return CommandReport("opened" if created else "duplicate", round_id)


async def _dead(
    uow: UnitOfWork, raw: bytes, delivery: Delivery, reason: str, detail: str, now: dt.datetime
) -> CommandReport:
    if not await claim(uow, delivery.position, delivery.topic, now):
        return CommandReport("duplicate")
    dead_letter(uow, delivery, raw, reason=reason, detail=detail, partner=None, now=now)
    await uow.commit()
    return CommandReport("dead_lettered", detail=detail)
