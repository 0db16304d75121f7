"""Uitstroom and retention through `iaj`, as a regisseur and an operator drive them, on SQLite
and PostgreSQL: `case leave` once, `case correct-uitstroom` only to an earlier day, the
uitstroombrief once; an open round cancelled by the uitstroom; a youth who returns gets a new
case; `retention purge` deletes on day 366 after the uitstroom, not on day 365, in batches,
and `status` shows the last pass and the next.

The clock is the real one: every date is given relative to today.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.enums import YesNo
from contracts.messages import PartnerAnswer, QuestionSet, Withdrawal
from contracts.topics import answer_topic
from contracts.wire import decode, encode
from handlers.answers import handle_answers
from handlers.db.engine import make_engine, make_session_factory
from handlers.db.tables import AnswerRow, CaseRow, OutboxRow, ProcessingLogRow
from handlers.db.uow import UnitOfWork
from handlers.dead_letters import Delivery
from tests.integration.broker.service.partners import permitted_answer
from tests.support.cli import AsyncIaj
from tests.support.clock import today
from tests.support.signing import partner_keys, sign

pytestmark = pytest.mark.integration

REASON = "The date of the kernteam meeting was entered instead of the real one."


def ago(days: int) -> str:
    return (today() - dt.timedelta(days=days)).isoformat()


class Iaj(AsyncIaj):
    """`iaj ...` on this test's database, with a way to register a youth."""

    async def add(self, naam: str = "Roos Uitstroomtest", letter_days_ago: int = 400) -> str:
        added = await self.ok(
            "case", "add",
            "--naam", naam,
            "--geboortedatum", dt.date(today().year - 17, 1, 1).isoformat(),
            "--district", "noord",
            "--traject", "iaj",
            "--criterium", "politiecontacten",
            "--kleur", "groen",
            "--brief-verstuurd", ago(letter_days_ago),
        )  # fmt: skip
        return added.stdout.strip()


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(database_url)
    yield engine
    await engine.dispose()


async def _case(engine: AsyncEngine, case_id: str) -> CaseRow | None:
    async with make_session_factory(engine)() as session:
        return await session.get(CaseRow, case_id)


async def _logged(engine: AsyncEngine, case_id: str, action: str) -> list[ProcessingLogRow]:
    async with make_session_factory(engine)() as session:
        return list(
            await session.scalars(
                select(ProcessingLogRow)
                .where(ProcessingLogRow.case_id == case_id)
                .where(ProcessingLogRow.action == action)
            )
        )


async def test_uitstroom_is_recorded_once_and_corrected_only_to_an_earlier_day(
    database_url: str, engine: AsyncEngine
) -> None:
    iaj = Iaj(database_url)
    case_id = await iaj.add()
    left = await iaj.ok("case", "leave", case_id, "--date", ago(100))
    assert "no uitstroombrief recorded yet" in " ".join(left.stdout.split())
    assert (await iaj.json("status", "--no-kafka"))["left_without_uitstroombrief"] == 1

    assert "recorded already" in await iaj.refused("case", "leave", case_id, "--date", ago(10))
    case = await _case(engine, case_id)
    assert case is not None
    assert case.left_on == today() - dt.timedelta(days=100), "the date did not move"

    later = await iaj.refused(
        "case", "correct-uitstroom", case_id, "--date", ago(90), "--reason", REASON
    )
    assert "earlier day" in later
    assert "reason" in await iaj.refused(
        "case", "correct-uitstroom", case_id, "--date", ago(120), "--reason", "x"
    )
    assert "before the informing letter" in await iaj.refused(
        "case", "correct-uitstroom", case_id, "--date", ago(401), "--reason", REASON
    )
    await iaj.ok("case", "correct-uitstroom", case_id, "--date", ago(120), "--reason", REASON)
    case = await _case(engine, case_id)
    assert case is not None
    assert case.left_on == today() - dt.timedelta(days=120)
    [corrected] = await _logged(engine, case_id, "uitstroom_corrected")
    assert corrected.actor == "regisseur-test"
    assert REASON in corrected.purpose
    assert ago(100) in corrected.purpose

    assert "before the uitstroom" in await iaj.refused(
        "case", "uitstroombrief", case_id, "--date", ago(121)
    )
    await iaj.ok("case", "uitstroombrief", case_id, "--date", ago(115))
    assert "recorded already" in await iaj.refused(
        "case", "uitstroombrief", case_id, "--date", ago(1)
    )
    assert (await iaj.json("status", "--no-kafka"))["left_without_uitstroombrief"] == 0


async def test_leave_with_the_uitstroombrief_at_once(
    database_url: str, engine: AsyncEngine
) -> None:
    iaj = Iaj(database_url)
    case_id = await iaj.add()
    recorded = await iaj.json(
        "case", "leave", case_id, "--date", ago(3), "--uitstroombrief", ago(2)
    )
    assert recorded == {"left_on": ago(3), "uitstroombrief_on": ago(2), "cancelled_rounds": []}
    case = await _case(engine, case_id)
    assert case is not None
    assert case.uitstroombrief_on == today() - dt.timedelta(days=2)


