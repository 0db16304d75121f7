"""Send recorded answers: publish the outbox entries, await the broker's acks, mark them sent.

Every entry is handed to the producer first, in the order recorded, and the acks are awaited
together (one round-trip to the broker for the lot, not one per answer); then the confirmed
entries are marked sent in one statement. An entry is marked sent only after the broker
confirmed it, so a crash in between sends it again, under the same message id and with the
same bytes (the municipality keeps one). Handing over stops at the first failure.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable

from contracts.messages import utc_now
from partner_adapters.state import AdapterStore, OutboxEntry

__all__ = ["Send", "deliver_outbox"]

Send = Callable[[OutboxEntry], Awaitable[Awaitable[object] | None]]
"""Publish one entry to this partner's answer topic. Returns None once the broker confirmed
it, or an awaitable that completes when it did (so several can be in flight at once)."""


async def deliver_outbox(
    store: AdapterStore,
    send: Send,
    *,
    now: Callable[[], dt.datetime] = utc_now,
    fold: bool = False,
) -> int:
    """Send every unsent answer; return how many were sent. Errors from `send` propagate,
    after the entries the broker did confirm were marked sent. `fold`: marked sent by the
    store's next transaction (the running adapter's next batch), not one of their own."""
    entries = await store.unsent()
    confirmed: list[OutboxEntry] = []
    in_flight: list[tuple[OutboxEntry, Awaitable[object]]] = []
    error: BaseException | None = None
    try:
        for entry in entries:
            ack = await send(entry)
            if ack is None:
                confirmed.append(entry)
            else:
                in_flight.append((entry, ack))
    except Exception as exc:
        error = exc
    if in_flight:
        results = await asyncio.gather(*(ack for _, ack in in_flight), return_exceptions=True)
        for (entry, _), result in zip(in_flight, results, strict=True):
            if isinstance(result, BaseException):
                error = error or result
            else:
                confirmed.append(entry)
    await store.mark_sent([e.message_id for e in confirmed], now(), fold=fold)
    if error is not None:
        raise error
    return len(confirmed)
