"""Send recorded answers: publish each outbox entry, then mark it sent.

An entry is marked sent only after the broker confirmed it, so a crash in between sends it
again, under the same message id (the municipality keeps one). Entries go out in the order they
were recorded, and delivery stops at the first failure so none overtakes another.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable

from contracts.messages import utc_now
from partner_adapters.state import AdapterStore, OutboxEntry

__all__ = ["Send", "deliver_outbox"]

Send = Callable[[OutboxEntry], Awaitable[None]]
"""Publish one entry to this partner's answer topic; return once the broker confirmed it."""


async def deliver_outbox(
    store: AdapterStore, send: Send, *, now: Callable[[], dt.datetime] = utc_now
) -> int:
    """Send every unsent answer; return how many were sent. Errors from `send` propagate."""
    sent = 0
    for entry in await store.unsent():
        await send(entry)
        await store.mark_sent(entry.message_id, now())
        sent += 1
    return sent
