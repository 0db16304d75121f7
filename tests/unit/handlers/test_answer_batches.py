"""Taking a batch of partners' answers: what is stored, what is refused (and the partner told),
what is dead-lettered, and that a message delivered again changes nothing."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import select

from contracts.enums import Colour, Partner, YesNo
from contracts.errors import RefusalReason
from contracts.messages import AnswerItem, QuestionSet
from contracts.topics import DEADLETTER, answer_topic, message_key, question_topic, refusal_topic
from handlers.answers import AnswerReport
from handlers.db.tables import AnswerRow, DeadLetterRow, InboxRow, QuestionRow, RefusalRow
from handlers.db.uow import DirectMessage
from handlers.states import QuestionStatus, RoundState
from tests.unit.handlers.builders import (
    NOW,
    POLICY,
    Sessions,
    all_rows,
    answer_to,
    delivered,
    new_round,
    outbox,
    permitted_answer,
    process,
    question_set_of,
    question_sets,
    question_statuses,
    refusal_notices,
    round_row,
    snapshot,
)

# Groen: the Verwijsindex (ja/nee met wie), Leerplicht and the SWT (ja/nee) are asked at once;
# the CJG only after a match at the Verwijsindex.
DEPENDENT = next(a for a in POLICY.asked(Colour.GROEN) if a.after is not None)
assert DEPENDENT.after is not None


async def _groen_round(sessions: Sessions) -> tuple[str, list[QuestionSet]]:
    round_id = await new_round(sessions, Colour.GROEN)
    return round_id, await question_sets(sessions, round_id)


def _answer_json(qs: QuestionSet, antwoord: YesNo = YesNo.JA) -> dict[str, Any]:
    """The reply to `qs` as plain JSON, to be made richer than any model would allow."""
    reply: dict[str, Any] = answer_to(qs, antwoord).model_dump(mode="json")
    return reply


async def test_permitted_answers_are_stored_and_close_their_questions(
    sessions: Sessions,
) -> None:
    round_id, sets = await _groen_round(sessions)
    leerplicht = question_set_of(sets, Partner.LEERPLICHT)
    answer = answer_to(leerplicht)

    reports = await process(sessions, [delivered(answer, Partner.LEERPLICHT)])

    assert reports == [AnswerReport(accepted=len(leerplicht.questions))]
    stored = await all_rows(sessions, AnswerRow)
    assert sorted((a.question_id, a.partner, a.message_id, a.content) for a in stored) == sorted(
        (str(q.question_id), "leerplicht", str(answer.message_id), {"antwoord": "ja"})
        for q in leerplicht.questions
    )
    async with sessions() as session:
        for q in leerplicht.questions:
            row = await session.get(QuestionRow, str(q.question_id))
            assert row is not None
            assert (row.status, row.closed_at) == (QuestionStatus.ANSWERED, NOW)
    assert [i.message_key for i in await all_rows(sessions, InboxRow)] == [
        f"answer:{answer.message_id}"
    ]
    # The other partners have not answered: the round stays open, no result yet.
    assert (await round_row(sessions, round_id)).state == RoundState.OPEN
    assert await outbox(sessions, "iaj.results") == []


async def test_the_content_a_shape_permits_is_kept(sessions: Sessions) -> None:
    _, sets = await _groen_round(sessions)
    verwijsindex = question_set_of(sets, Partner.VERWIJSINDEX)
    answer = answer_to(verwijsindex)
    assert any(item.met_wie for item in answer.answers)  # ja_nee_met_wie: names who knows

    await process(sessions, [delivered(answer, Partner.VERWIJSINDEX)])

    assert sorted(a.content["met_wie"] for a in await all_rows(sessions, AnswerRow)) == sorted(
        [p.value for p in item.met_wie or ()] for item in answer.answers
    )


@pytest.mark.parametrize("antwoord", list(YesNo))
async def test_the_answer_a_dependent_question_waits_on_issues_or_drops_it(
    sessions: Sessions, antwoord: YesNo
) -> None:
    assert DEPENDENT.after is not None
    round_id, sets = await _groen_round(sessions)
    parent = question_set_of(sets, DEPENDENT.after.partner)
    dependent = (DEPENDENT.partner.value, DEPENDENT.key, "jongere")
    assert (await question_statuses(sessions, round_id))[dependent] == QuestionStatus.WAITING

    (report,) = await process(sessions, [delivered(answer_to(parent, antwoord), parent.partner)])

    asked_before = {qs.partner for qs in sets}
    issued = [
        qs for qs in await question_sets(sessions, round_id) if qs.partner not in asked_before
    ]
    if antwoord == DEPENDENT.after.answer:
        assert report.issued == 1
        assert (await question_statuses(sessions, round_id))[dependent] == QuestionStatus.OPEN
        (qs,) = issued
        assert (qs.partner, [q.key for q in qs.questions]) == (DEPENDENT.partner, [DEPENDENT.key])
        (row,) = await outbox(sessions, question_topic(DEPENDENT.partner))
        assert row.key == message_key(qs.round_id)
    else:
        assert report.issued == 0
        statuses = await question_statuses(sessions, round_id)
        assert statuses[dependent] == QuestionStatus.NOT_APPLICABLE
        assert issued == []


# (partner, how the first answer item is made richer than permitted, reason, field)
OVERSHARING = [
    pytest.param(
        Partner.SWT,
        YesNo.JA,
        {"toelichting": "Verzonnen: veel meer dan ja of nee."},
        RefusalReason.FIELD_NOT_PERMITTED,
        "toelichting",
        id="text-where-only-ja-nee-is-asked",
    ),
    pytest.param(
        Partner.VERWIJSINDEX,
        YesNo.NEE,
        {"met_wie": ["cjg"]},
        RefusalReason.CONTENT_ON_NEE,
        "met_wie",
        id="content-on-nee",
    ),
    pytest.param(
        Partner.VERWIJSINDEX,
        YesNo.JA,
        {"met_wie": ["buurvrouw"]},
        RefusalReason.INVALID_VALUE,
        "met_wie",
        id="not-a-partner",
    ),
    pytest.param(
        Partner.LEERPLICHT,
        YesNo.JA,
        {"bron": "verzonnen"},
        RefusalReason.EXTRA_FIELD,
        "bron",
        id="a-field-no-shape-has",
    ),
]


@pytest.mark.parametrize(("partner", "antwoord", "extra", "reason", "field"), OVERSHARING)
async def test_an_answer_richer_than_its_label_is_refused_and_the_partner_told(
    sessions: Sessions,
    partner: Partner,
    antwoord: YesNo,
    extra: dict[str, Any],
    reason: RefusalReason,
    field: str,
) -> None:
    _, sets = await _groen_round(sessions)
    qs = question_set_of(sets, partner)
    reply = _answer_json(qs, antwoord)
    reply["answers"][0].update(extra)
    question_id = reply["answers"][0]["question_id"]

    (report,) = await process(sessions, [delivered(reply, partner)])

    assert report == AnswerReport(refused=[reason], accepted=len(qs.questions) - 1)
    assert question_id not in {a.question_id for a in await all_rows(sessions, AnswerRow)}
    async with sessions() as session:
        refused_question = await session.get(QuestionRow, question_id)
    assert refused_question is not None
    assert refused_question.status == QuestionStatus.OPEN  # it can still be answered
    (refusal,) = await all_rows(sessions, RefusalRow)
    assert (refusal.partner, refusal.question_id, refusal.reason, refusal.field) == (
        partner.value,
        question_id,
        reason.value,
        field,
    )
    assert refusal.message_id == reply["message_id"]
    (notice,) = await refusal_notices(sessions, partner)
    (item,) = notice.items  # one notice per message, listing the refused items
    assert (notice.reason, item.reason, item.field) == (reason, reason, field)
    assert str(item.question_id) == question_id
    assert (str(notice.in_reply_to), notice.colour) == (reply["message_id"], Colour.GROEN)
    assert notice.explanation == reason.explanation
    # The notice does not carry what was over-shared (the record has no column for it).
    (notice_row,) = await outbox(sessions, refusal_topic(partner))
    for value in extra.values():
        shared = value[0] if isinstance(value, list) else value
        assert shared.encode() not in notice_row.payload

    # The partner corrects itself: the permitted answer, in a new message, is accepted; the
    # others it repeats were answered before, and the partner is told so.
    corrected = answer_to(qs, antwoord)
    (report,) = await process(sessions, [delivered(corrected, partner)])
    assert report.accepted == 1
    assert report.already_answered == len(qs.questions) - 1
    assert report.refused == [RefusalReason.ALREADY_ANSWERED] * (len(qs.questions) - 1)


async def test_a_made_up_field_name_reaches_no_record_and_no_notice(sessions: Sessions) -> None:
    _, sets = await _groen_round(sessions)
    swt = question_set_of(sets, Partner.SWT)
    secret = "Ravi Verzonnenhuis heeft schulden"
    reply = _answer_json(swt)
    reply["answers"][0][secret] = True

    (report,) = await process(sessions, [delivered(reply, Partner.SWT)])

    assert report.refused == [RefusalReason.EXTRA_FIELD]
    (refusal,) = await all_rows(sessions, RefusalRow)
    assert refusal.field is not None
    assert secret not in refusal.field
    assert all(secret.encode() not in row.payload for row in await outbox(sessions))


@pytest.mark.parametrize("target", ["another-partners-question", "never-asked"])
async def test_an_answer_to_a_question_not_put_to_this_partner_is_refused(
    sessions: Sessions, target: str
) -> None:
    round_id, sets = await _groen_round(sessions)
    swt = question_set_of(sets, Partner.SWT)
    if target == "another-partners-question":
        question = question_set_of(sets, Partner.LEERPLICHT).questions[0]
    else:
        question = swt.questions[0].model_copy(update={"question_id": uuid.uuid4()})
    before = await question_statuses(sessions, round_id)

    (report,) = await process(
        sessions, [delivered(answer_to(swt, items=[permitted_answer(question)]), Partner.SWT)]
    )

    assert report == AnswerReport(refused=[RefusalReason.UNKNOWN_QUESTION])
    assert await all_rows(sessions, AnswerRow) == []
    assert await question_statuses(sessions, round_id) == before
    (refusal,) = await all_rows(sessions, RefusalRow)
    # The question id is not recorded: it names no question of this partner.
    assert (refusal.partner, refusal.question_id, refusal.field) == ("swt", None, "question_id")
    (notice,) = await refusal_notices(sessions, Partner.SWT)
    assert [(i.question_id, i.reason) for i in notice.items] == [
        (None, RefusalReason.UNKNOWN_QUESTION)
    ]


async def test_a_question_not_issued_yet_cannot_be_answered(sessions: Sessions) -> None:
    """The dependent question has an id and a partner, but was never sent: an answer to it
    (a guessed or leaked id) is refused, and the question keeps waiting."""
    round_id, sets = await _groen_round(sessions)
    async with sessions() as session:
        waiting = (
            await session.scalars(
                select(QuestionRow).where(QuestionRow.status == QuestionStatus.WAITING)
            )
        ).one()
    assert (waiting.partner, waiting.issued_at) == (DEPENDENT.partner.value, None)
    # Shaped like a reply to a question set the partner never received.
    unsent = question_set_of(sets, Partner.SWT).model_copy(update={"partner": DEPENDENT.partner})
    item = AnswerItem(question_id=uuid.UUID(waiting.id), antwoord=YesNo.NEE)

    (report,) = await process(
        sessions, [delivered(answer_to(unsent, items=[item]), DEPENDENT.partner)]
    )

    # It replies to a question set this partner never received.
    assert report == AnswerReport(refused=[RefusalReason.UNKNOWN_QUESTION_SET])
    assert await all_rows(sessions, AnswerRow) == []
    dependent = (DEPENDENT.partner.value, DEPENDENT.key, "jongere")
    assert (await question_statuses(sessions, round_id))[dependent] == QuestionStatus.WAITING


async def test_an_answer_for_an_unknown_round_is_refused_as_a_whole(sessions: Sessions) -> None:
    _, sets = await _groen_round(sessions)
    swt = question_set_of(sets, Partner.SWT)
    unknown_round = answer_to(swt).model_copy(update={"round_id": uuid.uuid4()})

    (report,) = await process(sessions, [delivered(unknown_round, Partner.SWT)])

    assert report == AnswerReport(refused=[RefusalReason.UNKNOWN_QUESTION_SET])
    (refusal,) = await all_rows(sessions, RefusalRow)
    assert (refusal.round_id, refusal.field) == (str(unknown_round.round_id), "round_id")
    (notice,) = await refusal_notices(sessions, Partner.SWT)
    assert notice.colour is None  # the round is unknown, so is its label
    assert (notice.reason, notice.items) == (RefusalReason.UNKNOWN_QUESTION_SET, ())
    assert await all_rows(sessions, AnswerRow) == []


async def test_a_message_naming_another_partner_is_refused_and_its_sender_told(
    sessions: Sessions,
) -> None:
    round_id, sets = await _groen_round(sessions)
    leerplicht_answer = answer_to(question_set_of(sets, Partner.LEERPLICHT))
    before = await question_statuses(sessions, round_id)

    # Only the SWT can write to its answer topic, whatever partner the message names.
    (report,) = await process(sessions, [delivered(leerplicht_answer, Partner.SWT)])

    assert report == AnswerReport(refused=[RefusalReason.WRONG_PARTNER])
    assert await question_statuses(sessions, round_id) == before
    (refusal,) = await all_rows(sessions, RefusalRow)
    assert (refusal.partner, refusal.reason, refusal.field) == ("swt", "wrong_partner", "partner")
    assert len(await refusal_notices(sessions, Partner.SWT)) == 1
    assert await refusal_notices(sessions, Partner.LEERPLICHT) == []


async def test_a_message_answering_one_question_twice_is_refused_as_a_whole(
    sessions: Sessions,
) -> None:
    _, sets = await _groen_round(sessions)
    swt = question_set_of(sets, Partner.SWT)
    question = swt.questions[0]
    twice = answer_to(
        swt, items=[permitted_answer(question, YesNo.JA), permitted_answer(question, YesNo.NEE)]
    )

    (report,) = await process(sessions, [delivered(twice, Partner.SWT)])

    # Which of the two would count? Neither: nothing of it is stored, the partner is told,
    # and its corrected message is taken.
    assert report == AnswerReport(refused=[RefusalReason.DUPLICATE_ANSWER])
    assert await all_rows(sessions, AnswerRow) == []
    (notice,) = await refusal_notices(sessions, Partner.SWT)
    assert notice.reason is RefusalReason.DUPLICATE_ANSWER
    corrected = answer_to(swt, items=[permitted_answer(question, YesNo.NEE)])
    (report,) = await process(sessions, [delivered(corrected, Partner.SWT)])
    assert report == AnswerReport(accepted=1)


async def test_more_items_than_the_question_set_has_questions_are_refused_as_a_whole(
    sessions: Sessions,
) -> None:
    _, sets = await _groen_round(sessions)
    swt = question_set_of(sets, Partner.SWT)
    items = [permitted_answer(q) for q in swt.questions]
    made_up = [
        permitted_answer(q.model_copy(update={"question_id": uuid.uuid4()})) for q in swt.questions
    ]
    padded = answer_to(swt, items=[*items, *made_up])

    (report,) = await process(sessions, [delivered(padded, Partner.SWT)])

    assert report == AnswerReport(refused=[RefusalReason.TOO_MANY_ITEMS])
    assert await all_rows(sessions, AnswerRow) == []
    (notice,) = await refusal_notices(sessions, Partner.SWT)  # one notice, not one per item
    assert (notice.reason, notice.items) == (RefusalReason.TOO_MANY_ITEMS, ())


async def test_a_message_repeated_within_one_batch_takes_effect_once(sessions: Sessions) -> None:
    _, sets = await _groen_round(sessions)
    leerplicht = question_set_of(sets, Partner.LEERPLICHT)
    answer = answer_to(leerplicht)

    # A producer retry: the same message at two log positions, in one batch.
    reports = await process(
        sessions, [delivered(answer, Partner.LEERPLICHT), delivered(answer, Partner.LEERPLICHT)]
    )

    assert reports == [
        AnswerReport(accepted=len(leerplicht.questions)),
        AnswerReport(duplicate=True),
    ]
    assert len(await all_rows(sessions, AnswerRow)) == len(leerplicht.questions)
    assert len(await all_rows(sessions, InboxRow)) == 1


async def test_a_resent_answer_under_a_new_message_id_is_not_stored_again_and_the_partner_told(
    sessions: Sessions,
) -> None:
    _, sets = await _groen_round(sessions)
    swt = question_set_of(sets, Partner.SWT)
    first = answer_to(swt)
    await process(sessions, [delivered(first, Partner.SWT)])

    resent = first.model_copy(update={"message_id": uuid.uuid4()})
    (report,) = await process(sessions, [delivered(resent, Partner.SWT)])

    assert report == AnswerReport(
        already_answered=len(swt.questions),
        refused=[RefusalReason.ALREADY_ANSWERED] * len(swt.questions),
    )
    assert {a.message_id for a in await all_rows(sessions, AnswerRow)} == {str(first.message_id)}
    (notice,) = await refusal_notices(sessions, Partner.SWT)
    assert notice.in_reply_to == resent.message_id
    assert {i.question_id for i in notice.items} == {q.question_id for q in swt.questions}


async def test_a_redelivered_batch_changes_nothing(sessions: Sessions) -> None:
    _, sets = await _groen_round(sessions)
    swt_reply = _answer_json(question_set_of(sets, Partner.SWT))
    swt_reply["answers"][0]["toelichting"] = "meer dan gevraagd"
    batch = [
        delivered(answer_to(question_set_of(sets, Partner.LEERPLICHT)), Partner.LEERPLICHT),
        delivered(swt_reply, Partner.SWT),  # refused, with a notice
        delivered(b"\xff not json", Partner.BRP),  # dead-lettered
    ]
    first = await process(sessions, batch)
    assert first[0].accepted > 0
    assert first[1].refused == [RefusalReason.FIELD_NOT_PERMITTED]
    assert first[2].dead_lettered
    after_first = await snapshot(sessions)

    # The consumer crashed before acknowledging: Kafka delivers the same batch again.
    again = await process(sessions, batch)

    assert again == [AnswerReport(duplicate=True)] * len(batch)
    assert await snapshot(sessions) == after_first


async def test_a_batch_that_is_not_committed_leaves_no_trace(sessions: Sessions) -> None:
    _, sets = await _groen_round(sessions)
    leerplicht = question_set_of(sets, Partner.LEERPLICHT)
    batch = [delivered(answer_to(leerplicht), Partner.LEERPLICHT)]
    before = await snapshot(sessions)

    await process(sessions, batch, commit=False)  # e.g. the commit failed

    # Not even the inbox row: the redelivery is processed as if for the first time.
    assert await snapshot(sessions) == before
    assert await process(sessions, batch) == [AnswerReport(accepted=len(leerplicht.questions))]


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"Ravi Verzonnenhuis, geen JSON", "not_json"),
        (b'["een", "lijst"]', "not_json_object"),
        (b'{"type": "question_set"}', "unexpected_type"),
        (b'{"type": "answer", "naam": "Ravi Verzonnenhuis"}', "schema_violation"),
    ],
)
async def test_an_unreadable_message_is_dead_lettered_and_its_bytes_kept_out_of_the_database(
    sessions: Sessions, raw: bytes, reason: str
) -> None:
    message = delivered(raw, Partner.RN)
    delivery = message[1]
    published: list[DirectMessage] = []

    (report,) = await process(sessions, [message], published=published)

    assert report == AnswerReport(dead_lettered=True)
    (letter,) = await all_rows(sessions, DeadLetterRow)
    assert (letter.topic, letter.partner, letter.reason) == (answer_topic(Partner.RN), "rn", reason)
    assert (letter.partition, letter.offset, letter.size_bytes) == (0, delivery.offset, len(raw))
    assert "Ravi" not in letter.detail
    # The bytes go straight to iaj.deadletter, for the operator; never through the outbox.
    (forwarded,) = published
    assert (forwarded.topic, forwarded.value) == (DEADLETTER, raw)
    assert forwarded.headers["dlq_reason"] == reason
    assert forwarded.headers["dlq_source_offset"] == str(delivery.offset)
    # The partner cannot read iaj.deadletter: a notice tells it, with the reason only.
    (notice_row,) = await outbox(sessions)
    assert notice_row.topic == refusal_topic(Partner.RN)
    assert b"Ravi" not in notice_row.payload
    (notice,) = await refusal_notices(sessions, Partner.RN)
    assert (notice.reason, notice.in_reply_to, notice.round_id) == (
        RefusalReason.MALFORMED,
        None,
        None,
    )
    assert notice.detail is not None
    assert notice.detail.startswith(reason)
    assert (notice.source.topic, notice.source.offset) == (delivery.topic, delivery.offset)
    assert [i.message_key for i in await all_rows(sessions, InboxRow)] == [delivery.position]
    # Delivered again at the same position: one dead letter, not two.
    assert await process(sessions, [message], published=published) == [AnswerReport(duplicate=True)]
    assert len(await all_rows(sessions, DeadLetterRow)) == 1
    assert len(published) == 1


async def test_a_dead_letter_kafka_did_not_take_leaves_nothing_behind(sessions: Sessions) -> None:
    """Published before the commit: if Kafka refuses it, nothing is kept and the message is
    not acknowledged, so it comes again (and is dead-lettered then)."""
    message = delivered(b"Ravi Verzonnenhuis, geen JSON", Partner.RN)

    async def unreachable(_: DirectMessage) -> None:
        raise ConnectionError("Kafka is not there")

    with pytest.raises(ConnectionError):
        await process(sessions, [message], publish=unreachable)
    assert await all_rows(sessions, DeadLetterRow) == []
    assert await all_rows(sessions, InboxRow) == []

    published: list[DirectMessage] = []
    assert await process(sessions, [message], published=published) == [
        AnswerReport(dead_lettered=True)
    ]
    assert len(published) == 1
