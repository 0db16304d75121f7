"""Read the round results: `python -m examples.backend.results` (Ctrl-C stops it).

Prints one line per result taken (new, replaced by a higher revision, duplicate, outdated)
and, per partner, how many questions were answered. Connection: `BACKEND_*` (README.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal

from contracts.messages import Completion, OutcomeStatus, RoundResult
from examples.backend.kit import Connection, ResultBook, Taken, consume_results


def describe(result: RoundResult, taken: Taken) -> str:
    answered = sum(
        1 for p in result.partners for q in p.questions if q.status is OutcomeStatus.ANSWERED
    )
    asked = sum(len(p.questions) for p in result.partners)
    line = (
        f"{taken.value:9} round {result.round_id} case {result.case_id} "
        f"revision {result.revision} {result.colour.value} {result.completion.value}: "
        f"{answered} of {asked} question(s) answered"
    )
    if result.completion is Completion.CANCELLED and taken in (Taken.NEW, Taken.REPLACED):
        line += " (cancelled: what was answered before it stopped)"
    return line


async def main() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    book = ResultBook()
    await consume_results(
        Connection.from_env(), book, stop, lambda r, t: print(describe(r, t), flush=True)
    )
    print(f"{len(book.rounds)} round(s) kept, {len(book.cancelled())} of them cancelled")


if __name__ == "__main__":
    asyncio.run(main())
