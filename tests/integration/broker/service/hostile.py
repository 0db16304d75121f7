"""Hostile input for the municipal service, sent from outside its code path: raw records on
its real topics, and what came of them read back from Kafka, the database and the log.

Every value a test makes up carries a marker ("Merkteken-<n>-<hex>"); afterwards no marker may
be found in the database (the SQLite files byte for byte, or every row of every PostgreSQL
table as text) nor in anything the service logged. Valid answers are never built here: they
come from `FakePartners` (which signs them), captured before they reach Kafka.
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from broker.service.municipal import MunicipalService
from contracts.enums import Colour, Partner
from contracts.errors import RefusalReason
from contracts.messages import Completion, RefusalNotice, RoundResult
from contracts.topics import DEADLETTER, RESULTS, message_key, refusal_topic
from contracts.wire import decode
from handlers.db.tables import AnswerRow, DeadLetterRow, OutboxRow
from handlers.rounds import OpenRound
from tests.integration.broker.service.conftest import add_case
from tests.integration.broker.service.partners import FakePartners

__all__ = [
    "GROEN_FIRST_WAVE",
    "Captured",
    "Hostile",
    "LogWatch",
    "Markers",
    "Outcomes",
    "Position",
    "RawPartner",
    "Sent",
    "capture",
    "completes_a_correct_round",
    "database_bytes",
    "marker_hits",
    "read_outcomes",
    "resident_kib",
    "results_of",
    "settle",
]

MARKER_WORD = "Merkteken"
# The marker as written, and as PostgreSQL prints a bytea (hex): searched case-insensitively.
_NEEDLES = (MARKER_WORD.lower().encode(), MARKER_WORD.encode().hex().encode())
_MARKER = re.compile(MARKER_WORD + r"-\d+-[0-9a-f]{32}")
T = TypeVar("T")
GROEN_FIRST_WAVE = frozenset({Partner.VERWIJSINDEX, Partner.LEERPLICHT, Partner.SWT})


class Markers:
    """Unique marker strings, each remembering the case it was made for."""

    def __init__(self) -> None:
        self.cases: dict[str, str] = {}

    def new(self, case: str) -> str:
        marker = f"{MARKER_WORD}-{len(self.cases)}-{uuid.uuid4().hex}"
        self.cases[marker] = case
        return marker

    def named_in(self, places: Iterable[str]) -> list[str]:
        """The cases whose markers appear (as written) in `places`."""
        found = {m for place in places for m in _MARKER.findall(place)}
        return sorted(self.cases.get(m, m) for m in found)


def marker_hits(haystack: bytes, limit: int = 5) -> list[str]:
    """Up to `limit` places where a marker occurs, each with some context."""
    low = haystack.lower()
    hits: list[str] = []
    for needle in _NEEDLES:
        start = 0
        while len(hits) < limit and (at := low.find(needle, start)) >= 0:
            hits.append(haystack[max(0, at - 80) : at + 80].decode("utf-8", "replace"))
            start = at + 1
    return hits


class LogWatch(logging.Handler):
    """Searches every record, formatted in full (exception messages and stacks included), for
    markers as it is emitted; keeps only the hits and a count, so memory stays flat."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        self.records = 0
        self.hits: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records += 1
        try:
            line = self.format(record)
        except Exception:  # a record that cannot be formatted is searched as it is
            line = repr(record.__dict__)
        found = marker_hits(line.encode("utf-8", "surrogatepass"), limit=1)
        if found and len(self.hits) < 20:
            self.hits.append(f"{record.name} ({record.levelname}): ...{found[0]}...")


