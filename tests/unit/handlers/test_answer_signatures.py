"""Every answer is provably its partner's: an item whose signature does not verify with a
key registered for the partner of its topic gets the whole message refused, and what is
stored can be verified again later from the database alone."""

from __future__ import annotations

import json
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from contracts.enums import Colour, Partner
from contracts.errors import RefusalReason
from contracts.signing import Signer, sign_answer, signed_bytes, verify_item
from contracts.wire import encode
from handlers.answers import AnswerReport
from handlers.db.tables import AnswerRow, ProcessingLogRow, QuestionRow, RefusalRow
from tests.support.signing import partner_keys, sign
from tests.unit.handlers.builders import (
    Sessions,
    all_rows,
    answer_to,
    delivered,
    new_round,
    process,
    question_set_of,
    question_sets,
    refusal_notices,
)


async def _leerplicht_reply(sessions: Sessions) -> bytes:
    round_id = await new_round(sessions, Colour.GROEN)
    qs = question_set_of(await question_sets(sessions, round_id), Partner.LEERPLICHT)
    return encode(answer_to(qs))


async def _refused_as_a_whole(sessions: Sessions, raw: bytes) -> None:
    (report,) = await process(sessions, [delivered(raw, Partner.LEERPLICHT)])
    assert report == AnswerReport(refused=[RefusalReason.BAD_SIGNATURE])
    assert await all_rows(sessions, AnswerRow) == []
    (refusal,) = await all_rows(sessions, RefusalRow)
    assert (refusal.reason, refusal.field) == ("bad_signature", "signature")
    (notice,) = await refusal_notices(sessions, Partner.LEERPLICHT)
    assert notice.reason is RefusalReason.BAD_SIGNATURE


async def test_an_unsigned_answer_is_refused_and_nothing_stored(sessions: Sessions) -> None:
    await _refused_as_a_whole(sessions, await _leerplicht_reply(sessions))


async def test_an_answer_signed_by_another_partners_key_is_refused(sessions: Sessions) -> None:
    # The RN's key, on Leerplicht's topic, in Leerplicht's name: a forgery ACLs should have
    # stopped; the signature stops it on a mis-configured cluster too.
    await _refused_as_a_whole(sessions, sign(Partner.RN, await _leerplicht_reply(sessions)))


async def test_an_answer_by_an_unregistered_key_is_refused(sessions: Sessions) -> None:
    stranger = Signer(Ed25519PrivateKey.generate())  # e.g. a key rotated out
    await _refused_as_a_whole(sessions, sign_answer(stranger, await _leerplicht_reply(sessions)))


async def test_a_tampered_answer_is_refused(sessions: Sessions) -> None:
    message: dict[str, Any] = json.loads(
        sign(Partner.LEERPLICHT, await _leerplicht_reply(sessions))
    )
    message["answers"][0]["antwoord"] = (
        "ja" if message["answers"][0]["antwoord"] == "nee" else "nee"
    )
    await _refused_as_a_whole(sessions, json.dumps(message).encode())


async def test_one_bad_item_refuses_the_whole_message(sessions: Sessions) -> None:
    round_id = await new_round(sessions, Colour.ROOD)
    qs = max(await question_sets(sessions, round_id), key=lambda q: len(q.questions))
    message: dict[str, Any] = json.loads(sign(qs.partner, encode(answer_to(qs))))
    assert len(message["answers"]) > 1
    del message["answers"][-1]["signature"]

    (report,) = await process(sessions, [delivered(json.dumps(message).encode(), qs.partner)])

    assert report == AnswerReport(refused=[RefusalReason.BAD_SIGNATURE])
    assert await all_rows(sessions, AnswerRow) == []


async def test_a_stored_answer_can_be_verified_later_from_the_database(
    sessions: Sessions,
) -> None:
    raw = sign(Partner.LEERPLICHT, await _leerplicht_reply(sessions))
    (report,) = await process(sessions, [delivered(raw, Partner.LEERPLICHT)])
    assert report.accepted > 0
    for row in await all_rows(sessions, AnswerRow):
        async with sessions() as session:
            question = await session.get(QuestionRow, row.question_id)
        assert question is not None
        # Everything the signature covers is in the database: no copy of the message kept.
        envelope = {
            "partner": row.partner,
            "message_id": row.message_id,
            "round_id": row.round_id,
            "in_reply_to": question.question_set_id,
        }
        item = {"question_id": row.question_id, **row.content}
        signature = {"key_id": row.key_id, "value": row.signature}
        keys = partner_keys()[Partner.LEERPLICHT]
        verified = verify_item(keys, envelope, {**item, "signature": signature})
        assert verified.key_id == row.key_id
        assert signed_bytes(envelope, item)  # what a judge would be shown


async def test_the_receipt_is_in_the_processing_log_with_the_signing_key(
    sessions: Sessions,
) -> None:
    raw = sign(Partner.LEERPLICHT, await _leerplicht_reply(sessions))
    (report,) = await process(sessions, [delivered(raw, Partner.LEERPLICHT)])
    assert report.accepted > 0
    (stored, *_) = await all_rows(sessions, AnswerRow)
    (entry,) = [
        e for e in await all_rows(sessions, ProcessingLogRow) if e.action == "answers_received"
    ]
    assert entry.actor == "partner:leerplicht"
    assert (entry.round_id, entry.case_id) == (stored.round_id, entry.case_id)
    assert entry.case_id is not None
    assert stored.key_id is not None
    assert stored.key_id in entry.purpose
    assert stored.message_id in entry.purpose
