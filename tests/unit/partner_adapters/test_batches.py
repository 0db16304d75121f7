"""The running adapter handles what one fetch returned as a batch: the same outcomes and the
same state as one record at a time, with one state transaction (and one commit) per batch."""

from __future__ import annotations

import dataclasses
import datetime as dt
import sqlite3
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import aiosqlite
import pytest

from contracts import Colour, Partner, QuestionSet, Withdrawal, WithdrawalReason, encode
from partner_adapters.answering import AnsweringStatus, receive, receive_batch
from partner_adapters.delivery import deliver_outbox
from partner_adapters.reference import ReferenceLookup
from partner_adapters.state import AdapterStore, KafkaPosition, OutboxEntry
from partner_adapters.state.reads import UNSENT
from tests.unit.partner_adapters.builders import SEM, question_set
from tests.unit.partner_adapters.conftest import FAST_RETRY
from tests.unit.partner_adapters.lookups import FlakyLookup, ScriptedLookup

PARTNER = Partner.VEILIGHEIDSHUIS


def _withdrawal(qs: QuestionSet) -> Withdrawal:
    return Withdrawal(
        round_id=qs.round_id,
        correlation_id=qs.correlation_id,
        policy=qs.policy,
        partner=PARTNER,
        question_ids=tuple(q.question_id for q in qs.questions),
        reason=WithdrawalReason.ROUND_CANCELLED,
    )


def _records(now: dt.datetime) -> list[bytes]:
    first, second, third = (question_set(PARTNER, Colour.ORANJE) for _ in range(3))
    late = question_set(PARTNER, Colour.ORANJE).model_copy(
        update={"deadline": now - dt.timedelta(seconds=1)}
    )
    elsewhere = question_set(Partner.CJIB, Colour.ROOD)
    return [
        b"\x00garbage",
        encode(first),
        encode(second),
        encode(first),  # re-published within the batch
        encode(late),
        encode(_withdrawal(second)),  # sees `second` recorded: its unsent answer is dropped
        encode(third),
        encode(elsewhere),
        encode(late),  # late again: rejected again (it was never answered)
    ]


@asynccontextmanager
async def _store(path: Path) -> AsyncIterator[AdapterStore]:
    store = await AdapterStore.open(path, PARTNER)
    try:
        yield store
    finally:
        await store.close()


async def test_a_batch_ends_as_one_record_at_a_time_does(tmp_path: Path) -> None:
    now = dt.datetime.now(dt.UTC)
    raw = _records(now)
    positions = [KafkaPosition("q", 0, offset) for offset in range(len(raw))]
    lookup = ReferenceLookup()
    async with _store(tmp_path / "batch.db") as batched, _store(tmp_path / "single.db") as single:
        together = await receive_batch(
            list(zip(raw, positions, strict=True)), lookup, batched, retry=FAST_RETRY, now=now
        )
        one_by_one = [
            await receive(r, lookup, single, position=p, retry=FAST_RETRY, now=now)
            for r, p in zip(raw, positions, strict=True)
        ]
        states = [await s.status(now) for s in (batched, single)]
        unsent = [[e.payload for e in await s.unsent()] for s in (batched, single)]

    assert together == one_by_one
    assert [o.status for o in together] == [
        AnsweringStatus.REJECTED,
        AnsweringStatus.ANSWERED,
        AnsweringStatus.ANSWERED,
        AnsweringStatus.DUPLICATE,
        AnsweringStatus.REJECTED,
        AnsweringStatus.WITHDRAWN,
        AnsweringStatus.ANSWERED,
        AnsweringStatus.REJECTED,
        AnsweringStatus.REJECTED,
    ]
    assert together[5].dropped == (0, 1)  # all answered already; the answer is not sent
    assert states[0] == states[1]
    assert unsent[0] == unsent[1]  # the same answers, byte for byte
    assert len(unsent[0]) == 2


@dataclasses.dataclass
class _Counts:
    thread_calls: int = 0
    commits: int = 0
    statements: list[str] = dataclasses.field(default_factory=list)


