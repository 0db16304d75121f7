"""Every disclosure and every receipt is in the processing log, naming the partner the data
went to or came from, and the official or system that caused it; never content."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from contracts.enums import Colour, Partner, YesNo
from handlers.db.tables import ProcessingLogRow
from tests.unit.handlers.builders import (
    ACTOR,
    Sessions,
    answer_to,
    delivered,
    new_round,
    process,
    question_set_of,
    question_sets,
)


async def _log(sessions: Sessions, action: str) -> list[ProcessingLogRow]:
    async with sessions() as session:
        rows = await session.scalars(
            select(ProcessingLogRow)
            .where(ProcessingLogRow.action == action)
            .order_by(ProcessingLogRow.id)
        )
        return list(rows.all())


async def test_each_question_set_issued_is_logged_with_its_partner_and_official(
    sessions: Sessions,
) -> None:
    round_id = await new_round(sessions, Colour.GROEN)
    sets = await question_sets(sessions, round_id)
    issued = await _log(sessions, "question_set_issued")
    assert sorted(entry.partner or "" for entry in issued) == sorted(qs.partner for qs in sets)
    assert {(e.actor, e.round_id) for e in issued} == {(ACTOR, round_id)}
    # The CJG waits for the Verwijsindex: not asked, so not a recipient yet.
    assert Partner.CJG.value not in {e.partner for e in issued}


async def test_the_cjg_follow_up_is_a_new_disclosure_logged_as_the_services(
    sessions: Sessions,
) -> None:
    round_id = await new_round(sessions, Colour.GROEN)
    vir = question_set_of(await question_sets(sessions, round_id), Partner.VERWIJSINDEX)
    await process(sessions, [delivered(answer_to(vir, YesNo.JA), Partner.VERWIJSINDEX)])
    (follow_up,) = [e for e in await _log(sessions, "question_set_issued") if e.partner == "cjg"]
    assert follow_up.actor == "iaj-broker"
    assert follow_up.round_id == round_id


async def test_a_receipt_names_the_sender_and_a_refusal_too_without_content(
    sessions: Sessions,
) -> None:
    round_id = await new_round(sessions, Colour.GROEN)
    sets = await question_sets(sessions, round_id)
    leerplicht = question_set_of(sets, Partner.LEERPLICHT)
    await process(sessions, [delivered(answer_to(leerplicht), Partner.LEERPLICHT)])
    (received,) = await _log(sessions, "answers_received")
    assert (received.partner, received.actor) == ("leerplicht", "partner:leerplicht")

    # The Verwijsindex says "ja" with a toelichting its groen ja/nee-met-wie does not permit.
    vir = question_set_of(sets, Partner.VERWIJSINDEX)
    richer = answer_to(vir).model_dump(mode="json")
    richer["answers"][0]["toelichting"] = "Verzonnen geheim dat niet mag"
    await process(sessions, [delivered(richer, Partner.VERWIJSINDEX)])
    (refused,) = await _log(sessions, "answers_refused")
    assert (refused.partner, refused.round_id) == ("verwijsindex", round_id)
    assert "geheim" not in refused.purpose


async def test_an_unreadable_answer_names_no_case(sessions: Sessions) -> None:
    await process(sessions, [delivered(b"\xff not json", Partner.OM)])
    assert await _log(sessions, "answers_refused") == []


async def test_a_message_refused_whole_about_a_known_round_is_logged(sessions: Sessions) -> None:
    round_id = await new_round(sessions, Colour.GROEN)
    qs = question_set_of(await question_sets(sessions, round_id), Partner.LEERPLICHT)
    stray = answer_to(qs).model_copy(update={"in_reply_to": uuid.uuid4()})
    await process(sessions, [delivered(stray, Partner.LEERPLICHT)])
    (entry,) = await _log(sessions, "answers_refused")
    assert (entry.partner, entry.round_id) == ("leerplicht", round_id)
    assert "the whole message" in entry.purpose
