"""The list of pending question sets, the security headers on every response, and no
personal data in any URL or log line; every view and answer in the desk's log."""

from __future__ import annotations

import datetime as dt
import logging
import re
import sqlite3
from typing import Any

import pytest

from contracts import Colour, Partner
from partner_adapters.desk.headers import CONTENT_SECURITY_POLICY
from partner_adapters.desk.wording import format_date
from tests.support.desk import DESK_USER, csrf_of, sign_in
from tests.unit.partner_adapters.desk.conftest import Desk, MakeDesk
from tests.unit.partner_adapters.desk.html import parse

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
# Every URL the desk links to, posts to or redirects to: fixed paths and opaque ids.
ALLOWED_URL = re.compile(
    rf"^(/|/aanmelden|/afmelden|/static/desk\.(css|js)|/vragensets/{UUID}"
    rf"(/vragen/{UUID})?(#[a-z0-9-]+)?|#[a-z0-9-]+)$"
)


def test_the_list_shows_the_pending_sets_oldest_first_with_a_count(make_desk: MakeDesk) -> None:
    desk = make_desk(Partner.VEILIGHEIDSHUIS, [Colour.ORANJE, Colour.ROOD, Colour.ORANJE])
    with desk.signed_in() as client:
        response = client.get("/")
    page = parse(response.text)
    assert page.title == "(3) Openstaande vragen \N{EN DASH} IAJ-balie"
    assert page.lang == "nl"
    order = re.findall(rf'data-question-set-id="({UUID})"', response.text)
    assert order == [str(qs.message_id) for qs in desk.sets]  # received oldest first
    first = page.text_of("vragenset-1")
    assert first == "Sem Testbeek"
    youth = desk.sets[0].subjects[0]
    assert format_date(youth.geboortedatum) in response.text
    assert "Noor Testbeek, geboren 30 mei 1981" in response.text  # family, where present
    assert page.text_of("vragenset-2-label") == "Rood"
    assert "2 dagen" in response.text  # waiting since
    assert "Uiterlijk beantwoorden" in response.text
    assert page.text_of("aantal").startswith("3 vragensets wachten op antwoord")


def test_a_groen_set_lists_no_family(make_desk: MakeDesk) -> None:
    desk = make_desk(Partner.LEERPLICHT, [Colour.GROEN])
    with desk.signed_in() as client:
        response = client.get("/")
    assert "Gezinsleden" not in response.text
    assert parse(response.text).title.startswith("(1) ")


def test_an_answered_set_leaves_the_list_and_shows_under_recent(make_desk: MakeDesk) -> None:
    desk = make_desk(Partner.LEERPLICHT, [Colour.GROEN, Colour.GROEN])
    with desk.signed_in() as client:
        token = csrf_of(client.get(desk.set_url()).text)
        client.post(desk.answer_url(), data={"csrf_token": token, "antwoord": "nee"})
        listed = client.get("/")
        answered = client.get(desk.set_url())
    page = parse(listed.text)
    assert page.title.startswith("(1) ")
    assert str(desk.sets[0].message_id) not in listed.text.split('id="onlangs"')[0]
    recent = page.text_of("onlangs-lijst")
    assert "schooluitval_inschrijving" in recent
    assert f"door {DESK_USER}" in recent
    assert "Verzonden op" in recent
    # The set's people are purged once nothing about them is open: the page says so.
    assert "Sem Testbeek" not in answered.text
    assert "De namen worden niet meer bewaard" in answered.text


def _responses(client: Any, desk: Desk) -> dict[str, Any]:
    token = csrf_of(client.get(desk.set_url()).text)
    return {
        "list": client.get("/"),
        "set": client.get(desk.set_url()),
        "refused": client.post(
            desk.answer_url(), data={"csrf_token": token, "antwoord": "ja", "extra": "x"}
        ),
        "forbidden": client.post(desk.answer_url(), data={"antwoord": "ja"}),
        "not found": client.get("/bestaat-niet"),
        "not allowed": client.delete("/"),
        "answered": client.post(
            desk.answer_url(), data={"csrf_token": token, "antwoord": "ja"}, follow_redirects=False
        ),
    }


def test_every_response_carries_the_security_headers(make_desk: MakeDesk) -> None:
    desk = make_desk(Partner.LEERPLICHT, [Colour.GROEN])
    with desk.client() as client:
        anonymous = {
            "sign-in": client.get("/aanmelden"),
            "redirect": client.get("/", follow_redirects=False),
            "css": client.get("/static/desk.css"),
            "health": client.get("/health/live"),
            "icon": client.get("/favicon.ico"),  # browsers ask for it on every page
        }
        sign_in(client)
        seen = {**anonymous, **_responses(client, desk)}
    assert {name: r.status_code for name, r in seen.items()} == {
        "sign-in": 200, "redirect": 303, "css": 200, "health": 200, "icon": 204, "list": 200,
        "set": 200,
        "refused": 422, "forbidden": 403, "not found": 404, "not allowed": 405, "answered": 303,
    }  # fmt: skip
    for name, response in seen.items():
        headers = response.headers
        assert headers["content-security-policy"] == CONTENT_SECURITY_POLICY, name
        assert "script-src 'self'" in CONTENT_SECURITY_POLICY
        assert "unsafe-inline" not in CONTENT_SECURITY_POLICY
        assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY
        assert headers["x-content-type-options"] == "nosniff", name
        assert headers["referrer-policy"] == "no-referrer", name
        assert headers["x-frame-options"] == "DENY", name
        expected_cache = "no-cache" if name == "css" else "no-store"
        assert headers["cache-control"] == expected_cache, name


