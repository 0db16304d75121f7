"""Commands of the municipal backend from `iaj.commands`: open a round, relabel a case
(op- en afschalen), cancel a round. Idempotent by command id (the inbox).

Every command names the official who asked for it (`requested_by`); one who is not in the
officials file, or a service that has none, carries out nothing. A command that cannot be
carried out is dead-lettered with reason `command_rejected` and a detail saying why, in the
operator's terms (never the requester's name or other content of the command).

Every command record read is answered on `iaj.command-replies` (a `CommandReply`, keyed by
the command id): accepted, duplicate or rejected with the reason. The reply goes through the
outbox in the command's own transaction, so it is published exactly when the command's
effects (or its dead letter) are kept. A record whose command id cannot be read gets none.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import uuid
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Literal, cast

from pydantic import ValidationError
from sqlalchemy import select

from contracts.errors import DecodeFailure, MalformedMessage
from contracts.ids import canonical_uuid
from contracts.messages import (
    CancelRoundCommand,
    CommandOutcome,
    CommandReply,
    OpenRoundCommand,
    RecordPosition,
    RelabelCommand,
    WithdrawalReason,
)
from contracts.policy import Policy
from contracts.topics import COMMAND_REPLIES
from contracts.wire import decode
from handlers.db.pending import PendingRows
from handlers.db.tables import RoundRow
from handlers.db.uow import UnitOfWork
from handlers.dead_letters import Delivery, dead_letter
from handlers.errors import RoundNotOpen, ServiceError, UnknownActor, UnknownRound
from handlers.inbox import claim, claim_all
from handlers.officials import Officials
from handlers.outbox import enqueue
from handlers.reasons import check_reason
from handlers.relabel import REASON_MIN_CHARS, relabel_case
from handlers.rounds import OpeningBatch, OpenRound, open_round
from handlers.states import RoundState
from handlers.withdrawal import cancel_round

__all__ = [
    "COMMAND_REJECTED",
    "Command",
    "CommandReport",
    "handle_command",
    "handle_commands",
    "reply_id",
]

COMMAND_REJECTED = "command_rejected"
Command = OpenRoundCommand | RelabelCommand | CancelRoundCommand
CommandType = Literal["open_round", "relabel_case", "cancel_round"]
_COMMAND_TYPES: frozenset[str] = frozenset({"open_round", "relabel_case", "cancel_round"})


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
    [report] = await handle_commands(
        uow, [(raw, delivery)], policy, officials=officials, deadline=deadline, now=now
    )
    return report


async def handle_commands(
    uow: UnitOfWork,
    messages: Sequence[tuple[bytes, Delivery]],
    policy: Policy,
    *,
    officials: Officials | None,
    deadline: dt.timedelta,
    now: dt.datetime,
    each: Callable[[Delivery], AbstractContextManager[object]] | None = None,
) -> list[CommandReport]:
    """Process a batch of messages from `iaj.commands` in one transaction, and commit: each
    as `handle_command` would, in order (a later command sees what an earlier one did).
    `each`: a context to process each message in (its trace).

    The inbox claims of the batch are one statement. A command that is rejected is undone
    alone and dead-lettered, the others kept: the batch is first carried out as a whole; if
    one is rejected, it is rolled back and carried out again with a savepoint per command."""
    read = [(raw, delivery, _read(raw, officials)) for raw, delivery in messages]
    # The outbox and processing-log rows of the batch are written at its end, one INSERT
    # per table (`handlers.db.pending`).
    with PendingRows(uow.session) as pending:
        batch = _Batch(
            uow,
            pending,
            policy,
            officials=officials,
            deadline=deadline,
            now=now,
            each=each or _no_context,
        )
        if all(not isinstance(command, _Unread) for _, _, command in read):
            # Nothing to dead-letter before anything is done (`publish_first` is not used).
            try:
                reports = await batch.carry_out(read, savepoints=False)
            except (ServiceError, ValidationError):
                await uow.session.rollback()
                pending.rows.clear()
            else:
                await _commit(uow, pending)
                return reports
        reports = await batch.carry_out(read, savepoints=True)
        await _commit(uow, pending)
    return reports


async def _commit(uow: UnitOfWork, pending: PendingRows) -> None:
    await OpeningBatch.flush(pending)
    await uow.commit()


def _no_context(_: Delivery) -> AbstractContextManager[object]:
    return contextlib.nullcontext()


@dataclass(frozen=True)
class _Unread:
    """A record that is dead-lettered before anything is done: why."""

    reason: str
    detail: str


def _read(raw: bytes, officials: Officials | None) -> Command | _Unread:
    try:
        command = decode(raw)
        if not isinstance(command, Command):
            raise MalformedMessage(
                DecodeFailure.UNEXPECTED_TYPE, f"'{command.type}' is not a command"
            )
    except MalformedMessage as exc:
        return _Unread(exc.reason, exc.detail)
    refused = _requester_refused(command.requested_by, officials)
    if refused is not None:
        return _Unread(COMMAND_REJECTED, refused)
    return command


def _command_key(command: Command) -> str:
    return f"command:{command.message_id}"


class _Batch:
    def __init__(
        self,
        uow: UnitOfWork,
        pending: PendingRows,
        policy: Policy,
        *,
        officials: Officials | None,
        deadline: dt.timedelta,
        now: dt.datetime,
        each: Callable[[Delivery], AbstractContextManager[object]],
    ) -> None:
        self.uow = uow
        self.pending = pending
        self.policy = policy
        self.officials = officials
        self.deadline = deadline
        self.now = now
        self.each = each
        # Set while a batch of only open-round commands is carried out without savepoints.
        self.opening: OpeningBatch | None = None

    async def carry_out(
        self, read: Sequence[tuple[bytes, Delivery, Command | _Unread]], *, savepoints: bool
    ) -> list[CommandReport]:
        """Without `savepoints` the commands' ids are claimed with the records, and a
        rejected command's error propagates: the caller rolls the batch back."""
        keys = {delivery.position: delivery.topic for _, delivery, _ in read}
        if not savepoints:
            keys |= {
                _command_key(command): delivery.topic
                for _, delivery, command in read
                if not isinstance(command, _Unread)
            }
        claimed = await claim_all(self.uow, list(keys.items()), self.now)
        self.opening = None
        requests = [_open_request(c) for _, _, c in read if isinstance(c, OpenRoundCommand)]
        if not savepoints and len(requests) == len(read):
            # Only open-round commands: their cases and deciding rounds read once, their
            # rounds and questions written at the end. (A rejected one fails the batch,
            # which is then carried out command by command, with savepoints, as before.)
            self.opening = await OpeningBatch.load(self.uow, self.pending, requests)
        reports = []
        for raw, delivery, command in read:
            with self.each(delivery):
                fresh = delivery.position in claimed
                if isinstance(command, _Unread):
                    report = self._dead(raw, delivery, command.reason, command.detail, fresh)
                elif savepoints:
                    report = await self._carry_in_savepoint(raw, delivery, command, fresh)
                elif _command_key(command) in claimed:
                    claimed.discard(_command_key(command))  # a repeat in the batch: duplicate
                    report = await self._carried_out(command, delivery)
                else:
                    report = await _duplicate(
                        self.uow, command, delivery, self.now, fresh=fresh, opening=self.opening
                    )
            reports.append(report)
        return reports

    async def _carry_in_savepoint(
        self, raw: bytes, delivery: Delivery, command: Command, fresh: bool
    ) -> CommandReport:
        """The command and its id's claim, undone alone if it is rejected. (A rollback clears
        the unit of work's notes: the other commands' are put back. The rows it gathered for
        the end of the batch are dropped.)"""
        uow = self.uow
        notes = list(uow.after_commit)
        gathered = {model: len(rows) for model, rows in self.pending.rows.items()}
        savepoint = await uow.session.begin_nested()
        try:
            if not await claim(uow, _command_key(command), delivery.topic, self.now):
                await savepoint.commit()
                return await _duplicate(uow, command, delivery, self.now, fresh=fresh)
            report = await self._carried_out(command, delivery)
            await savepoint.commit()
        except (ServiceError, ValidationError) as exc:
            # A command that cannot be carried out is kept, with why, for the operator.
            await savepoint.rollback()
            uow.after_commit[:] = notes
            for model, rows in self.pending.rows.items():
                del rows[gathered.get(model, 0) :]
            return self._dead(raw, delivery, COMMAND_REJECTED, _detail(exc), fresh)
        return report

    async def _carried_out(self, command: Command, delivery: Delivery) -> CommandReport:
        report = await _carry_out(
            self.uow,
            command,
            self.policy,
            deadline=self.deadline,
            now=self.now,
            opening=self.opening,
        )
        duplicate = report.outcome == "duplicate"
        _reply(
            self.uow,
            delivery,
            _ReplyTo(command.message_id, command.type, command.correlation_id),
            CommandOutcome.DUPLICATE if duplicate else CommandOutcome.ACCEPTED,
            round_id=report.round_id,
            reason=_DUPLICATE_REASON if duplicate else None,
            now=self.now,
        )
        return report

    def _dead(
        self, raw: bytes, delivery: Delivery, reason: str, detail: str, fresh: bool
    ) -> CommandReport:
        return _dead(self.uow, raw, delivery, reason, detail, self.now, self.officials, fresh=fresh)


