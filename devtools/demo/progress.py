"""What the live view shows, polled from the municipal database and the adapters' own stores.

Counts only, like `iaj status` and `iaj-adapter status`: no names, no answer content.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import func, select

from contracts.enums import Partner
from contracts.topics import question_topic
from devtools.embedded_stack import EmbeddedStack
from handlers.db.tables import OutboxRow
from handlers.db.uow import UnitOfWork
from handlers.states import RoundState
from handlers.status import service_status

__all__ = ["PartnerProgress", "Progress", "RefusalGroup", "poll", "refusals_at_source"]


@dataclass(frozen=True)
class PartnerProgress:
    partner: Partner
    oversharing: bool
    sets_sent: int  # question sets the municipality published to this partner
    answered: int  # sets the adapter answered completely
    open: int  # sets with a question still open, deadline not passed
    expired: int  # sets whose deadline passed with a question still open
    refused_at_source: int  # answers the adapter stopped before they could leave
    accepted: int  # answers the municipality accepted from this partner
    refused_by_municipality: int  # answers that arrived and were refused there


@dataclass(frozen=True)
class RefusalGroup:
    """Refusals at source with the same question, rule and field: what the adapter kept."""

    partner: Partner
    question_key: str | None
    reason: str
    field: str | None
    source: str
    count: int


@dataclass(frozen=True)
class Progress:
    at: dt.datetime
    partners: tuple[PartnerProgress, ...]
    rounds: Mapping[RoundState, int]
    opened: int  # rounds the demo opened so far
    to_open: int  # rounds it will open in all
    last_deadline: dt.datetime | None  # known once every round is open
    results: int  # round results read back from iaj.results
    dead_letters: int
    late_answers: int
    outbox_unsent: int

    @property
    def rounds_open(self) -> int:
        return self.rounds.get(RoundState.OPEN, 0)

    @property
    def refused_at_source(self) -> int:
        return sum(p.refused_at_source for p in self.partners)


async def poll(
    stack: EmbeddedStack,
    now: dt.datetime,
    *,
    results: int,
    opened: int,
    to_open: int,
    last_deadline: dt.datetime | None,
) -> Progress:
    service = stack.service
    if service is None:
        raise RuntimeError("the stack is not running")
    async with UnitOfWork(service.sessions) as uow:
        status = await service_status(uow, now)
        sent = await _sets_sent(uow)
    partners = []
    for municipal in status.partners:
        partner = municipal.partner
        runtime = stack.adapters.get(partner)
        store = None if runtime is None else runtime.store
        local = None if store is None else await store.status(now, recent=0)
        partners.append(
            PartnerProgress(
                partner=partner,
                oversharing=partner in stack.options.oversharing,
                sets_sent=sent.get(question_topic(partner), 0),
                answered=0 if local is None else local.question_sets_answered,
                open=0 if local is None else local.question_sets_pending,
                expired=0 if local is None else local.question_sets_expired,
                refused_at_source=0 if local is None else local.refused_at_source,
                accepted=municipal.answered,
                refused_by_municipality=municipal.refused,
            )
        )
    return Progress(
        at=now,
        partners=tuple(partners),
        rounds=status.rounds,
        opened=opened,
        to_open=to_open,
        last_deadline=last_deadline,
        results=results,
        dead_letters=status.dead_letters_total,
        late_answers=sum(p.late for p in status.partners),
        outbox_unsent=status.outbox.unsent,
    )


async def _sets_sent(uow: UnitOfWork) -> dict[str, int]:
    rows = await uow.session.execute(
        select(OutboxRow.topic, func.count())
        .where(OutboxRow.sent_at.is_not(None))
        .group_by(OutboxRow.topic)
    )
    return {str(topic): int(n) for topic, n in rows}


async def refusals_at_source(stack: EmbeddedStack, now: dt.datetime) -> tuple[RefusalGroup, ...]:
    """Every adapter's refusals at source, grouped by question, rule and field."""
    groups: list[RefusalGroup] = []
    for partner in Partner:
        runtime = stack.adapters.get(partner)
        store = None if runtime is None else runtime.store
        if store is None:
            continue
        total = (await store.status(now, recent=0)).refused_at_source
        if not total:
            continue
        records = (await store.status(now, recent=total)).recent_refusals
        counts = Counter(
            (r.refusal.question_key, r.refusal.reason, r.refusal.field, r.refusal.source.value)
            for r in records
        )
        groups.extend(
            RefusalGroup(partner, key, reason, field, source, n)
            for (key, reason, field, source), n in sorted(
                counts.items(), key=lambda kv: (-kv[1], str(kv[0]))
            )
        )
    return tuple(groups)
