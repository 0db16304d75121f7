"""Send a command and print its reply:

    python -m examples.backend.commands open-round CASE_ID oranje --requested-by NAME
    python -m examples.backend.commands relabel CASE_ID rood --reason "..." --requested-by NAME
    python -m examples.backend.commands cancel ROUND_ID --reason "..." --requested-by NAME

`--requested-by` must be an official of the service's officials file (IAJ_OFFICIALS_FILE);
the reply never names them. Exit 0 when accepted (or a duplicate of an accepted command), 2
when rejected, 1 when no reply came in time. Connection: `BACKEND_*` (README.md).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import uuid

from contracts.enums import Colour
from contracts.messages import (
    CancelRoundCommand,
    CommandOutcome,
    OpenRoundCommand,
    RelabelCommand,
)
from contracts.policy import haarlem_policy
from examples.backend.kit import Command, Connection, send_command, wait_for_reply


def build(args: argparse.Namespace) -> Command:
    correlation_id = uuid.uuid4()  # follows the round through every system and log
    if args.kind == "open-round":
        return OpenRoundCommand(
            round_id=uuid.uuid4(),  # the round's id, chosen by the backend
            correlation_id=correlation_id,
            policy=haarlem_policy().ref,
            case_id=uuid.UUID(args.case_id),
            colour=Colour(args.colour),
            requested_by=args.requested_by,
        )
    if args.kind == "relabel":
        return RelabelCommand(
            correlation_id=correlation_id,
            case_id=uuid.UUID(args.case_id),
            colour=Colour(args.colour),
            requested_by=args.requested_by,
            reason=args.reason,
        )
    return CancelRoundCommand(
        correlation_id=correlation_id,
        round_id=uuid.UUID(args.round_id),
        requested_by=args.requested_by,
        reason=args.reason,
    )


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m examples.backend.commands")
    top.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for the reply")
    kinds = top.add_subparsers(dest="kind", required=True)
    opened = kinds.add_parser("open-round", help="open a round at the case's label")
    opened.add_argument("case_id")
    opened.add_argument("colour", choices=[c.value for c in Colour])
    relabel = kinds.add_parser("relabel", help="op- of afschalen")
    relabel.add_argument("case_id")
    relabel.add_argument("colour", choices=[c.value for c in Colour])
    relabel.add_argument("--reason", required=True)
    cancel = kinds.add_parser("cancel", help="stop an open round")
    cancel.add_argument("round_id")
    cancel.add_argument("--reason", required=True)
    for sub in (opened, relabel, cancel):
        sub.add_argument("--requested-by", required=True, help="an official of the list")
    return top


async def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    connection = Connection.from_env()
    command = build(args)
    await send_command(connection, command)
    print(f"sent {command.type} {command.message_id}", flush=True)
    try:
        reply = await wait_for_reply(connection, command.message_id, within=args.timeout)
    except TimeoutError:
        print(f"no reply within {args.timeout:g} s: is `iaj serve` running?", file=sys.stderr)
        return 1
    print(f"{reply.outcome.value}: round {reply.round_id or '-'} {reply.reason or ''}".rstrip())
    return 2 if reply.outcome is CommandOutcome.REJECTED else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
