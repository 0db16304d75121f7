"""The municipality's refusal notices reach the partner's status: why, never content."""

from __future__ import annotations

from rich.console import Console

from contracts import Colour, Partner, RefusalNotice, encode
from contracts.messages import utc_now
from partner_adapters.refusal_notices import receive_refusal_notice
from partner_adapters.views import status_json, status_view
from tests.unit.partner_adapters.builders import question_set, refusal_notice
from tests.unit.partner_adapters.conftest import OpenStore

PARTNER = Partner.LEERPLICHT


def notice(partner: Partner = PARTNER) -> RefusalNotice:
    return refusal_notice(question_set(partner, Colour.GROEN))


async def test_a_notice_is_kept_once_and_shown_in_the_status(open_store: OpenStore) -> None:
    refusal = notice()
    async with open_store(PARTNER) as store:
        first = await receive_refusal_notice(encode(refusal), store, PARTNER)
        again = await receive_refusal_notice(encode(refusal), store, PARTNER)  # re-read
        status = await store.status(utc_now())

    assert (first.new, again.new) == (True, False)
    assert status.refused_by_municipality == 1
    [record] = status.recent_municipal_refusals
    assert (record.in_reply_to, record.question_id, record.reason, record.field) == (
        refusal.in_reply_to,
        refusal.items[0].question_id,
        "field_not_permitted",
        "toelichting",
    )
    data = status_json(status)
    assert data["refused_by_municipality"] == 1
    assert data["recent_municipal_refusals"][0]["answer_message_id"] == str(refusal.in_reply_to)
    console = Console(record=True, width=200)
    console.print(status_view(data))
    shown = console.export_text()
    assert "answers refused by the municipality" in shown
    assert "field_not_permitted" in shown
    assert str(refusal.in_reply_to) in shown


async def test_garbage_and_other_partners_notices_are_rejected_not_kept(
    open_store: OpenStore,
) -> None:
    async with open_store(PARTNER) as store:
        garbage = await receive_refusal_notice(b"\x00 not json", store, PARTNER)
        other = await receive_refusal_notice(encode(notice(Partner.CJG)), store, PARTNER)
        question = question_set(PARTNER, Colour.GROEN)
        wrong_type = await receive_refusal_notice(encode(question), store, PARTNER)
        status = await store.status(utc_now())

    assert garbage.rejection is not None
    assert garbage.rejection.reason == "not_json"
    assert other.rejection is not None
    assert other.rejection.reason == "wrong_partner"
    assert wrong_type.rejection is not None
    assert wrong_type.rejection.reason == "unexpected_type"
    assert status.refused_by_municipality == 0
    assert status.rejected == 3