def resident_kib() -> int:
    """This process's resident memory (the service runs in it), from /proc/self/status."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS line in /proc/self/status")


@dataclass(frozen=True, order=True)
class Position:
    topic: str
    partition: int
    offset: int


@dataclass(frozen=True)
class Sent:
    """One record we produced, and what the service owes us for it."""

    case: str
    at: Position
    value: bytes | None
    letter: str | None = None  # the dead letter's reason, when one is due
    notice: RefusalReason | None = None  # the refusal notice's reason, when one is due
    in_reply_to: uuid.UUID | None = None  # what the notice must name
    detail: str | None = None  # how a malformed notice's and a dead letter's detail begin
    # A hypothesis mutant: a notice, a dead letter, or all its items taken; nothing else.
    mutant: bool = False
    message_id: uuid.UUID | None = None
    items: int = 0


@dataclass(frozen=True)
class Captured:
    """A record FakePartners was about to produce, with every argument it gave."""

    topic: str
    value: bytes
    kwargs: dict[str, Any]


class _Recorder:
    """Stands in for FakePartners' producer: keeps what it is given, sends nothing."""

    def __init__(self) -> None:
        self.calls: list[Captured] = []

    async def send_and_wait(self, topic: str, value: bytes, **kwargs: Any) -> None:
        self.calls.append(Captured(topic, value, kwargs))

    async def send(self, topic: str, value: bytes, **kwargs: Any) -> asyncio.Future[None]:
        await self.send_and_wait(topic, value, **kwargs)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


async def capture(partners: FakePartners, action: Callable[[], Awaitable[T]]) -> tuple[Captured, T]:
    """The one record `action` makes FakePartners produce (signed as it signs), not sent;
    and what `action` returned."""
    real, recorder = partners.producer, _Recorder()
    partners.producer = recorder
    try:
        result = await action()
    finally:
        partners.producer = real
    (call,) = recorder.calls
    return call, result


class RawPartner:
    """Produces records exactly as given, and says where each one landed."""

    def __init__(self, bootstrap: str) -> None:
        self._producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap, max_request_size=4 * 1024 * 1024
        )

    async def start(self) -> None:
        await self._producer.start()

    async def stop(self) -> None:
        await self._producer.stop()

    async def send(
        self,
        topic: str,
        value: bytes | None,
        *,
        key: bytes | None = None,
        headers: Sequence[tuple[str, bytes]] = (),
    ) -> Position:
        meta = await self._producer.send_and_wait(
            topic, value, key=key, headers=list(headers) or None
        )
        return Position(meta.topic, meta.partition, meta.offset)

    async def replay(self, captured: Captured, value: bytes | None = None) -> Position:
        """The captured record (its key and headers too), with `value` if one is given."""
        body = captured.value if value is None else value
        meta = await self._producer.send_and_wait(captured.topic, body, **captured.kwargs)
        return Position(meta.topic, meta.partition, meta.offset)


async def _unsent(service: MunicipalService) -> int:
    async with service.sessions() as session:
        found = await session.scalar(
            select(func.count()).select_from(OutboxRow).where(OutboxRow.sent_at.is_(None))
        )
    return int(found or 0)


async def settle(service: MunicipalService, sent: Iterable[Sent], within: float = 120.0) -> None:
    """Wait until the service acknowledged every record in `sent` (its committed position is
    past each; it commits only after the database did) and its outbox is relayed."""
    last: dict[TopicPartition, int] = {}
    for s in sent:
        tp = TopicPartition(s.at.topic, s.at.partition)
        last[tp] = max(last.get(tp, -1), s.at.offset)
    # A consumer in the service's group that never subscribes: it reads the group's committed
    # positions without joining the group (nor making it rebalance).
    consumer = AIOKafkaConsumer(
        bootstrap_servers=service.settings.kafka_bootstrap,
        group_id=service.settings.consumer_group,
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            assert not service.halted, "the service halted"
            committed = {tp: (await consumer.committed(tp)) or 0 for tp in last}
            behind = {tp: off for tp, off in last.items() if committed[tp] <= off}
            unsent = await _unsent(service)
            if not behind and unsent == 0:
                return
            if loop.time() > deadline:
                raise AssertionError(
                    f"not settled after {within:.0f} s: not yet acknowledged "
                    f"{sorted((tp.topic, tp.partition, off) for tp, off in behind.items())[:5]}"
                    f", {unsent} outbox row(s) unsent"
                )
            await asyncio.sleep(0.1)  # polling interval; the deadline above bounds the wait
    finally:
        await consumer.stop()


async def read_to_end(bootstrap: str, topics: Sequence[str]) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record of `topics`, from the beginning to the end offsets of the moment."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        max_partition_fetch_bytes=4 * 1024 * 1024,
    )
    await consumer.start()
    try:
        await consumer.topics()  # refreshes the metadata partitions_for_topic reads
        partitions = [
            TopicPartition(topic, p)
            for topic in topics
            for p in sorted(consumer.partitions_for_topic(topic) or {0})
        ]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends: dict[TopicPartition, int] = await consumer.end_offsets(partitions)
        found: list[ConsumerRecord[bytes, bytes]] = []

        async def behind() -> bool:
            for tp, end in ends.items():
                if await consumer.position(tp) < end:
                    return True
            return False

        async def collect() -> None:
            while await behind():
                batch = await consumer.getmany(timeout_ms=200)
                found.extend(r for rs in batch.values() for r in rs)

        await asyncio.wait_for(collect(), 60)
        return found
    finally:
        await consumer.stop()


