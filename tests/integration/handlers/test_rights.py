"""The youth's rights (AVG art. 15, 16, 17) on SQLite and PostgreSQL: export, correct, erase.

Every name, date and address here is invented.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from contracts.enums import Colour, District, Partner, Track, YesNo
from contracts.messages import AnswerItem, QuestionSet, RoundResult, SubjectCorrection, Withdrawal
from contracts.topics import RESULTS
from contracts.wire import decode
from handlers.cases import Criterion, FamilyMember, NewCase
from handlers.db.tables import Base, OutboxRow, ProcessingLogRow
from handlers.db.uow import UnitOfWork
from handlers.errors import CaseRejected, UnknownCase
from handlers.retention import AFTER_LAST_PROCESSING, due_for_purge
from handlers.rights.correction import Correction, correct_case
from handlers.rights.erasure import CASE_ERASED, ErasureReason, erase_case, settle_storage
from handlers.rights.export import CASE_EXPORTED, export_case, to_html
from tests.unit.handlers.builders import (
    ACTOR,
    NOW,
    POLICY,
    TODAY,
    answer_to,
    delivered,
    open_round_for,
    outbox,
    process,
    question_set_of,
    question_sets,
    register,
)

pytestmark = pytest.mark.integration

Sessions = async_sessionmaker[AsyncSession]

YOUTH = "Noor <script>alert(1)</script> Verzonnendijk"
MOTHER = "Moeder Verzonnendijk"
BROTHER = "Broer Verzonnendijk"
ADDRESS = "Fantasielaan 17, Haarlem"
ADDRESS_REASON = "De woningcorporatie en de BRP hebben het adres nodig voor hun vraag."
# The partners whose oranje questions need the address (the policy marks them).
ADDRESS_PARTNERS = {Partner.WONINGCORPORATIE, Partner.BRP}
GOOD_REASON = "De naam was bij de registratie verkeerd overgenomen uit het overleg."


def oranje_case() -> NewCase:
    return NewCase(
        naam=YOUTH,
        geboortedatum=dt.date(TODAY.year - 16, 4, 9),
        district=District.SCHALKWIJK,
        track=Track.IAJ,
        criteria=(Criterion.POLITIECONTACTEN,),
        colour=Colour.ORANJE,
        adres=ADDRESS,
        adres_reden=ADDRESS_REASON,
        family=(
            FamilyMember(naam=MOTHER, geboortedatum=dt.date(1981, 7, 1)),
            FamilyMember(naam=BROTHER, geboortedatum=dt.date(2006, 1, 30)),
        ),
        informed_on=TODAY - dt.timedelta(days=5),
    )


async def answered_round(sessions: Sessions) -> tuple[str, str]:
    """An oranje round in which the Verwijsindex answered ja (so the CJG was asked too) and
    Leerplicht sent one answer richer than permitted (refused). Returns (case, round)."""
    case_id = await register(sessions, oranje_case())
    round_id = await open_round_for(sessions, case_id, Colour.ORANJE)
    sets = await question_sets(sessions, round_id)
    vir = question_set_of(sets, Partner.VERWIJSINDEX)
    await process(sessions, [delivered(answer_to(vir, YesNo.JA), Partner.VERWIJSINDEX)])
    leerplicht = question_set_of(sets, Partner.LEERPLICHT)
    too_rich = AnswerItem(
        question_id=leerplicht.questions[0].question_id,
        antwoord=YesNo.JA,
        toelichting="Een toelichting die bij deze vraag niet mag.",
    )
    await process(
        sessions,
        [delivered(answer_to(leerplicht, items=[too_rich]), Partner.LEERPLICHT)],
    )
    return case_id, round_id


async def messages(sessions: Sessions) -> list[Any]:
    return [decode(row.payload) for row in await outbox(sessions)]


# --- export (art. 15) ---------------------------------------------------------------------


async def test_the_export_holds_the_case_the_family_the_answers_and_who_got_what(
    sessions: Sessions,
) -> None:
    case_id, round_id = await answered_round(sessions)
    async with UnitOfWork(sessions) as uow:
        found = await export_case(uow, case_id, actor=ACTOR, how="JSON", now=NOW)
        await uow.commit()
    data = found.to_json()
    json.dumps(data)  # plain JSON values only

    assert (data["case"]["naam"], data["case"]["adres"]) == (YOUTH, ADDRESS)
    assert [m["naam"] for m in data["family"]] == [MOTHER, BROTHER]
    [rnd] = data["rounds"]
    assert rnd["id"] == round_id
    answered = [q for q in rnd["questions"] if q["answer"] is not None]
    assert {q["partner"] for q in answered} == {"verwijsindex"}
    assert answered[0]["answer"]["content"]["antwoord"] == "ja"
    assert [r["partner"] for r in rnd["refusals"]] == ["leerplicht"]
    assert {q["partner"] for q in rnd["questions"] if q["issued_at"]} >= {"cjg", "brp"}

    actions = {(e["action"], e["partner"]) for e in data["processing_log"]}
    assert ("question_set_issued", "woningcorporatie") in actions
    assert ("question_set_issued", "cjg") in actions  # the follow-up: a new disclosure
    assert ("answers_received", "verwijsindex") in actions
    assert ("case_registered", None) in actions
    assert (CASE_EXPORTED, None) in actions  # who looked: this export too
    shared = data["shared_with_partners"]
    assert shared
    assert all(e["partner"] is not None for e in shared)
    brp = [e for e in shared if e["partner"] == "brp"]
    assert brp
    assert "with address" in brp[0]["purpose"]

    async with sessions() as session:
        logged = (
            await session.scalars(
                select(ProcessingLogRow).where(ProcessingLogRow.action == CASE_EXPORTED)
            )
        ).all()
    assert [(e.case_id, e.actor) for e in logged] == [(case_id, ACTOR)]
    assert YOUTH not in logged[0].purpose


async def test_the_html_page_escapes_everything(sessions: Sessions) -> None:
    case_id, _ = await answered_round(sessions)
    async with UnitOfWork(sessions) as uow:
        page = to_html(await export_case(uow, case_id, actor=ACTOR, how="HTML", now=NOW))
    assert page.startswith("<!DOCTYPE html>")
    assert "<script" not in page
    assert "Noor &lt;script&gt;alert(1)&lt;/script&gt; Verzonnendijk" in page
    assert MOTHER in page
    assert ADDRESS in page
    assert "Woningcorporatie (woningcorporatie)" in page
    assert "Verwerkingslogboek" in page


async def test_an_export_does_not_keep_the_dossier_alive(sessions: Sessions) -> None:
    case_id = await register(sessions, oranje_case())
    async with UnitOfWork(sessions) as uow:
        await export_case(uow, case_id, actor=ACTOR, how="JSON", now=NOW)
        await uow.commit()
    # Five years after the registration the dossier is due, the later export notwithstanding.
    due_on = dt.date.today() + AFTER_LAST_PROCESSING + dt.timedelta(days=1)
    async with UnitOfWork(sessions) as uow:
        assert [d.case_id for d in await due_for_purge(uow, due_on)] == [case_id]


async def test_an_unknown_case_cannot_be_exported(sessions: Sessions) -> None:
    async with UnitOfWork(sessions) as uow:
        with pytest.raises(UnknownCase, match="iaj case list"):
            await export_case(uow, "no-such-case", actor=ACTOR, how="JSON", now=NOW)


# --- correction (art. 16, 19) -------------------------------------------------------------


async def corrections(sessions: Sessions) -> list[SubjectCorrection]:
    return [m for m in await messages(sessions) if isinstance(m, SubjectCorrection)]


async def test_a_corrected_name_goes_to_every_partner_that_was_sent_it_and_nothing_more(
    sessions: Sessions,
) -> None:
    case_id, round_id = await answered_round(sessions)
    issued = {p.partner for p in await question_sets(sessions, round_id)}
    async with UnitOfWork(sessions) as uow:
        report = await correct_case(
            uow,
            case_id,
            Correction(reason=GOOD_REASON, naam="Noor Verzonnendijk"),
            policy=POLICY,
            actor=ACTOR,
            now=NOW,
        )
        await uow.commit()
    assert report.corrected == ("naam",)
    assert report.open_rounds == (round_id,)
    sent = await corrections(sessions)
    assert {c.partner for c in sent} == issued == {t.partner for t in report.told}
    for c in sent:
        assert c.corrected == ("naam",)
        assert c.subject.naam == "Noor Verzonnendijk"
        # Only what the partner was sent: the address only where a question needed it.
        assert (c.subject.adres is not None) == (c.partner in ADDRESS_PARTNERS)
        assert str(c.round_id) == round_id
    # What was sent is not rewritten: the question sets still carry what they carried.
    assert all(qs.subjects[0].naam == YOUTH for qs in await question_sets(sessions, round_id))

    async with sessions() as session:
        log = (await session.scalars(select(ProcessingLogRow))).all()
    corrected = [e for e in log if e.action == "case_corrected"]
    assert len(corrected) == 1
    assert "naam" in corrected[0].purpose
    assert GOOD_REASON in corrected[0].purpose
    told = {e.partner for e in log if e.action == "subject_correction_sent"}
    assert told == {p.value for p in issued}
    for entry in log:
        assert "Verzonnendijk" not in entry.purpose  # neither the old nor the new name


async def test_a_corrected_address_goes_only_to_partners_that_were_sent_the_address(
    sessions: Sessions,
) -> None:
    case_id, _ = await answered_round(sessions)
    # The relay sent the question sets and the purge dropped them: what was sent is then
    # read from the processing log.
    async with sessions() as session, session.begin():
        await session.execute(delete(OutboxRow))
    async with UnitOfWork(sessions) as uow:
        report = await correct_case(
            uow,
            case_id,
            Correction(
                reason="Het adres is gewijzigd volgens een nieuwe opgave.",
                adres="Droomstraat 3, Haarlem",
                adres_reden=ADDRESS_REASON,
            ),
            policy=POLICY,
            actor=ACTOR,
            now=NOW,
        )
        await uow.commit()
    sent = await corrections(sessions)
    assert {c.partner for c in sent} == ADDRESS_PARTNERS
    assert all(c.corrected == ("adres",) for c in sent)
    assert all(c.subject.adres == "Droomstraat 3, Haarlem" for c in sent)
    assert Partner.VERWIJSINDEX in report.not_concerned
    async with sessions() as session:
        purposes = list(await session.scalars(select(ProcessingLogRow.purpose)))
    assert not any("Droomstraat" in p or "Fantasielaan" in p for p in purposes)


@pytest.mark.parametrize(
    ("correction", "field"),
    [
        (Correction(reason=GOOD_REASON, geboortedatum=TODAY + dt.timedelta(days=1)), "geb"),
        (Correction(reason=GOOD_REASON, geboortedatum=dt.date(TODAY.year - 30, 1, 1)), "geb"),
        (Correction(reason=GOOD_REASON, adres="Droomstraat 3"), "adres_reden"),
        (Correction(reason=GOOD_REASON, adres="Droomstraat 3", adres_reden="x"), "adres_reden"),
        (Correction(reason=GOOD_REASON, adres_reden=ADDRESS_REASON), "adres_reden"),
        (Correction(reason="x", naam="Noor Verzonnendijk"), "reason"),
        (Correction(reason=f"De naam {YOUTH} was fout gespeld.", naam="Noor V"), "reason"),
        (Correction(reason=GOOD_REASON), "case"),
        (Correction(reason=GOOD_REASON, naam=YOUTH), "case"),  # nothing changes
    ],
)  # fmt: skip
async def test_a_correction_is_validated_like_a_registration(
    sessions: Sessions, correction: Correction, field: str
) -> None:
    case_id, _ = await answered_round(sessions)
    before = await messages(sessions)
    async with UnitOfWork(sessions) as uow:
        with pytest.raises(CaseRejected) as refused:
            await correct_case(uow, case_id, correction, policy=POLICY, actor=ACTOR, now=NOW)
    assert refused.value.field == {"geb": "geboortedatum"}.get(field, field)
    assert YOUTH not in str(refused.value)
    assert len(await messages(sessions)) == len(before)


# --- erasure (art. 17) --------------------------------------------------------------------


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


async def everything_stored(sessions: Sessions) -> str:
    """The text of every value of every row of every table."""
    parts = []
    async with sessions() as session:
        for table in Base.metadata.sorted_tables:
            for row in (await session.execute(select(table))).all():
                parts += [_text(v) for v in row]
    return "\n".join(parts)


async def test_an_erasure_leaves_no_name_or_address_anywhere(
    sessions: Sessions, database_url: str
) -> None:
    case_id, round_id = await answered_round(sessions)
    async with UnitOfWork(sessions) as uow:  # a correction first: the old name must go too
        await correct_case(
            uow,
            case_id,
            Correction(reason=GOOD_REASON, naam="Noor Verbeterdijk"),
            policy=POLICY,
            actor=ACTOR,
            now=NOW,
        )
        await uow.commit()
    names = [YOUTH, "Noor Verbeterdijk", MOTHER, BROTHER, ADDRESS]
    stored = await everything_stored(sessions)
    assert all(n in stored for n in names)  # the search sees them while they are there
    async with sessions() as session:
        log_before = len((await session.scalars(select(ProcessingLogRow))).all())

    async with UnitOfWork(sessions) as uow:
        report = await erase_case(
            uow, case_id, reason=ErasureReason.REGISTERED_BY_MISTAKE, actor=ACTOR, now=NOW
        )
        await uow.commit()
        assert await settle_storage(uow) is None
    assert report.cancelled_rounds == (round_id,)
    assert (report.rounds, report.family_members) == (1, 2)

    stored = await everything_stored(sessions)
    for needle in [*names, "Verzonnendijk", "Verbeterdijk", "Fantasielaan"]:
        assert needle not in stored, needle

    if database_url.startswith("sqlite"):
        db_file = Path(database_url.split("///", 1)[1])
        for path in (db_file, Path(f"{db_file}-wal")):
            if path.exists():
                raw = path.read_bytes()
                for needle in ("Verzonnendijk", "Verbeterdijk", "Fantasielaan"):
                    assert needle.encode() not in raw, (path.name, needle)

    # The partners asked and the backend still hear that the round stopped: no names in that.
    left = await messages(sessions)
    withdrawals = [m for m in left if isinstance(m, Withdrawal) and str(m.round_id) == round_id]
    assert {w.partner for w in withdrawals} >= {Partner.BRP, Partner.WONINGCORPORATIE}
    assert all(w.reason.value == "erased" for w in withdrawals)
    cancelled = [m for m in left if isinstance(m, RoundResult) and str(m.round_id) == round_id]
    assert [r.completion.value for r in cancelled] == ["cancelled"]
    assert not [m for m in left if isinstance(m, QuestionSet | SubjectCorrection)]
    assert {r.topic for r in await outbox(sessions, RESULTS)} == {RESULTS}

    async with sessions() as session:
        log = (await session.scalars(select(ProcessingLogRow))).all()
    assert len(log) > log_before  # the entries stay, the erasure and cancellation are added
    [erased] = [e for e in log if e.action == CASE_ERASED]
    assert (erased.case_id, erased.actor) == (case_id, ACTOR)
    assert "registered-by-mistake" in erased.purpose


async def test_an_erasure_without_rounds_and_an_unknown_case(sessions: Sessions) -> None:
    case_id = await register(sessions, oranje_case())
    async with UnitOfWork(sessions) as uow:
        report = await erase_case(
            uow, case_id, reason=ErasureReason.OBJECTION_GRANTED, actor=ACTOR, now=NOW
        )
        await uow.commit()
        assert await settle_storage(uow) is None
    assert (report.rounds, report.cancelled_rounds) == (0, ())
    assert "Verzonnendijk" not in await everything_stored(sessions)
    async with UnitOfWork(sessions) as uow:
        with pytest.raises(UnknownCase):
            await erase_case(
                uow, case_id, reason=ErasureReason.OBJECTION_GRANTED, actor=ACTOR, now=NOW
            )
