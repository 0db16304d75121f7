"""How the benchmark opens rounds: never more than the window in flight, and what the window
lets through together opened in one transaction, as the service does a fetched batch of
open-round commands."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from devtools.bench.pipeline import _open_all
from devtools.synthetic_youths import focus_list
from handlers.rounds import OpenRound
from tests.support.clock import today


class _Service:
    """Opens rounds at once and remembers each call's batch."""

    def __init__(self) -> None:
        self.batches: list[int] = []

    async def open_rounds(self, requests: Sequence[OpenRound]) -> list[str]:
        self.batches.append(len(requests))
        await asyncio.sleep(0)  # a transaction: other tasks run meanwhile
        return [f"round-{r.case_id}" for r in requests]


async def _run(count: int, in_flight: int, batch: int, complete_together: int) -> _Service:
    """Open `count` rounds; a result watch completes them `complete_together` at a time."""
    colours = [youth.colour for youth in focus_list(count, today=today())]
    case_ids = [f"case-{i}" for i in range(count)]
    window = asyncio.Semaphore(in_flight)
    opened: list[str] = []
    service = _Service()
    opener = asyncio.create_task(
        _open_all(service, colours, case_ids, window, opened.append, batch=batch)
    )
    done = 0
    async with asyncio.timeout(10):
        while done < count:
            await asyncio.sleep(0)
            assert len(opened) - done <= in_flight, "more rounds open than the window allows"
            ready = min(complete_together, len(opened) - done)
            for _ in range(ready):
                window.release()
            done += ready
        await opener
    assert opened == [f"round-case-{i}" for i in range(count)]  # each once, in order
    return service


async def test_in_flight_the_window_is_never_exceeded_and_freed_rounds_open_together() -> None:
    service = await _run(count=60, in_flight=25, batch=25, complete_together=4)
    assert sum(service.batches) == 60
    assert service.batches[0] == 25  # the window was empty: all of it in one transaction
    assert max(service.batches) <= 25
    # Rounds completed together are opened together, not one transaction each.
    assert any(size > 1 for size in service.batches[1:])


async def test_one_round_completed_at_a_time_opens_one_at_a_time() -> None:
    service = await _run(count=10, in_flight=3, batch=3, complete_together=1)
    assert service.batches == [3, *([1] * 7)]


async def test_at_capacity_batches_are_bounded() -> None:
    service = await _run(count=250, in_flight=250, batch=100, complete_together=250)
    assert service.batches == [100, 100, 50]