@contextmanager
def _counted(monkeypatch: pytest.MonkeyPatch) -> Iterator[_Counts]:
    """Counts calls into aiosqlite's thread, and the COMMITs they run; keeps every statement."""
    counts = _Counts()
    execute = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Callable[..., Any], *args: Any) -> Any:
        counts.thread_calls += 1

        def traced() -> Any:
            conn: sqlite3.Connection = self._conn

            def trace(statement: str) -> None:
                counts.statements.append(statement)
                counts.commits += statement.strip().upper().startswith("COMMIT")

            conn.set_trace_callback(trace)
            try:
                return fn(*args)
            finally:
                conn.set_trace_callback(None)

        return await execute(self, traced)  # type: ignore[no-untyped-call]

    with monkeypatch.context() as patched:
        patched.setattr(aiosqlite.Connection, "_execute", counted)
        yield counts


async def test_one_transaction_and_one_commit_per_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A counted guard against sliding back to a transaction (or a round-trip) per message."""
    sets = [question_set(PARTNER, Colour.ORANJE) for _ in range(20)]
    sent: list[OutboxEntry] = []

    async def send(entry: OutboxEntry) -> None:
        sent.append(entry)

    async with _store(tmp_path / "a.db") as store:
        with _counted(monkeypatch) as recording:
            outcomes = await receive_batch(
                [(encode(qs), None) for qs in sets], ReferenceLookup(), store, retry=FAST_RETRY
            )
        with _counted(monkeypatch) as delivering:
            assert await deliver_outbox(store, send) == len(sets)
        with _counted(monkeypatch) as again:
            duplicates = await receive_batch(
                [(encode(qs), None) for qs in sets], ReferenceLookup(), store, retry=FAST_RETRY
            )

    assert {o.status for o in outcomes} == {AnsweringStatus.ANSWERED}
    assert (recording.thread_calls, recording.commits) == (1, 1)
    # Every question was answered at once: each is written once, answered, and no name or
    # birth date is written at all (not even to be purged in the same transaction).
    written = [" ".join(s.split()).upper() for s in recording.statements]
    assert not [s for s in written if s.startswith("INSERT INTO SUBJECTS")]
    assert not [s for s in written if s.startswith("UPDATE QUESTIONS")]
    assert delivering.commits == 1  # every answer marked sent in one statement
    # One call to read the outbox (aiosqlite's cursor took three), one to mark them sent.
    assert delivering.thread_calls == 2
    assert {o.status for o in duplicates} == {AnsweringStatus.DUPLICATE}
    assert (again.thread_calls, again.commits) == (1, 1)  # no read before the insert


async def test_an_in_process_lookup_is_not_retried_and_a_remote_one_is(tmp_path: Path) -> None:
    class Down(ReferenceLookup):
        calls = 0

        async def lookup(self, request: Any) -> Any:
            type(self).calls += 1
            raise ConnectionError("down")

    qs = question_set(PARTNER, Colour.ORANJE)
    remote = FlakyLookup(failures=1)  # `in_process = False`: retried, then answers
    async with _store(tmp_path / "a.db") as store:
        local = await receive(encode(qs), Down(), store, retry=FAST_RETRY)
        again = qs.model_copy(update={"message_id": uuid.uuid4()})
        retried = await receive(encode(again), remote, store, retry=FAST_RETRY)

    assert Down.calls == 1
    assert local.lookup_failure is not None
    assert (local.lookup_failure.kind, local.lookup_failure.attempts) == ("ConnectionError", 1)
    assert retried.status is AnsweringStatus.ANSWERED
    assert remote.calls == 2


async def test_the_unsent_answers_are_found_by_index_however_many_were_sent(
    tmp_path: Path,
) -> None:
    """Read after every batch: a scan of every answer ever sent would make each question
    set cost more than the one before."""
    path = tmp_path / "state.db"
    async with _store(path) as store:
        await receive_batch(
            [(encode(question_set(PARTNER, Colour.ORANJE)), None) for _ in range(3)],
            ReferenceLookup(),
            store,
            retry=FAST_RETRY,
        )
        assert len(await store.unsent()) == 3
    with sqlite3.connect(path) as db:
        plan = " ".join(str(row[-1]) for row in db.execute(f"EXPLAIN QUERY PLAN {UNSENT}"))
    assert "USING INDEX outbox_unsent" in plan, plan


def _sent_in_file(path: Path) -> dict[str, bool]:
    """Per answer in the state file: marked sent (its content forgotten) or not."""
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT message_id, sent_at IS NOT NULL AND payload IS NULL FROM outbox")
        return {str(m): bool(sent) for m, sent in rows}


async def test_the_running_adapter_marks_answers_sent_in_its_next_batchs_transaction(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One transaction per batch: the marks of what the broker confirmed ride along with the
    next batch (or the periodic flush, or closing), instead of a commit of their own."""
    path = tmp_path / "a.db"

    async def confirmed(entry: OutboxEntry) -> None:
        return None

    async with _store(path) as store:
        await receive_batch(
            [(encode(question_set(PARTNER, Colour.ORANJE)), None)], ReferenceLookup(), store
        )
        with _counted(monkeypatch) as delivering:
            assert await deliver_outbox(store, confirmed, fold=True) == 1
        first = set(_sent_in_file(path))
        assert _sent_in_file(path) == dict.fromkeys(first, False)  # not yet in the file
        assert await store.unsent() == []  # but not sent again meanwhile
        with _counted(monkeypatch) as next_batch:
            await receive_batch(
                [(encode(question_set(PARTNER, Colour.ORANJE)), None)], ReferenceLookup(), store
            )
        in_file = _sent_in_file(path)
        assert {m: in_file[m] for m in first} == dict.fromkeys(first, True)
        assert sorted(in_file.values()) == [False, True]  # the new answer: not sent yet
        assert await deliver_outbox(store, confirmed, fold=True) == 1
    assert delivering.commits == 0
    assert (next_batch.thread_calls, next_batch.commits) == (1, 1)
    assert set(_sent_in_file(path).values()) == {True}  # closing wrote the last marks