async def test_uitstroom_cancels_the_open_round_and_a_later_answer_is_not_stored(
    database_url: str, engine: AsyncEngine
) -> None:
    iaj = Iaj(database_url)
    case_id = await iaj.add(letter_days_ago=5)
    opened = await iaj.json("round", "open", case_id, "--kleur", "groen")
    round_id = opened["round_id"]

    left = await iaj.json("case", "leave", case_id, "--date", today().isoformat())
    assert left["cancelled_rounds"] == [round_id]
    assert (await iaj.json("round", "show", round_id))["state"] == "cancelled"

    async with make_session_factory(engine)() as session:
        messages = [decode(p) for p in await session.scalars(select(OutboxRow.payload))]
    sets = [m for m in messages if isinstance(m, QuestionSet)]
    withdrawals = [m for m in messages if isinstance(m, Withdrawal)]
    assert sorted(w.partner for w in withdrawals) == sorted(opened["asked"])
    assert all(w.reason == "uitstroom" for w in withdrawals)

    # A partner that had not seen the withdrawal answers anyway.
    qs = sets[0]
    answer = PartnerAnswer(
        round_id=qs.round_id,
        correlation_id=qs.correlation_id,
        policy=qs.policy,
        partner=qs.partner,
        in_reply_to=qs.message_id,
        answers=tuple(permitted_answer(q, YesNo.JA) for q in qs.questions),
    )
    delivery = Delivery(topic=answer_topic(qs.partner), partition=0, offset=0)
    async with UnitOfWork(make_session_factory(engine)) as uow:
        [report] = await handle_answers(
            uow,
            [(sign(qs.partner, encode(answer)), delivery)],
            dt.datetime.now(dt.UTC),
            partner_keys(),
        )
        await uow.commit()
    assert (report.accepted, report.late) == (0, len(qs.questions))
    async with make_session_factory(engine)() as session:
        assert list(await session.scalars(select(AnswerRow.id))) == []


async def test_a_youth_who_returns_after_uitstroom_is_registered_as_a_new_case(
    database_url: str, engine: AsyncEngine
) -> None:
    iaj = Iaj(database_url)
    first = await iaj.add(naam="Milan Terugkomer")
    assert "already on the list" in await iaj.refused(
        "case", "add",
        "--naam", "Milan Terugkomer",
        "--geboortedatum", dt.date(today().year - 17, 1, 1).isoformat(),
        "--district", "noord", "--traject", "iaj", "--criterium", "politiecontacten",
        "--kleur", "groen",
    )  # fmt: skip
    await iaj.ok("case", "leave", first, "--date", ago(30))

    second = await iaj.add(naam="Milan Terugkomer", letter_days_ago=1)
    assert second != first
    old = await _case(engine, first)
    new = await _case(engine, second)
    assert old is not None
    assert new is not None
    assert old.left_on == today() - dt.timedelta(days=30), "the old retention clock runs on"
    assert new.left_on is None
    assert len(await iaj.json("case", "list")) == 2


async def test_the_purge_goes_on_day_366_after_uitstroom_in_batches_and_status_shows_it(
    database_url: str, engine: AsyncEngine
) -> None:
    iaj = Iaj(database_url, IAJ_RETENTION_BATCH_SIZE="2", IAJ_RETENTION_INTERVAL_SECONDS="3600")
    never = await iaj.json("status", "--no-kafka")
    assert never["retention"] == {
        "last_at": None,
        "last_detail": None,
        "next_at": None,
        "next_at_start_up": True,
    }
    assert "at the service's start-up" in (await iaj.ok("status", "--no-kafka")).stdout

    on_day_365 = await iaj.add(naam="Jade Dag Driehonderdvijfenzestig")
    await iaj.ok("case", "leave", on_day_365, "--date", ago(365))
    gone = []
    for n, days in enumerate((366, 367, 370, 399, 400)):
        case_id = await iaj.add(naam=f"Proefjongere Uitgestroomd {n}")
        await iaj.ok("case", "leave", case_id, "--date", ago(days))
        gone.append(case_id)

    dry = await iaj.json("retention", "purge", "--dry-run")
    assert sorted(d["case_id"] for d in dry["due"]) == sorted(gone)
    assert {d["why"] for d in dry["due"]} == {"1 year after uitstroom"}
    assert dry["purged"] == []
    assert (await iaj.json("status", "--no-kafka"))["retention"]["last_at"] is None, (
        "a dry run is no pass"
    )

    purged = await iaj.json("retention", "purge")
    assert sorted(d["case_id"] for d in purged["purged"]) == sorted(gone)
    assert [c["case_id"] for c in await iaj.json("case", "list")] == [on_day_365]
    for case_id in gone:
        assert await _case(engine, case_id) is None
        [logged] = await _logged(engine, case_id, "case_purged")
        assert logged.actor == "regisseur-test"

    retention = (await iaj.json("status", "--no-kafka"))["retention"]
    assert retention["last_detail"] == "5 case(s) deleted"
    last = dt.datetime.fromisoformat(retention["last_at"])
    assert dt.datetime.fromisoformat(retention["next_at"]) == last + dt.timedelta(hours=1)
    assert retention["next_at_start_up"] is False
    shown = " ".join((await iaj.ok("status", "--no-kafka")).stdout.split())
    assert "5 case(s) deleted" in shown
    assert (await iaj.json("retention", "purge"))["purged"] == [], "nothing more is due"
