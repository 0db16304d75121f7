"""Reading `iaj.refusals.<partner>`: the municipality says which answer it did not accept, why.

The adapter checks every answer before it leaves, so a notice means the two sides disagree
(an older local policy, an answer sent by hand past the adapter, a question already closed).
It is kept for `iaj-adapter status`, with the reason and field only, like every refusal.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from contracts import MalformedMessage, Partner, RefusalNotice, decode
from contracts.messages import utc_now
from partner_adapters.answering import RejectionReason
from partner_adapters.state import AdapterStore, KafkaPosition, Rejection

__all__ = ["NoticeOutcome", "receive_refusal_notice"]

_log = logging.getLogger("partner_adapters")


@dataclass(frozen=True, slots=True)
class NoticeOutcome:
    notice: RefusalNotice | None  # None: the message was rejected (see `rejection`)
    new: bool = False  # False for a notice read before
    rejection: Rejection | None = None


async def receive_refusal_notice(
    raw: bytes,
    store: AdapterStore,
    partner: Partner,
    *,
    position: KafkaPosition | None = None,
    now: dt.datetime | None = None,
) -> NoticeOutcome:
    """Record one record of the refusal topic. Never raises for bad input: an unreadable or
    misplaced message is recorded as rejected, so it cannot stall the adapter."""
    at = now or utc_now()
    try:
        message = decode(raw)
    except MalformedMessage as exc:
        return await _reject(store, Rejection(exc.reason, exc.detail, None, position), at)
    if not isinstance(message, RefusalNotice):
        detail = f"a {message.type!r} message on the refusal topic"
        reason = RejectionReason.UNEXPECTED_TYPE.value
        return await _reject(store, Rejection(reason, detail, message.message_id, position), at)
    if message.partner is not partner:
        detail = f"a refusal notice for {message.partner.value}, not for {partner.value}"
        reason = RejectionReason.WRONG_PARTNER.value
        return await _reject(store, Rejection(reason, detail, message.message_id, position), at)
    new = await store.record_municipal_refusal(message, at)
    if new:
        _log.warning(
            "the municipality refused answer %s (%s): %s",
            message.in_reply_to or f"at {message.source.topic}:{message.source.offset}",
            f"{len(message.items)} item(s)" if message.items else "the whole message",
            ", ".join(sorted({i.reason.value for i in message.items} or {message.reason.value})),
        )
    return NoticeOutcome(message, new=new)


async def _reject(store: AdapterStore, rejection: Rejection, at: dt.datetime) -> NoticeOutcome:
    await store.record_rejection(rejection, at)
    return NoticeOutcome(None, rejection=rejection)