@dataclass
class Outcomes:
    """What the service made of what we sent, by source position."""

    notices: dict[Position, list[tuple[RefusalNotice, bytes]]] = field(default_factory=dict)
    letters: dict[Position, list[ConsumerRecord[bytes, bytes]]] = field(default_factory=dict)
    letter_rows: dict[Position, list[tuple[str, str, int | None]]] = field(default_factory=dict)
    accepted: dict[str, int] = field(default_factory=dict)  # answers stored, by message id

    @property
    def notice_count(self) -> int:
        return sum(len(n) for n in self.notices.values())


def _header(record: ConsumerRecord[bytes, bytes], name: str) -> str:
    values = [v for k, v in record.headers if k == name]
    assert len(values) == 1, f"dead letter without exactly one {name} header: {record.headers}"
    return bytes(values[0]).decode()


async def read_outcomes(service: MunicipalService) -> Outcomes:
    """Notices on every partner's refusal topic, dead letters on their topic and in their
    table, and the answers stored per message."""
    bootstrap = service.settings.kafka_bootstrap
    outcomes = Outcomes()
    for record in await read_to_end(bootstrap, [refusal_topic(p) for p in Partner]):
        notice = decode(record.value)
        assert isinstance(notice, RefusalNotice), f"not a refusal notice: {notice!r}"
        at = Position(notice.source.topic, notice.source.partition, notice.source.offset)
        outcomes.notices.setdefault(at, []).append((notice, bytes(record.value)))
    for record in await read_to_end(bootstrap, [DEADLETTER]):
        at = Position(
            _header(record, "dlq_source_topic"),
            int(_header(record, "dlq_source_partition")),
            int(_header(record, "dlq_source_offset")),
        )
        outcomes.letters.setdefault(at, []).append(record)
    async with service.sessions() as session:
        rows = await session.execute(
            select(
                DeadLetterRow.topic,
                DeadLetterRow.partition,
                DeadLetterRow.offset,
                DeadLetterRow.reason,
                DeadLetterRow.detail,
                DeadLetterRow.size_bytes,
            )
        )
        for topic, partition, offset, reason, detail, size in rows:
            at = Position(topic, partition or 0, offset or 0)
            outcomes.letter_rows.setdefault(at, []).append((reason, detail, size))
        stored = await session.execute(
            select(AnswerRow.message_id, func.count()).group_by(AnswerRow.message_id)
        )
        outcomes.accepted = {message_id: int(n) for message_id, n in stored}
    return outcomes


async def database_bytes(service: MunicipalService) -> bytes:
    """SQLite: the database file and its -wal, -shm and -journal files, byte for byte.
    PostgreSQL: every row of every table of the public schema, as text."""
    url = make_url(service.settings.database_url)
    if url.get_backend_name() == "sqlite":
        path = Path(str(url.database))
        files = [path, *(path.with_name(path.name + s) for s in ("-wal", "-shm", "-journal"))]
        return b"".join(p.read_bytes() for p in files if p.exists())
    parts: list[str] = []
    async with service.sessions() as session:
        tables = await session.scalars(
            text(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1"
            )
        )
        for table in list(tables):
            quoted = '"' + str(table).replace('"', '""') + '"'
            parts.extend(
                str(r) for r in await session.scalars(text(f"SELECT t::text FROM {quoted} t"))
            )
    return "\n".join(parts).encode()