_DUPLICATE_REASON = "this command id was carried out before; nothing more was done"
_UNREADABLE = frozenset(
    {
        DecodeFailure.TOO_LARGE,
        DecodeFailure.TOO_DEEP,
        DecodeFailure.NOT_JSON,
        DecodeFailure.NOT_JSON_OBJECT,
    }
)


class _ReplyTo:
    """What a reply repeats of its command: ids and the type, never its values."""

    def __init__(
        self,
        command_id: uuid.UUID,
        command_type: CommandType | None,
        correlation_id: uuid.UUID | None,
    ) -> None:
        self.command_id = command_id
        self.command_type = command_type
        self.correlation_id = correlation_id

    @classmethod
    def read(cls, raw: bytes) -> _ReplyTo | None:
        """The ids of a command that could not be decoded, where they can be read."""
        try:  # within the limits (the caller checked): decode() parsed it already
            obj = json.loads(raw)
        except (ValueError, RecursionError):
            return None
        if not isinstance(obj, dict):
            return None
        command_id = canonical_uuid(obj.get("message_id"))
        if command_id is None:
            return None
        kind = obj.get("type")
        command_type = cast(CommandType, kind) if kind in _COMMAND_TYPES else None
        return cls(command_id, command_type, canonical_uuid(obj.get("correlation_id")))