async def test_a_withdrawal_after_a_folded_mark_sees_the_answer_as_sent(tmp_path: Path) -> None:
    qs = question_set(PARTNER, Colour.ORANJE)

    async def confirmed(entry: OutboxEntry) -> None:
        return None

    async with _store(tmp_path / "a.db") as store:
        await receive_batch([(encode(qs), None)], ReferenceLookup(), store)
        await deliver_outbox(store, confirmed, fold=True)
        (outcome,) = await receive_batch(
            [(encode(_withdrawal(qs)), None)], ReferenceLookup(), store
        )
    assert outcome.status is AnsweringStatus.WITHDRAWN
    assert outcome.dropped == (0, 0)  # nothing left to drop: the answer had gone out
    assert set(_sent_in_file(tmp_path / "a.db").values()) == {True}


def _state_bytes(path: Path) -> bytes:
    """The state file and its WAL and shared-memory files, as they lie on disk."""
    return b"".join(p.read_bytes() for p in path.parent.glob(f"{path.name}*"))


@pytest.mark.parametrize("answered_at_once", [True, False], ids=["answered", "purged-later"])
async def test_a_purged_name_leaves_no_bytes_behind_in_the_state_files(
    tmp_path: Path, answered_at_once: bool
) -> None:
    """The youth's name is kept only while a person may need it to answer. Once purged it is
    overwritten (secure_delete), and the checkpoint takes the older pages out of the WAL."""
    youth = dataclasses.replace(SEM, naam="Xandrijn Wisproef")
    path = tmp_path / "state.db"
    now = dt.datetime.now(dt.UTC)
    # The reference lookup answers everything at once; a partner without a system leaves
    # every question open for a person.
    lookup = ReferenceLookup() if answered_at_once else ScriptedLookup(lambda _: [])
    async with _store(path) as store:
        await receive_batch(
            [(encode(question_set(PARTNER, Colour.ORANJE, youth=youth, family=())), None)],
            lookup,
            store,
            retry=FAST_RETRY,
            now=now,
        )
        if not answered_at_once:
            assert youth.naam.encode() in _state_bytes(path)  # kept while it may be needed
            await store.purge_personal_data(now + dt.timedelta(days=365))  # past its deadline
        assert await store.checkpoint()
        assert youth.naam.encode() not in _state_bytes(path)