async def results_of(
    bootstrap: str, round_id: uuid.UUID, within: float = 60.0
) -> list[RoundResult]:
    """The results published for a round, once there is one (or none after `within` s)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        found = [
            message
            for record in await read_to_end(bootstrap, [RESULTS])
            if isinstance(message := decode(record.value), RoundResult)
            and message.round_id == round_id
        ]
        if found or loop.time() > deadline:
            return found
        await asyncio.sleep(0.1)  # polling interval; bounded by the deadline


async def completes_a_correct_round(service: MunicipalService, bootstrap: str) -> RoundResult:
    """Open a groen round for a new case, answer it as the partners would (FakePartners),
    and see exactly one result published for it."""
    case_id = await add_case(service)
    round_id = uuid.UUID(
        await service.open_round(OpenRound(case_id=case_id, colour=Colour.GROEN, actor="test"))
    )

    def asked(got: Sequence[Any]) -> set[Partner]:
        return {qs.partner for qs in got if qs.round_id == round_id}

    async with FakePartners(bootstrap) as partners:
        await partners.question_sets(lambda got: asked(got) >= GROEN_FIRST_WAVE, within=60)
        for qs in [qs for qs in partners.received if qs.round_id == round_id]:
            await partners.answer(qs)  # the verwijsindex answers 'ja': the CJG is asked next
        await partners.question_sets(lambda got: Partner.CJG in asked(got), within=60)
        (cjg,) = [
            qs for qs in partners.received if qs.round_id == round_id and qs.partner is Partner.CJG
        ]
        await partners.answer(cjg)
    found = await results_of(bootstrap, round_id)
    assert len(found) == 1, f"{len(found)} results published for the correct round"
    async with service.sessions() as session:
        results = await session.scalar(
            select(func.count())
            .select_from(OutboxRow)
            .where(OutboxRow.topic == RESULTS, OutboxRow.key == message_key(round_id))
        )
    assert results == 1, f"{results} results decided for the correct round"
    assert found[0].completion is Completion.COMPLETE
    return found[0]


@dataclass
class Hostile:
    """One test's hostile traffic: what was sent, and the checks every test ends with."""

    service: MunicipalService
    bootstrap: str
    raw: RawPartner
    watch: LogWatch
    rss_before: int
    markers: Markers = field(default_factory=Markers)
    sent: list[Sent] = field(default_factory=list)

    async def send(
        self,
        case: str,
        topic: str,
        value: bytes | None,
        *,
        key: bytes | None = None,
        headers: Sequence[tuple[str, bytes]] = (),
        **expect: Any,
    ) -> Sent:
        at = await self.raw.send(topic, value, key=key, headers=headers)
        self.sent.append(sent := Sent(case, at, value, **expect))
        return sent

    async def replay(
        self, case: str, captured: Captured, value: bytes | None = None, **expect: Any
    ) -> Sent:
        at = await self.raw.replay(captured, value)
        body = captured.value if value is None else value
        self.sent.append(sent := Sent(case, at, body, **expect))
        return sent

    async def verify(self) -> Outcomes:
        """Every property the suite promises, after the traffic of the test:

        every record accounted for (a notice, a dead letter, or for a mutant its items taken)
        and at most one notice per record; no `processing_error`; the service alive and
        completing a correct round; no marker in the database, the log, a notice or a dead
        letter's headers; resident memory at most 1.5 times what it was."""
        await settle(self.service, self.sent)
        outcomes = await read_outcomes(self.service)
        problems = self.unaccounted(outcomes)
        assert not problems, "\n".join(problems[:40])

        assert not self.service.halted
        await completes_a_correct_round(self.service, self.bootstrap)
        await settle(self.service, [])
        after = await read_outcomes(self.service)
        assert after.notice_count == outcomes.notice_count, "the correct round got a notice"
        assert after.letters.keys() == outcomes.letters.keys(), "the correct round: dead letter"
        assert not self.service.halted

        database = await database_bytes(self.service)
        assert b"testbeek" in database.lower(), "the dump does not see what is stored"
        hits = marker_hits(database)
        assert not hits, f"a marker in the database: {self.markers.named_in(hits)} {hits}"
        assert self.watch.records > 0, "the log watch saw nothing"
        assert not self.watch.hits, (
            f"a marker in the log: {self.markers.named_in(self.watch.hits)} {self.watch.hits}"
        )
        rss = resident_kib()
        assert rss <= 1.5 * self.rss_before, f"resident memory {self.rss_before} -> {rss} KiB"
        return outcomes

    def unaccounted(self, outcomes: Outcomes) -> list[str]:
        problems: list[str] = []
        by_position = {s.at: s for s in self.sent}
        for at in outcomes.notices.keys() - by_position.keys():
            problems.append(f"a notice for a record we did not send as hostile: {at}")
        for at in (outcomes.letters.keys() | outcomes.letter_rows.keys()) - by_position.keys():
            problems.append(f"a dead letter for a record we did not send as hostile: {at}")
        on_answer_topics = sum(1 for s in self.sent if s.at.topic.startswith("iaj.answers."))
        if outcomes.notice_count > on_answer_topics:
            problems.append(f"{outcomes.notice_count} notices for {on_answer_topics} messages")
        for s in self.sent:
            problems.extend(_unaccounted(s, outcomes))
        return problems