def reply_id(command_id: uuid.UUID | str, delivery: Delivery) -> uuid.UUID:
    """One reply per command record: derived from the command id and the record's position,
    so a reply written again (after a crash) keeps the id the backend de-duplicates on."""
    return uuid.uuid5(uuid.UUID(str(command_id)), f"command_reply:{delivery.position}")


def _reply(
    uow: UnitOfWork,
    delivery: Delivery,
    to: _ReplyTo,
    outcome: CommandOutcome,
    *,
    round_id: str | None,
    reason: str | None,
    now: dt.datetime,
) -> None:
    reply = CommandReply(
        message_id=reply_id(to.command_id, delivery),
        created_at=now,
        in_reply_to=to.command_id,
        command_type=to.command_type,
        correlation_id=to.correlation_id,
        outcome=outcome,
        round_id=uuid.UUID(round_id) if round_id else None,
        reason=None if reason is None else reason[:500],
        source=RecordPosition(
            topic=delivery.topic, partition=delivery.partition, offset=delivery.offset
        ),
    )
    headers = {} if to.correlation_id is None else {"correlation_id": str(to.correlation_id)}
    enqueue(
        uow.session,
        COMMAND_REPLIES,
        reply,
        message_id=str(reply.message_id),
        key=str(to.command_id).encode(),
        headers=headers,
    )


async def _duplicate(
    uow: UnitOfWork,
    command: Command,
    delivery: Delivery,
    now: dt.datetime,
    *,
    fresh: bool,
    opening: OpeningBatch | None = None,
) -> CommandReport:
    """A command id carried out before, in a new record (the backend sent it again): answered
    as a duplicate. The same record delivered again was answered already: nothing."""
    if not fresh:
        return CommandReport("duplicate")
    round_id: str | None = None
    if isinstance(command, OpenRoundCommand):
        # Opened earlier in this batch: known to the batch, not written yet.
        round_id = opening.by_command(str(command.message_id)) if opening else None
        round_id = round_id or await uow.session.scalar(
            select(RoundRow.id).where(RoundRow.command_id == str(command.message_id))
        )
    elif isinstance(command, CancelRoundCommand):
        round_id = str(command.round_id)
    _reply(
        uow,
        delivery,
        _ReplyTo(command.message_id, command.type, command.correlation_id),
        CommandOutcome.DUPLICATE,
        round_id=round_id,
        reason=_DUPLICATE_REASON,
        now=now,
    )
    return CommandReport("duplicate", round_id)


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
    opening: OpeningBatch | None = None,
) -> CommandReport:
    actor = command.requested_by.strip()
    if isinstance(command, OpenRoundCommand):
        round_id, created = await open_round(
            uow, policy, _open_request(command), now=now, deadline=deadline, batch=opening
        )
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


def _open_request(command: OpenRoundCommand) -> OpenRound:
    return OpenRound(
        case_id=str(command.case_id),
        colour=command.colour,
        actor=command.requested_by.strip(),
        round_id=command.round_id,
        correlation_id=command.correlation_id,
        command_id=str(command.message_id),
    )


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


def _dead(
    uow: UnitOfWork,
    raw: bytes,
    delivery: Delivery,
    reason: str,
    detail: str,
    now: dt.datetime,
    officials: Officials | None,
    *,
    fresh: bool,
) -> CommandReport:
    if not fresh:
        return CommandReport("duplicate")
    dead_letter(uow, delivery, raw, reason=reason, detail=detail, partner=None, now=now)
    # Bytes over a limit or not a JSON object are not looked into again for an id.
    to = None if reason in _UNREADABLE else _ReplyTo.read(raw)
    if to is not None:
        why = detail if reason == COMMAND_REJECTED else f"{reason}: {detail}"
        _reply(
            uow,
            delivery,
            to,
            CommandOutcome.REJECTED,
            round_id=None,
            reason=_without_names(why, officials),
            now=now,
        )
    return CommandReport("dead_lettered", detail=detail)


def _without_names(text: str, officials: Officials | None) -> str:
    """The reply goes to another system: no official is named in it (the dead letter's
    detail, for the municipality's operators, may say whom to ask)."""
    if officials is None:
        return text
    for official in officials.official:
        # How our messages name one ("ask the responsible official (name)"); a bare
        # replace would also hit names that are ordinary words inside other words.
        text = text.replace(f" ({official.name})", "")
    return text
