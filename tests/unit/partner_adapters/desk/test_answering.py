"""Answering at the desk: the path of `iaj-adapter answer` (checked, recorded in the outbox
with the question answered, answered once, then delivered), and every crafted post that asks
for more than the question permits refused with the reason in Dutch, nothing recorded."""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from contracts import (
    AnswerItem,
    AnswerShape,
    Colour,
    Partner,
    PartnerAnswer,
    QuestionSet,
    RecordPosition,
    RefusalNotice,
    RefusalReason,
    RefusedItem,
    decode,
    encode,
)
from partner_adapters.cli import app as adapter_cli
from partner_adapters.identity import answer_message_id
from partner_adapters.refusal_notices import receive_refusal_notice
from partner_adapters.state import AdapterStore
from tests.support.desk import (
    DESK_USER,
    FailingDelivery,
    RecordingDelivery,
    csrf_of,
    record_sets,
    table_rows,
)
from tests.unit.partner_adapters.builders import question_set
from tests.unit.partner_adapters.desk.conftest import Desk, MakeDesk
from tests.unit.partner_adapters.desk.html import parse

TEXT = "Synthetisch: ingeschreven bij een testschool, verzuim besproken."


@dataclass(frozen=True)
class Case:
    name: str
    partner: Partner
    colour: Colour
    key: str
    subject_ref: str
    posted: tuple[tuple[str, str], ...]
    expected: dict[str, Any]


VALID = [
    Case("ja_nee", Partner.LEERPLICHT, Colour.GROEN, "schooluitval_inschrijving", "jongere",
         (("antwoord", "nee"),), {"antwoord": "nee"}),
    Case("ja_nee_met_wie", Partner.VERWIJSINDEX, Colour.GROEN, "vir_match", "jongere",
         (("antwoord", "ja"), ("met_wie", "cjg"), ("met_wie", "swt")),
         {"antwoord": "ja", "met_wie": ("cjg", "swt")}),
    Case("ja_nee_domeinen", Partner.VEILIGHEIDSHUIS, Colour.ORANJE, "risicosignalen",
         "gezinslid-1", (("antwoord", "ja"), ("domeinen", "financien"), ("domeinen", "justitie")),
         {"antwoord": "ja", "domeinen": ("financien", "justitie")}),
    Case("ja_nee_toelichting", Partner.LEERPLICHT, Colour.ROOD, "schooluitval_inschrijving",
         "jongere", (("antwoord", "ja"), ("toelichting", TEXT)),
         {"antwoord": "ja", "toelichting": TEXT}),
    Case("detail", Partner.WONINGCORPORATIE, Colour.ROOD, "woonsignalen", "jongere",
         (("antwoord", "ja"), ("detail.overlastsignalen", "ja"), ("detail.huurachterstand", ""),
          ("detail.overige_bijzonderheden", "Synthetisch: geluidsoverlast\r\ngemeld.")),
         {"antwoord": "ja", "detail": {
             "overlastsignalen": True,
             "overige_bijzonderheden": "Synthetisch: geluidsoverlast\ngemeld."}}),
    Case("detail_aantal", Partner.CJIB, Colour.ROOD, "overzicht_openstaand", "jongere",
         (("antwoord", "ja"), ("detail.openstaande_vorderingen", "ja"),
          ("detail.aantal_vorderingen", "2"), ("detail.totaal_openstaand_euro", "150")),
         {"antwoord": "ja", "detail": {"openstaande_vorderingen": True, "aantal_vorderingen": 2,
                                       "totaal_openstaand_euro": 150}}),
    # Without JavaScript the follow-up fields are always there: left empty, a nee is fine.
    Case("nee_without_javascript", Partner.WONINGCORPORATIE, Colour.ROOD, "woonsignalen",
         "jongere", (("antwoord", "nee"), ("detail.overlastsignalen", ""),
                     ("detail.huurachterstand", ""), ("detail.overige_bijzonderheden", "")),
         {"antwoord": "nee"}),
]  # fmt: skip


def _index(desk: Desk, key: str, subject_ref: str) -> int:
    [n] = [
        i
        for i, q in enumerate(desk.sets[0].questions)
        if (q.key, q.subject_ref) == (key, subject_ref)
    ]
    return n