def test_the_pages_load_nothing_from_elsewhere(make_desk: MakeDesk) -> None:
    desk = make_desk(Partner.WONINGCORPORATIE, [Colour.ROOD])
    with desk.signed_in() as client:
        pages = [client.get("/"), client.get(desk.set_url()), client.get("/aanmelden")]
    for response in pages:
        page = parse(response.text)
        assert all(url.startswith(("/", "#")) and not url.startswith("//") for url in page.urls)
        assert (page.inline_scripts, page.styles, page.style_attributes) == ([], 0, 0)
        assert page.event_attributes == []


def test_no_personal_data_in_any_url_or_log_line(
    make_desk: MakeDesk, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    desk = make_desk(Partner.VEILIGHEIDSHUIS, [Colour.ORANJE, Colour.ROOD])
    typed = "Synthetische toelichting die niet in een log mag"
    urls: list[str] = []
    with desk.client() as client:
        urls.append(client.get("/", follow_redirects=False).headers["location"])
        sign_in(client)
        pages = [client.get("/"), *(client.get(desk.set_url(n)) for n in range(2))]
        token = csrf_of(pages[0].text)
        for n, qs in enumerate(desk.sets):
            for q, question in enumerate(qs.questions):
                posted = {"csrf_token": token, "antwoord": "ja"}
                if question.shape.value == "ja_nee_domeinen":
                    posted["domeinen"] = "financien"
                answer = client.post(desk.answer_url(n, q), data=posted, follow_redirects=False)
                assert answer.status_code in (303, 422)
                urls.append(answer.headers.get("location", ""))
        refused = client.post(
            desk.answer_url(0, 0),
            data={"csrf_token": token, "antwoord": "ja", "toelichting": typed},
        )
        pages += [refused, client.get("/")]
        client.post("/afmelden", data={"csrf_token": csrf_of(client.get("/").text)})
    for response in pages:
        urls += parse(response.text).urls
        urls.append(str(response.url))
    paths = [re.sub(r"^http://testserver", "", u) for u in urls if u]
    assert paths
    assert all(ALLOWED_URL.match(p) for p in paths), [p for p in paths if not ALLOWED_URL.match(p)]
    personal = {s.naam for qs in desk.sets for s in qs.subjects}
    personal |= {s.geboortedatum.isoformat() for qs in desk.sets for s in qs.subjects}
    personal |= {format_date(s.geboortedatum) for qs in desk.sets for s in qs.subjects}
    personal |= {typed, DESK_USER, "financien"}
    assert caplog.records  # the desk logged its answers
    for record in caplog.records:
        line = f"{record.getMessage()} {record.__dict__}"
        assert not [p for p in personal if p in line], line


def test_views_and_answers_are_in_the_desk_log_with_the_user_and_no_content(
    make_desk: MakeDesk,
) -> None:
    desk = make_desk(Partner.LEERPLICHT, [Colour.ROOD])
    qs = desk.sets[0]
    typed = "Synthetisch: besproken met de school."
    with desk.signed_in() as client:
        token = csrf_of(client.get(desk.set_url()).text)
        client.post(
            desk.answer_url(), data={"csrf_token": token, "antwoord": "ja", "toelichting": typed}
        )
    with sqlite3.connect(desk.state) as db:
        rows = db.execute(
            "SELECT at, user_name, action, question_set_id, question_id, detail FROM desk_log "
            "ORDER BY id"
        ).fetchall()
        dump = "\n".join(db.iterdump())
    actions = [(r[1], r[2], r[3], r[4]) for r in rows]
    set_id, question_id = str(qs.message_id), str(qs.questions[0].question_id)
    assert actions == [
        (DESK_USER, "signed_in", None, None),
        (DESK_USER, "viewed_list", None, None),
        (DESK_USER, "viewed_question_set", set_id, None),
        (DESK_USER, "answered", set_id, question_id),
        (DESK_USER, "viewed_question_set", set_id, None),  # the page it lands on
    ]
    assert all(dt.datetime.fromisoformat(r[0].replace("Z", "+00:00")) for r in rows)
    assert typed not in dump  # sent: the answer's content is gone from the state file


def test_what_the_municipality_sent_is_shown_as_text_never_as_markup(
    make_desk: MakeDesk,
) -> None:
    from tests.unit.partner_adapters.builders import question_set

    qs = question_set(Partner.LEERPLICHT, Colour.GROEN)
    youth = qs.subjects[0].model_copy(update={"naam": '<script>alert("x")</script> Testbeek'})
    asked = qs.questions[0].model_copy(update={"text": "Is er <b>iets</b>?"})
    desk = make_desk(
        Partner.LEERPLICHT,
        sets=[qs.model_copy(update={"subjects": (youth,), "questions": (asked,)})],
    )
    with desk.signed_in() as client:
        pages = [client.get("/").text, client.get(desk.set_url()).text]
    for html in pages:
        assert "<script>alert" not in html
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; Testbeek" in html
        assert parse(html).inline_scripts == []
    assert "Is er &lt;b&gt;iets&lt;/b&gt;?" in pages[1]
