"""Consumer lag, read from Kafka with describe rights only (the `iaj-monitor` user suffices).

Per partner, two numbers an operator needs: how far the municipal service is behind on the
partner's answer topic (group `iaj-municipal`), and how far the partner's adapter is behind
on its question topic (group `iaj-adapter-<code>`). Lag is the end offset minus the group's
committed offset, summed over the partitions (a partition the group never committed counts
from its first offset).

An adapter is *silent* when a question waits unconsumed for longer than `silent_after`:
some partition holds a record older than that beyond the group's committed offset. That is
measured without reading a record: `offsets_for_times(now - silent_after)` gives the first
offset at or after that moment, and a committed offset below it means an older record is
still unconsumed. A partner whose adapter is merely slow, or that has nothing to answer, is
not silent; one whose adapter has been down for longer than the threshold while questions
came in is. The group's live members (describe group) are shown beside it.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from contracts.enums import Partner
from contracts.topics import answer_topic, question_topic
from kafka_access.principals import MUNICIPAL_GROUP, STATUS_CLIENT, partner_group

__all__ = ["GroupLag", "KafkaLag", "KafkaUnreachable", "read_lag"]


class KafkaUnreachable(RuntimeError):
    """Kafka could not be asked (not reachable, refused the login, or too slow)."""


@dataclass(frozen=True)
class GroupLag:
    """One consumer group on one topic."""

    group: str
    topic: str
    partner: Partner
    end_offset: int  # summed over the partitions: records ever written (the next offset)
    committed: int | None  # summed; None: the group has committed nothing on this topic
    lag: int  # records written and not (yet) consumed by the group
    members: int | None  # consumers in the group now; None: not described
    # An unconsumed record older than the threshold exists (see the module docstring).
    stale: bool


@dataclass(frozen=True)
class KafkaLag:
    at: dt.datetime
    silent_after: dt.timedelta
    answers: tuple[GroupLag, ...]  # the municipal service on each answer topic
    adapters: tuple[GroupLag, ...]  # each partner's adapter on its question topic

    def silent(self) -> list[GroupLag]:
        """The adapters that have left a question unconsumed for longer than the threshold."""
        return [a for a in self.adapters if a.stale]


async def read_lag(
    bootstrap: str,
    *,
    silent_after: dt.timedelta,
    now: dt.datetime,
    municipal_group: str = MUNICIPAL_GROUP,
    timeout_seconds: float = 10.0,
    **client_options: Any,
) -> KafkaLag:
    """Lag of the municipal group per answer topic and of each adapter's group on its
    question topic. `client_options`: security settings (`KafkaSecurity.client_kwargs`).
    Raises KafkaUnreachable when Kafka does not answer within `timeout_seconds`."""
    request_ms = max(1000, int(timeout_seconds * 1000))
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap,
        client_id=STATUS_CLIENT,
        request_timeout_ms=request_ms,
        **client_options,
    )
    # No group, never assigned: it only asks for offsets (ListOffsets, Describe on the
    # topic) and reads no record.
    offsets = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        client_id=STATUS_CLIENT,
        group_id=None,
        enable_auto_commit=False,
        request_timeout_ms=request_ms,
        **client_options,
    )
    try:
        async with asyncio.timeout(timeout_seconds):
            for client in (admin, offsets):
                await client.start()
            return await _read(admin, offsets, municipal_group, silent_after=silent_after, now=now)
    except TimeoutError:
        raise KafkaUnreachable(f"no answer from {bootstrap} within {timeout_seconds:g} s") from None
    except KafkaUnreachable:
        raise
    except Exception as exc:
        raise KafkaUnreachable(f"{bootstrap}: {type(exc).__name__}") from exc
    finally:
        # Every client made, started or not: one whose start failed still holds a connection
        # attempt (and warns "Unclosed" when collected).
        for client in (admin, offsets):
            with contextlib.suppress(Exception):
                await (client.close() if client is admin else client.stop())


async def _read(
    admin: AIOKafkaAdminClient,
    offsets: AIOKafkaConsumer,
    municipal_group: str,
    *,
    silent_after: dt.timedelta,
    now: dt.datetime,
) -> KafkaLag:
    wanted = [(municipal_group, answer_topic(p), p) for p in Partner] + [
        (partner_group(p), question_topic(p), p) for p in Partner
    ]
    partitions = await _partitions(admin, [topic for _, topic, _ in wanted])
    every = [tp for tps in partitions.values() for tp in tps]
    end = await offsets.end_offsets(every)
    start = await offsets.beginning_offsets(every)
    threshold_ms = int((now - silent_after).timestamp() * 1000)
    since = await offsets.offsets_for_times(dict.fromkeys(every, threshold_ms))
    groups = sorted({group for group, _, _ in wanted})
    members = await _members(admin, groups)
    committed: dict[str, Mapping[TopicPartition, Any]] = {}
    for group in groups:
        committed[group] = await admin.list_consumer_group_offsets(
            group, partitions=[tp for g, t, _ in wanted if g == group for tp in partitions[t]]
        )
    found = []
    for group, topic, partner in wanted:
        lag = 0
        total_committed: int | None = None
        stale = False
        total_end = 0
        for tp in partitions[topic]:
            entry = committed[group].get(tp)
            position = entry.offset if entry is not None and entry.offset >= 0 else None
            if position is not None:
                total_committed = (total_committed or 0) + position
            consumed_to = start[tp] if position is None else max(position, start[tp])
            total_end += end[tp]
            lag += max(0, end[tp] - consumed_to)
            # The first record at or after the threshold; none: every record is older. (Some
            # Kafka-compatible brokers answer "none" as a timestamp of -1, not an offset.)
            first_recent = since.get(tp)
            none_recent = first_recent is None or first_recent.timestamp < threshold_ms
            recent_from = end[tp] if none_recent else first_recent.offset
            stale = stale or consumed_to < recent_from
        found.append(
            GroupLag(
                group=group,
                topic=topic,
                partner=partner,
                end_offset=total_end,
                committed=total_committed,
                lag=lag,
                members=members.get(group),
                stale=stale,
            )
        )
    half = len(Partner)
    return KafkaLag(
        at=now,
        silent_after=silent_after,
        answers=tuple(found[:half]),
        adapters=tuple(found[half:]),
    )


async def _partitions(
    admin: AIOKafkaAdminClient, topics: Iterable[str]
) -> dict[str, list[TopicPartition]]:
    wanted = list(dict.fromkeys(topics))
    described = await admin.describe_topics(wanted)
    found: dict[str, list[TopicPartition]] = {topic: [] for topic in wanted}
    for entry in described:
        name = entry.get("topic", entry.get("name"))
        if name in found and not entry.get("error_code"):
            found[name] = sorted(
                TopicPartition(name, p.get("partition", p.get("partition_index")))
                for p in entry.get("partitions", ())
            )
    missing = [topic for topic, tps in found.items() if not tps]
    if missing:
        raise KafkaUnreachable(
            f"topic(s) not found or not described: {', '.join(missing)} (has `iaj serve` "
            "created the topics, and may this user describe them?)"
        )
    return found


async def _members(admin: AIOKafkaAdminClient, groups: list[str]) -> dict[str, int | None]:
    """group -> how many consumers it has now; 0 for a group the cluster does not know (it
    never had a member, or they all left long ago), None when it could not be described."""
    known = {entry[0] for entry in await admin.list_consumer_groups()}
    counts: dict[str, int | None] = {group: 0 for group in groups if group not in known}
    for group in groups:
        if group not in known:
            continue
        try:
            [response] = await admin.describe_consumer_groups([group])
        except Exception:  # members are extra information: the lag stands without them
            counts[group] = None
            continue
        for entry in response.groups:
            error_code, group_id, _state, _protocol_type, _protocol, group_members = entry[:6]
            counts[group_id] = None if error_code else len(group_members)
    return counts