def _unaccounted(s: Sent, outcomes: Outcomes) -> list[str]:
    """What is wrong with the outcome of one record (nothing: an empty list)."""
    where = f"[{s.case}] at {s.at.topic}:{s.at.partition}:{s.at.offset}"
    notices = outcomes.notices.get(s.at, [])
    letters = outcomes.letters.get(s.at, [])
    rows = outcomes.letter_rows.get(s.at, [])
    reasons = [_header(letter, "dlq_reason") for letter in letters]
    problems: list[str] = []
    if len(notices) > 1 or len(letters) > 1:
        problems.append(f"{where}: {len(notices)} notices, {len(letters)} dead letters")
    if reasons != [reason for reason, _, _ in rows]:
        problems.append(f"{where}: dead letters {reasons} on the topic, {rows} in the table")
    if "processing_error" in reasons:
        problems.append(f"{where}: dead-lettered as our own processing_error")
    for notice, payload in notices:
        if marker_hits(payload):
            problems.append(f"{where}: the notice quotes a marker: {marker_hits(payload)[0]}")
        if notice.partner.value != s.at.topic.removeprefix("iaj.answers."):
            problems.append(f"{where}: a notice to {notice.partner}")
    for letter in letters:
        headers = b" ".join(bytes(v) for _, v in letter.headers)
        if marker_hits(headers):
            problems.append(f"{where}: a dead letter's headers quote a marker")
        if bytes(letter.value or b"") != (s.value or b""):
            problems.append(f"{where}: the dead letter does not keep the bytes")
    for _, detail, size in rows:
        if marker_hits(detail.encode()):
            problems.append(f"{where}: the dead letter's recorded detail quotes a marker")
        if size != len(s.value or b""):
            problems.append(f"{where}: dead letter recorded with size {size}")
    if s.mutant:
        taken = outcomes.accepted.get(str(s.message_id), 0)
        if not notices and not letters and not (s.items and taken == s.items):
            problems.append(f"{where}: not refused, not dead-lettered, {taken} items taken")
        return problems
    if reasons != ([s.letter] if s.letter else []):
        problems.append(f"{where}: dead letters {reasons}, expected {s.letter}")
    if [n.reason for n, _ in notices] != ([s.notice] if s.notice else []):
        problems.append(f"{where}: notices {[n.reason for n, _ in notices]}, expected {s.notice}")
    for notice, _ in notices:
        if notice.in_reply_to != s.in_reply_to:
            problems.append(f"{where}: in_reply_to {notice.in_reply_to}, not {s.in_reply_to}")
        if notice.reason is RefusalReason.MALFORMED and letters:
            told = f"{reasons[0]}: {_header(letters[0], 'dlq_detail')}"[:500]
            if notice.detail != told:
                problems.append(f"{where}: told {notice.detail!r}, dead letter says {told!r}")
    if s.detail is not None and not all(
        _header(letter, "dlq_detail").startswith(s.detail) for letter in letters
    ):
        problems.append(f"{where}: detail {[_header(x, 'dlq_detail') for x in letters]}")
    return problems
