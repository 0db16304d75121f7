"""`iaj case relabel` and `iaj round cancel`, as an operator drives them, on SQLite and
PostgreSQL. Partners answer through the use case (no Kafka): the CLI only fills the outbox."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest

from contracts.enums import Partner, YesNo
from contracts.messages import Completion, RoundResult, Withdrawal, WithdrawalReason
from contracts.topics import RESULTS
from contracts.wire import decode
from handlers.db.engine import make_engine, make_session_factory
from handlers.db.tables import AnswerRow, LateAnswerRow, ProcessingLogRow
from tests.support.cli import Iaj
from tests.support.clock import today
from tests.unit.handlers.builders import (
    Sessions,
    all_rows,
    answer_to,
    delivered,
    outbox,
    process,
    question_sets,
)

pytestmark = pytest.mark.integration

NOW = dt.datetime.now(dt.UTC)
T = TypeVar("T")
REASON = "Het kernteam heeft het label herzien na nieuwe signalen."


@pytest.fixture
def iaj(database_url: str) -> Iaj:
    return Iaj(database_url)


class Db:
    """The test's database for what the CLI does not do (partners answering, reading the
    outbox): each call runs on its own event loop, as each `iaj` command does."""

    def __init__(self, database_url: str) -> None:
        self.url = database_url

    def __call__(self, work: Callable[[Sessions], Awaitable[T]]) -> T:
        async def main() -> T:
            engine = make_engine(self.url)
            try:
                return await work(make_session_factory(engine))
            finally:
                await engine.dispose()

        return asyncio.run(main())


@pytest.fixture
def db(database_url: str) -> Db:
    return Db(database_url)


def _case(iaj: Iaj, colour: str) -> str:
    added = iaj.ok(
        "case", "add",
        "--naam", "Noor Labelwissel",
        "--geboortedatum", dt.date(today().year - 17, 3, 3).isoformat(),
        "--district", "oost",
        "--traject", "iaj",
        "--criterium", "politiecontacten",
        "--criterium", "gedrag_gecontinueerd",
        "--kleur", colour,
        "--gezinslid", "Vader Labelwissel:1978-06-06",
        "--brief-verstuurd", (today() - dt.timedelta(days=2)).isoformat(),
    )  # fmt: skip
    return added.stdout.strip()


async def _answer_all(sessions: Sessions, round_id: str) -> None:
    """Every partner answers ja, as richly as permitted, until nothing is left to answer."""
    done: set[object] = set()
    while True:
        todo = [qs for qs in await question_sets(sessions, round_id) if qs.message_id not in done]
        if not todo:
            return
        for qs in todo:
            done.add(qs.message_id)
            await process(sessions, [delivered(answer_to(qs, YesNo.JA), qs.partner)], now=NOW)


def test_opschalen_through_the_cli_asks_only_the_difference(iaj: Iaj, db: Db) -> None:
    case_id = _case(iaj, "oranje")
    opened = iaj.json("round", "open", case_id, "--kleur", "oranje")
    before = len(db(lambda s: question_sets(s, opened["round_id"])))

    assert "already oranje" in iaj.refused(
        "case", "relabel", case_id, "--kleur", "oranje", "--reason", REASON
    )
    assert "reason" in iaj.refused("case", "relabel", case_id, "--kleur", "rood", "--reason", "x")
    assert "official" in iaj.refused(
        "case", "relabel", case_id, "--kleur", "rood", "--reason", REASON,
        "--actor", "burgemeester",
    )  # fmt: skip

    done = iaj.json("case", "relabel", case_id, "--kleur", "rood", "--reason", REASON)

    assert (done["from"], done["to"], done["round_id"]) == ("oranje", "rood", opened["round_id"])
    assert done["added"] == {"cjib": 1, "riec": 1}
    assert done["withdrawn"] == {}
    assert len(db(lambda s: question_sets(s, opened["round_id"]))) == before + 2
    shown = iaj.json("round", "show", opened["round_id"])
    assert (shown["colour"], shown["state"]) == ("rood", "open")
    keys = [(p, q["key"], q["subject_ref"]) for p, qs in shown["partners"].items() for q in qs]
    assert len(keys) == len(set(keys))


def test_afschalen_through_the_cli_purges_rood_detail(iaj: Iaj, db: Db) -> None:
    case_id = _case(iaj, "rood")
    round_id = iaj.json("round", "open", case_id, "--kleur", "rood")["round_id"]
    db(lambda s: _answer_all(s, round_id))
    assert iaj.json("round", "show", round_id)["state"] == "complete"

    text = iaj.ok("case", "relabel", case_id, "--kleur", "groen", "--reason", REASON).stdout
    assert "purged" in text
    assert "family member(s) deleted" in text

    shown = iaj.ok("round", "show", round_id, "--json").stdout
    assert "erzonnen" not in shown  # the rood toelichting and detail said "Verzonnen ..."
    data = json.loads(shown)
    assert data["colour"] == "groen"
    for questions in data["partners"].values():
        for q in questions:
            answer = q["answer"] or {}
            assert not {"toelichting", "detail", "domeinen"} & {
                k for k, v in answer.items() if v is not None
            }
    assert all(
        "erzonnen" not in json.dumps(a.content) for a in db(lambda s: all_rows(s, AnswerRow))
    )
    results = [decode(r.payload) for r in db(lambda s: outbox(s, RESULTS))]
    latest = [r for r in results if isinstance(r, RoundResult)][-1]
    assert (latest.revision, latest.colour.value) == (2, "groen")
    assert "erzonnen" not in latest.model_dump_json()
    actions = {r.action for r in db(lambda s: all_rows(s, ProcessingLogRow))}
    assert {"case_relabelled", "label_purge", "family_purged"} <= actions


def test_cancel_through_the_cli(iaj: Iaj, db: Db) -> None:
    case_id = _case(iaj, "oranje")
    round_id = iaj.json("round", "open", case_id, "--kleur", "oranje")["round_id"]
    sets = {qs.partner: qs for qs in db(lambda s: question_sets(s, round_id))}

    assert "reason" in iaj.refused("round", "cancel", round_id, "--reason", "stop")
    assert "say who" in iaj.refused("round", "cancel", round_id, "--reason", REASON, "--actor", "")
    cancelled = iaj.json("round", "cancel", round_id, "--reason", REASON)

    assert cancelled["state"] == "cancelled"
    # The CJG's question waited on the Verwijsindex: withdrawn too, but it was never sent.
    assert set(cancelled["withdrawn"]) == {p.value for p in sets} | {"cjg"}
    rows = db(lambda s: outbox(s))
    notices = [n for n in (decode(r.payload) for r in rows) if isinstance(n, Withdrawal)]
    assert sorted(n.partner for n in notices) == sorted(sets)
    assert {n.reason for n in notices} == {WithdrawalReason.ROUND_CANCELLED}
    results = [decode(r.payload) for r in db(lambda s: outbox(s, RESULTS))]
    (result,) = [r for r in results if isinstance(r, RoundResult)]
    assert result.completion is Completion.CANCELLED

    # A late answer is not stored; `round show` says cancelled, withdrawn, one late answer set.
    swt = sets[Partner.SWT]
    db(lambda s: process(s, [delivered(answer_to(swt), Partner.SWT)], now=NOW))
    assert db(lambda s: all_rows(s, AnswerRow)) == []
    assert len(db(lambda s: all_rows(s, LateAnswerRow))) == len(swt.questions)
    shown = iaj.ok("round", "show", round_id).stdout
    assert "cancelled" in shown
    assert "withdrawn" in shown
    assert "round cancel" not in iaj.refused("round", "cancel", round_id, "--reason", REASON)
    assert "not open" in iaj.refused("round", "cancel", round_id, "--reason", REASON)


def test_republish_through_the_cli(iaj: Iaj, db: Db) -> None:
    case_id = _case(iaj, "oranje")
    round_id = iaj.json("round", "open", case_id, "--kleur", "oranje")["round_id"]
    assert "still open" in iaj.refused("round", "republish", round_id)
    iaj.ok("round", "cancel", round_id, "--reason", REASON)
    (first,) = [decode(r.payload) for r in db(lambda s: outbox(s, RESULTS))]

    again = iaj.json("round", "republish", round_id)

    assert again == {
        "round_id": round_id,
        "message_id": str(first.message_id),
        "revision": 1,
        "completion": "cancelled",
    }
    # Not sent yet: the same outbox row carries it (one row per message id).
    (row,) = db(lambda s: outbox(s, RESULTS))
    assert decode(row.payload) == first
    actions = [r.action for r in db(lambda s: all_rows(s, ProcessingLogRow))]
    assert actions.count("result_republished") == 1
    assert "no round" in iaj.refused("round", "republish", "00000000-0000-4000-8000-000000000000")