def _post(client: Any, desk: Desk, q: int, posted: tuple[tuple[str, str], ...], **kw: Any) -> Any:
    token = csrf_of(client.get(desk.set_url()).text)
    body = [("csrf_token", token), *posted]
    return client.post(
        desk.answer_url(0, q),
        content=_urlencode(body),
        headers={"content-type": "application/x-www-form-urlencoded"},
        **kw,
    )


def _urlencode(pairs: list[tuple[str, str]]) -> str:
    from urllib.parse import urlencode

    return urlencode(pairs)


def _question_row(state: Path, question_id: uuid.UUID) -> tuple[Any, ...]:
    with sqlite3.connect(state) as db:
        row = db.execute(
            "SELECT status, answered_by, answer_message_id FROM questions WHERE question_id = ?",
            (str(question_id),),
        ).fetchone()
    assert row is not None
    return tuple(row)


def _outbox(state: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(state) as db:
        return db.execute("SELECT message_id, payload, sent_at FROM outbox").fetchall()


def _desk_log(state: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(state) as db:
        return db.execute(
            "SELECT user_name, action, question_set_id, question_id, detail FROM desk_log "
            "ORDER BY id"
        ).fetchall()


def _content(item: AnswerItem) -> dict[str, Any]:
    return item.model_dump(mode="python", exclude_none=True, exclude={"question_id", "signature"})


@pytest.mark.parametrize("case", VALID, ids=lambda c: c.name)
def test_a_permitted_answer_is_recorded_sent_and_shown_as_sent(
    make_desk: MakeDesk, case: Case
) -> None:
    desk = make_desk(case.partner, [case.colour])
    n = _index(desk, case.key, case.subject_ref)
    qs, question = desk.sets[0], desk.sets[0].questions[n]
    with desk.signed_in() as client:
        response = _post(client, desk, n, case.posted, follow_redirects=False)
        assert response.status_code == 303, response.text
        assert response.headers["location"].startswith(desk.set_url())
        page = parse(client.get(response.headers["location"]).text)

    delivery = desk.deliver
    assert isinstance(delivery, RecordingDelivery)
    [message] = delivery.sent
    assert message.in_reply_to == qs.message_id
    assert message.partner is case.partner
    assert message.message_id == answer_message_id(
        qs.message_id, case.partner, [question.question_id]
    )
    [item] = message.answers
    assert item.question_id == question.question_id
    assert _content(item) == case.expected

    status, answered_by, message_id = _question_row(desk.state, question.question_id)
    assert (status, answered_by, message_id) == ("answered", "manual", str(message.message_id))
    [(outbox_id, payload, sent_at)] = _outbox(desk.state)
    assert (outbox_id, payload) == (str(message.message_id), None)  # sent: content forgotten
    assert sent_at is not None

    form_id = _section_id(page, question.question_id)
    assert page.text_of(f"{form_id}-status").startswith("Verzonden op")
    assert page.text_of(f"{form_id}-bevestiging") == "Uw antwoord is verzonden."
    assert not any(f.action.endswith(str(question.question_id)) for f in page.answer_forms())
    set_id, question_id = str(qs.message_id), str(question.question_id)
    assert _desk_log(desk.state)[-2:] == [
        (DESK_USER, "answered", set_id, question_id, str(message.message_id)),
        (DESK_USER, "viewed_question_set", str(qs.message_id), None, None),
    ]  # fmt: skip


def _section_id(page: Any, question_id: uuid.UUID) -> str:
    """The id of the question's section (`vraag-<key>-<subject>`), from its form's action."""
    [form] = [f for f in page.forms if f.action.endswith(str(question_id))] or [None]
    if form is not None:
        return str(form.id).removesuffix("-formulier")
    candidates = [i for i in page.ids if i.endswith("-status")]
    assert candidates
    return str(candidates[0]).removesuffix("-status")


def test_record_only_leaves_the_signed_answer_to_the_running_adapter(
    make_desk: MakeDesk,
) -> None:
    desk = make_desk(Partner.LEERPLICHT, [Colour.ROOD], deliver=None)
    qs = desk.sets[0]
    with desk.signed_in() as client:
        response = _post(client, desk, 0, (("antwoord", "ja"), ("toelichting", TEXT)),
                         follow_redirects=True)  # fmt: skip
    assert response.status_code == 200
    page = parse(response.text)
    section = "vraag-schooluitval-inschrijving-jongere"
    assert page.text_of(f"{section}-status").startswith("Vastgelegd, nog niet verzonden")
    assert "De adapter verstuurt het" in page.text_of(f"{section}-bevestiging")
    [(message_id, payload, sent_at)] = _outbox(desk.state)
    assert sent_at is None
    message = decode(payload)
    assert isinstance(message, PartnerAnswer)
    assert str(message.message_id) == message_id
    assert message.in_reply_to == qs.message_id
    assert message.answers[0].toelichting == TEXT


def test_the_desk_records_what_iaj_adapter_answer_records(
    make_desk: MakeDesk, tmp_path: Path
) -> None:
    """The same question set in two state files, answered once at the desk and once with
    `iaj-adapter answer`: the same answer message, byte for byte but for its time."""
    desk = make_desk(Partner.LEERPLICHT, [Colour.ROOD], deliver=None)
    qs = desk.sets[0]
    cli_state = tmp_path / "cli.db"
    record_sets(cli_state, Partner.LEERPLICHT, [qs])
    with desk.signed_in() as client:
        _post(client, desk, 0, (("antwoord", "ja"), ("toelichting", TEXT)))
    result = CliRunner().invoke(
        adapter_cli,
        ["answer", str(qs.questions[0].question_id), "--partner", "leerplicht",
         "--state-db", str(cli_state), "--antwoord", "ja", "--toelichting", TEXT,
         "--record-only"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    [(_, at_desk, _)] = _outbox(desk.state)
    [(_, by_cli, _)] = _outbox(cli_state)
    desk_message, cli_message = decode(at_desk), decode(by_cli)
    assert desk_message.model_copy(update={"created_at": cli_message.created_at}) == cli_message
    desk_questions = table_rows(desk.state)["questions"]
    cli_questions = table_rows(cli_state)["questions"]
    assert [r[:7] + r[8:] for r in desk_questions] == [r[:7] + r[8:] for r in cli_questions]


def test_a_question_is_answered_once(make_desk: MakeDesk) -> None:
    desk = make_desk(Partner.LEERPLICHT, [Colour.GROEN])
    with desk.signed_in() as client:
        token = csrf_of(client.get(desk.set_url()).text)
        first = client.post(desk.answer_url(), data={"csrf_token": token, "antwoord": "ja"})
        before = table_rows(desk.state)
        again = client.post(desk.answer_url(), data={"csrf_token": token, "antwoord": "nee"})
    assert first.status_code == 200  # followed to the question set
    assert again.status_code == 409
    assert "Al beantwoord" in again.text
    assert "niets opnieuw vastgelegd" in again.text
    assert table_rows(desk.state) == before
    delivery = desk.deliver
    assert isinstance(delivery, RecordingDelivery)
    assert len(delivery.sent) == 1
    assert [r[1] for r in _desk_log(desk.state)].count("already_answered") == 1


def test_a_question_past_its_deadline_cannot_be_answered(make_desk: MakeDesk) -> None:
    long = dt.timedelta(days=30)  # the sign-in outlives the deadline, for this test only
    desk = make_desk(Partner.LEERPLICHT, [Colour.GROEN], session_max_age=long, session_idle=long)
    with desk.signed_in() as client:
        token = csrf_of(client.get(desk.set_url()).text)
        before = table_rows(desk.state)
        desk.clock.advance(days=11)
        refused = client.post(desk.answer_url(), data={"csrf_token": token, "antwoord": "ja"})
        shown = client.get(desk.set_url())
        listed = client.get("/")
    assert refused.status_code == 409
    assert "termijn van deze vraag is verstreken" in refused.text
    assert table_rows(desk.state) == before
    page = parse(shown.text)
    assert page.answer_forms() == []
    assert "De termijn is verstreken" in shown.text
    assert "Sem Testbeek" not in shown.text  # past the deadline: no names
    assert parse(listed.text).title.startswith("(0) ")


def test_an_answer_kafka_did_not_take_is_kept_for_the_running_adapter(
    make_desk: MakeDesk, caplog: pytest.LogCaptureFixture
) -> None:
    failing = FailingDelivery()
    desk = make_desk(Partner.LEERPLICHT, [Colour.GROEN], deliver=failing)
    with desk.signed_in() as client:
        response = _post(client, desk, 0, (("antwoord", "ja"),), follow_redirects=True)
    assert response.status_code == 200
    assert failing.calls == 1
    page = parse(response.text)
    section = "vraag-schooluitval-inschrijving-jongere"
    assert "nog niet verzonden" in page.text_of(f"{section}-bevestiging")
    assert page.text_of(f"{section}-status").startswith("Vastgelegd, nog niet verzonden")
    [(_, payload, sent_at)] = _outbox(desk.state)
    assert payload is not None
    assert sent_at is None
    [warning] = [r for r in caplog.records if r.levelname == "WARNING"]
    assert "ConnectionError" in warning.getMessage()
    assert "127.0.0.1:1" not in warning.getMessage()  # the exception's text is not logged


def test_the_municipalitys_refusal_is_shown_where_the_answer_is(make_desk: MakeDesk) -> None:
    desk = make_desk(Partner.LEERPLICHT, [Colour.ROOD])
    qs = desk.sets[0]
    with desk.signed_in() as client:
        _post(client, desk, 0, (("antwoord", "ja"), ("toelichting", TEXT)))
        delivery = desk.deliver
        assert isinstance(delivery, RecordingDelivery)
        [message] = delivery.sent
        _notice(desk.state, qs, message, RefusalReason.FIELD_NOT_PERMITTED, "toelichting")
        shown = parse(client.get(desk.set_url()).text)
        listed = client.get("/").text
    section = "vraag-schooluitval-inschrijving-jongere"
    refused = shown.text_of(f"{section}-geweigerd")
    assert refused.startswith("De gemeente heeft dit antwoord geweigerd op")
    assert "field_not_permitted" in refused
    assert shown.text_of(f"{section}-status").startswith("Verzonden op")
    assert 'data-status="geweigerd"' in listed


def _notice(
    state: Path, qs: QuestionSet, message: PartnerAnswer, reason: RefusalReason, field: str
) -> None:
    notice = RefusalNotice(
        round_id=qs.round_id,
        correlation_id=qs.correlation_id,
        policy=qs.policy,
        partner=qs.partner,
        in_reply_to=message.message_id,
        source=RecordPosition(topic=f"iaj.answers.{qs.partner.value}", partition=0, offset=3),
        reason=reason,
        items=(
            RefusedItem(question_id=message.answers[0].question_id, reason=reason, field=field),
        ),
        colour=qs.colour,
        explanation=reason.explanation,
    )

    async def work() -> None:
        store = await AdapterStore.open(state, qs.partner)
        try:
            outcome = await receive_refusal_notice(encode(notice), store, qs.partner)
            assert outcome.new
        finally:
            await store.close()

    asyncio.run(work())


# -- crafted posts ------------------------------------------------------------------------------

LONG = "x" * 281


@dataclass(frozen=True)
class Crafted:
    name: str
    partner: Partner
    colour: Colour
    key: str
    posted: tuple[tuple[str, str], ...]
    reason: str
    says: str  # part of the Dutch reason


CRAFTED = [
    Crafted("extra_field", Partner.LEERPLICHT, Colour.GROEN, "schooluitval_inschrijving",
            (("antwoord", "ja"), ("adres", "Teststraat 1")), "extra_field",
            "dat bij geen enkel antwoord hoort"),
    Crafted("question_id_field", Partner.LEERPLICHT, Colour.GROEN, "schooluitval_inschrijving",
            (("antwoord", "ja"), ("question_id", str(uuid.uuid4()))), "extra_field",
            "dat bij geen enkel antwoord hoort"),
    Crafted("toelichting_on_ja_nee", Partner.LEERPLICHT, Colour.GROEN,
            "schooluitval_inschrijving", (("antwoord", "ja"), ("toelichting", "meer")),
            "field_not_permitted", "mag de toelichting niet worden meegestuurd"),
    Crafted("domeinen_on_ja_nee", Partner.VEILIGHEIDSHUIS, Colour.ORANJE, "risico_voor_gezin",
            (("antwoord", "ja"), ("domeinen", "financien")), "field_not_permitted",
            "mag op welke leefgebieden niet worden meegestuurd"),
    Crafted("domeinen_on_nee", Partner.VEILIGHEIDSHUIS, Colour.ORANJE, "risicosignalen",
            (("antwoord", "nee"), ("domeinen", "financien")), "content_on_nee",
            "Bij 'nee' hoort geen verdere invulling"),
    Crafted("met_wie_on_nee", Partner.VERWIJSINDEX, Colour.GROEN, "vir_match",
            (("antwoord", "nee"), ("met_wie", "cjg")), "content_on_nee",
            "Bij 'nee' hoort geen verdere invulling"),
    Crafted("detail_on_nee", Partner.WONINGCORPORATIE, Colour.ROOD, "woonsignalen",
            (("antwoord", "nee"), ("detail.overlastsignalen", "ja")), "content_on_nee",
            "Bij 'nee' hoort geen verdere invulling"),
    Crafted("toelichting_too_long", Partner.LEERPLICHT, Colour.ROOD, "schooluitval_inschrijving",
            (("antwoord", "ja"), ("toelichting", LONG)), "text_too_long",
            "hoogstens 280 tekens (u gebruikte 281)"),
    Crafted("detail_text_too_long", Partner.WONINGCORPORATIE, Colour.ROOD, "woonsignalen",
            (("antwoord", "ja"), ("detail.overige_bijzonderheden", "y" * 201)), "text_too_long",
            "hoogstens 200 tekens"),
    Crafted("unknown_domain", Partner.VEILIGHEIDSHUIS, Colour.ORANJE, "risicosignalen",
            (("antwoord", "ja"), ("domeinen", "schulden")), "invalid_value",
            "Kies alleen leefgebieden uit de lijst"),
    Crafted("domain_twice", Partner.VEILIGHEIDSHUIS, Colour.ORANJE, "risicosignalen",
            (("antwoord", "ja"), ("domeinen", "financien"), ("domeinen", "financien")),
            "invalid_value", "elk hoogstens één keer"),
    Crafted("unknown_organisation", Partner.VERWIJSINDEX, Colour.GROEN, "vir_match",
            (("antwoord", "ja"), ("met_wie", "politie")), "invalid_value",
            "Kies alleen organisaties uit de lijst"),
    Crafted("detail_number_not_a_number", Partner.CJIB, Colour.ROOD, "overzicht_openstaand",
            (("antwoord", "ja"), ("detail.aantal_vorderingen", "drie")), "invalid_value",
            "een heel getal van 0 of meer"),
    Crafted("detail_negative_number", Partner.CJIB, Colour.ROOD, "overzicht_openstaand",
            (("antwoord", "ja"), ("detail.aantal_vorderingen", "-1")), "invalid_value",
            "een heel getal van 0 of meer"),
    Crafted("detail_ja_nee_not_ja_nee", Partner.WONINGCORPORATIE, Colour.ROOD, "woonsignalen",
            (("antwoord", "ja"), ("detail.overlastsignalen", "misschien")), "invalid_value",
            "'ja', 'nee' of 'niet invullen'"),
    Crafted("unknown_detail_field", Partner.WONINGCORPORATIE, Colour.ROOD, "woonsignalen",
            (("antwoord", "ja"), ("detail.bsn", "123456789")), "unknown_detail_field",
            "hoort niet bij deze vraag"),
    Crafted("no_answer", Partner.LEERPLICHT, Colour.GROEN, "schooluitval_inschrijving",
            (), "invalid_value", "Kies 'ja' of 'nee'"),
    Crafted("answer_not_ja_or_nee", Partner.LEERPLICHT, Colour.GROEN,
            "schooluitval_inschrijving", (("antwoord", "misschien"),), "invalid_value",
            "Kies 'ja' of 'nee'"),
    Crafted("answer_twice", Partner.LEERPLICHT, Colour.GROEN, "schooluitval_inschrijving",
            (("antwoord", "ja"), ("antwoord", "nee")), "invalid_value", "Kies 'ja' of 'nee'"),
    Crafted("toelichting_twice", Partner.LEERPLICHT, Colour.ROOD, "schooluitval_inschrijving",
            (("antwoord", "ja"), ("toelichting", "a"), ("toelichting", "b")), "invalid_value",
            "niet toegestaan"),
]  # fmt: skip


@pytest.mark.parametrize("crafted", CRAFTED, ids=lambda c: c.name)
def test_a_crafted_post_is_refused_in_dutch_and_nothing_is_recorded(
    make_desk: MakeDesk, crafted: Crafted
) -> None:
    desk = make_desk(crafted.partner, [crafted.colour])
    n = next(i for i, q in enumerate(desk.sets[0].questions) if q.key == crafted.key)
    question = desk.sets[0].questions[n]
    with desk.signed_in() as client:
        token = csrf_of(client.get(desk.set_url()).text)
        before = table_rows(desk.state)
        response = client.post(
            desk.answer_url(0, n),
            content=_urlencode([("csrf_token", token), *crafted.posted]),
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
    assert response.status_code == 422
    page = parse(response.text)
    [form] = [f for f in page.answer_forms() if f.action.endswith(str(question.question_id))]
    error = page.text_of(f"{form.id.removesuffix('-formulier')}-fout")  # type: ignore[union-attr]
    assert error.startswith("Niet verstuurd.")
    assert crafted.says in error, error
    assert error in page.text_of("foutmelding")  # also above the questions, with a link
    assert page.text_of("naar-fout") == "Naar de vraag"
    assert table_rows(desk.state) == before  # no answer, no outbox, no refusal record
    delivery = desk.deliver
    assert isinstance(delivery, RecordingDelivery)
    assert delivery.sent == []
    [refused] = [r for r in _desk_log(desk.state) if r[1] == "answer_refused"]
    assert refused[:4] == (DESK_USER, "answer_refused", str(desk.sets[0].message_id),
                           str(question.question_id))  # fmt: skip
    assert refused[4].split()[0] == crafted.reason
    assert all(value not in (refused[4] or "") for _, value in crafted.posted if len(value) > 3)


def test_what_was_typed_is_shown_again_with_the_reason(make_desk: MakeDesk) -> None:
    desk = make_desk(Partner.LEERPLICHT, [Colour.ROOD])
    with desk.signed_in() as client:
        response = _post(client, desk, 0, (("antwoord", "ja"), ("toelichting", LONG)))
    assert response.status_code == 422
    page = parse(response.text)
    form = page.form("vraag-schooluitval-inschrijving-jongere-formulier")
    assert form.control("toelichting").text == LONG
    checked = [
        c.attrs["value"] for c in form.controls if c.name == "antwoord" and "checked" in c.attrs
    ]
    assert checked == ["ja"]
    assert (
        page.text_of("vraag-schooluitval-inschrijving-jongere-toelichting-teller")
        == "281 / 280 tekens"
    )


def test_a_question_the_local_policy_does_not_ask_this_richly_has_no_form(
    make_desk: MakeDesk,
) -> None:
    plain = question_set(Partner.LEERPLICHT, Colour.GROEN)
    [asked] = plain.questions
    richer = asked.model_copy(update={"shape": AnswerShape.JA_NEE_TOELICHTING, "text_limit": 280})
    qs = plain.model_copy(update={"questions": (richer,)})
    desk = make_desk(Partner.LEERPLICHT, sets=[qs])
    with desk.signed_in() as client:
        shown = client.get(desk.set_url())
        token = csrf_of(shown.text)
        before = table_rows(desk.state)
        posted = client.post(desk.answer_url(), data={"csrf_token": token, "antwoord": "nee"})
    page = parse(shown.text)
    assert page.answer_forms() == []
    assert "vraagt meer dan de afspraken bij dit label toestaan" in shown.text
    assert posted.status_code == 422
    assert "vraagt meer dan de afspraken" in parse(posted.text).text_of("foutmelding")
    assert table_rows(desk.state) == before


def test_an_unknown_question_or_set_is_not_found(make_desk: MakeDesk) -> None:
    desk = make_desk(Partner.LEERPLICHT, [Colour.GROEN])
    with desk.signed_in() as client:
        token = csrf_of(client.get(desk.set_url()).text)
        other = f"{desk.set_url()}/vragen/{uuid.uuid4()}"
        assert client.post(other, data={"csrf_token": token, "antwoord": "ja"}).status_code == 404
        assert client.get(f"/vragensets/{uuid.uuid4()}").status_code == 404
        assert client.get("/vragensets/niet-een-id").status_code == 404
    assert _outbox(desk.state) == []


def test_a_large_post_is_refused_before_it_is_read(make_desk: MakeDesk) -> None:
    desk = make_desk(Partner.LEERPLICHT, [Colour.ROOD])
    with desk.signed_in() as client:
        token = csrf_of(client.get(desk.set_url()).text)
        before = table_rows(desk.state)
        response = client.post(
            desk.answer_url(),
            data={"csrf_token": token, "antwoord": "ja", "toelichting": "z" * 70_000},
        )
    assert response.status_code == 413
    assert table_rows(desk.state) == before
