"""Nothing with personal data without a user: sign-in, sessions that end, CSRF on every
form, and the reverse proxy's header believed from the proxy only."""

from __future__ import annotations

import ipaddress
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from contracts import Colour, Partner
from tests.support.desk import (
    DESK_PASSWORD,
    DESK_USER,
    csrf_of,
    sign_in,
    table_rows,
    write_users_file,
)
from tests.unit.partner_adapters.desk.conftest import Desk, MakeDesk
from tests.unit.partner_adapters.desk.html import parse

SIGN_IN = "/aanmelden"


def _names(desk: Desk) -> list[str]:
    """The synthetic people of the desk's question sets, as they could appear in a page."""
    return sorted({s.naam for qs in desk.sets for s in qs.subjects})


def _pages(desk: Desk) -> list[str]:
    return ["/", desk.set_url(), "/vragensets/00000000-0000-4000-8000-000000000000"]


def test_no_page_with_personal_data_is_served_without_sign_in(make_desk: MakeDesk) -> None:
    desk = make_desk(Partner.VEILIGHEIDSHUIS, [Colour.ORANJE])
    with desk.client() as client:
        for path in _pages(desk):
            response = client.get(path, follow_redirects=False)
            assert response.status_code in (303, 404), path
            if response.status_code == 303:
                assert response.headers["location"] == SIGN_IN
            assert not any(name in response.text for name in _names(desk))
        token = csrf_of(client.get(SIGN_IN).text)  # a session, but no sign-in
        before = table_rows(desk.state)
        for path in (desk.answer_url(), "/afmelden"):
            response = client.post(path, data={"csrf_token": token, "antwoord": "ja"})
            assert response.status_code == 401, path
            assert "Niet aangemeld" in response.text
        assert table_rows(desk.state) == before
        page = client.get(SIGN_IN)
    assert page.status_code == 200
    assert not any(name in page.text for name in _names(desk))


def test_what_needs_no_sign_in_holds_no_personal_data(make_desk: MakeDesk) -> None:
    desk = make_desk(Partner.LEERPLICHT)
    with desk.client() as client:
        assert client.get("/health/live").text == "ok"
        css = client.get("/static/desk.css")
        js = client.get("/static/desk.js")
    assert css.status_code == js.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    assert "javascript" in js.headers["content-type"]


def test_a_wrong_password_or_an_unknown_user_signs_nobody_in(make_desk: MakeDesk) -> None:
    desk = make_desk(Partner.LEERPLICHT)
    with desk.client() as client:
        for user, password in ((DESK_USER, "niet-het-wachtwoord"), ("onbekend", DESK_PASSWORD)):
            response = sign_in(client, user, password)
            assert response.status_code == 401
            assert "Onbekende gebruikersnaam of onjuist wachtwoord." in response.text
            assert client.get("/", follow_redirects=False).status_code == 303
        assert sign_in(client).status_code == 200
        assert client.get("/", follow_redirects=False).status_code == 200
    with sqlite3.connect(desk.state) as db:
        actions = [r[0] for r in db.execute("SELECT action FROM desk_log ORDER BY id")]
    assert actions[:2] == ["signed_in", "viewed_list"]  # failures leave no name behind


def test_repeated_failures_block_the_name_for_a_while(make_desk: MakeDesk) -> None:
    desk = make_desk(Partner.LEERPLICHT)
    with desk.client() as client:
        for _ in range(5):
            assert sign_in(client, DESK_USER, "fout-wachtwoord-0").status_code == 401
        blocked = sign_in(client)
        assert blocked.status_code == 429
        assert "Te veel mislukte pogingen" in blocked.text
        desk.clock.advance(minutes=16)
        assert sign_in(client).status_code == 200


def test_a_session_ends_when_idle_and_after_its_maximum_age(make_desk: MakeDesk) -> None:
    desk = make_desk(Partner.LEERPLICHT)
    with desk.signed_in() as client:
        desk.clock.advance(minutes=29)
        assert client.get("/", follow_redirects=False).status_code == 200
        desk.clock.advance(minutes=31)
        assert client.get("/", follow_redirects=False).headers["location"] == SIGN_IN
    with desk.signed_in() as client:
        for _ in range(8 * 3):  # busy all day: never idle, but 8 hours is the limit
            assert client.get("/", follow_redirects=False).status_code == 200
            desk.clock.advance(minutes=20)
        assert client.get("/", follow_redirects=False).headers["location"] == SIGN_IN


def test_signing_out_ends_the_session_on_the_server(make_desk: MakeDesk) -> None:
    desk = make_desk(Partner.LEERPLICHT)
    with desk.signed_in() as client:
        kept = dict(client.cookies)
        token = csrf_of(client.get("/").text)
        out = client.post("/afmelden", data={"csrf_token": token}, follow_redirects=False)
        assert (out.status_code, out.headers["location"]) == (303, SIGN_IN)
        client.cookies.clear()
        client.cookies.update(kept)  # the old cookie, replayed
        assert client.get("/", follow_redirects=False).headers["location"] == SIGN_IN


def test_a_user_removed_from_the_users_file_is_signed_out(make_desk: MakeDesk) -> None:
    desk = make_desk(
        Partner.LEERPLICHT, users={DESK_USER: DESK_PASSWORD, "a.ander": "ander-wachtwoord-2"}
    )
    with desk.signed_in() as client:
        write_users_file(desk.users_file, {"a.ander": "ander-wachtwoord-2"})
        assert client.get("/", follow_redirects=False).headers["location"] == SIGN_IN


def test_the_session_cookie_is_httponly_strict_and_renewed_at_sign_in(make_desk: MakeDesk) -> None:
    desk = make_desk(Partner.LEERPLICHT)
    with desk.client() as client:
        page = client.get(SIGN_IN)
        before = csrf_of(page.text)
        cookie = page.headers["set-cookie"].lower()
        assert "httponly" in cookie
        assert "samesite=strict" in cookie
        assert "secure" not in cookie  # on loopback; see the next test
        landed = sign_in(client)
        assert csrf_of(landed.text) != before  # a new session: a new token


def test_secure_cookies_use_the_host_prefix(make_desk: MakeDesk) -> None:
    desk = make_desk(Partner.LEERPLICHT, secure_cookies=True)
    with desk.client(base_url="https://testserver") as client:
        cookie = client.get(SIGN_IN).headers["set-cookie"].lower()
        assert cookie.startswith("__host-iaj-balie=")
        assert "; secure" in cookie
        assert "path=/" in cookie
        assert sign_in(client).status_code == 200


# -- CSRF -------------------------------------------------------------------------------------


@pytest.mark.parametrize("token", [None, "", "nep-token", "other-session"])
def test_a_post_without_this_sessions_token_is_refused_and_nothing_recorded(
    make_desk: MakeDesk, token: str | None
) -> None:
    desk = make_desk(Partner.LEERPLICHT, [Colour.ROOD])
    with desk.client() as other:
        foreign = csrf_of(other.get(SIGN_IN).text)
    with desk.signed_in() as client:
        client.get(desk.set_url())
        before = table_rows(desk.state)
        data: dict[str, Any] = {"antwoord": "ja", "toelichting": "Synthetisch."}
        if token is not None:
            data["csrf_token"] = foreign if token == "other-session" else token
        response = client.post(desk.answer_url(), data=data)
        assert response.status_code == 403
        assert "er is niets vastgelegd of verstuurd" in response.text
        assert table_rows(desk.state) == before
        signed_out = client.post(
            "/afmelden", data={k: v for k, v in data.items() if k == "csrf_token"}
        )
        assert signed_out.status_code == 403
        assert client.get("/", follow_redirects=False).status_code == 200  # still signed in


def test_the_sign_in_form_needs_its_token_too(make_desk: MakeDesk) -> None:
    desk = make_desk(Partner.LEERPLICHT)
    with desk.client() as client:
        client.get(SIGN_IN)
        response = client.post(
            SIGN_IN, data={"gebruikersnaam": DESK_USER, "wachtwoord": DESK_PASSWORD}
        )
        assert response.status_code == 403
        assert client.get("/", follow_redirects=False).status_code == 303


# -- the reverse proxy's header ----------------------------------------------------------------

PROXY = "10.20.30.40"
HEADER = "X-Remote-User"


def _proxied(make_desk: MakeDesk, *, users: bool) -> Desk:
    desk = make_desk(
        Partner.LEERPLICHT,
        [Colour.GROEN],
        trusted_header=HEADER,
        trusted_proxies=(ipaddress.ip_network(f"{PROXY}/32"),),
    )
    if not users:
        from dataclasses import replace

        desk.config = replace(desk.config, users=None)
    return desk


def test_the_proxy_header_signs_in_only_from_the_proxy(make_desk: MakeDesk) -> None:
    desk = _proxied(make_desk, users=False)
    user = {HEADER: "p.proxygebruiker"}
    with desk.client(client=(PROXY, 50000)) as via_proxy:
        listed = via_proxy.get("/", headers=user, follow_redirects=False)
        assert listed.status_code == 200
        assert "Aangemeld als p.proxygebruiker" in listed.text
        shown = via_proxy.get(desk.set_url(), headers=user)
        token = csrf_of(shown.text)
        answered = via_proxy.post(
            desk.answer_url(), data={"csrf_token": token, "antwoord": "nee"}, headers=user
        )
        assert answered.status_code == 200
        assert via_proxy.get("/", follow_redirects=False).status_code == 303  # no header
    with desk.client(client=("10.20.30.41", 50000)) as elsewhere:
        refused = elsewhere.get("/", headers=user, follow_redirects=False)
        assert (refused.status_code, refused.headers["location"]) == (303, SIGN_IN)
        page = elsewhere.get(SIGN_IN, headers=user)
        assert page.status_code == 401
        assert parse(page.text).forms == []  # no users file: no sign-in form
        assert "portaal van uw organisatie" in page.text
    with sqlite3.connect(desk.state) as db:
        users = {r[0] for r in db.execute("SELECT user_name FROM desk_log")}
        answered_by = db.execute(
            "SELECT user_name FROM desk_log WHERE action = 'answered'"
        ).fetchall()
    assert users == {"p.proxygebruiker"}
    assert answered_by == [("p.proxygebruiker",)]


def test_with_both_a_non_proxy_client_still_signs_in_with_a_password(make_desk: MakeDesk) -> None:
    desk = _proxied(make_desk, users=True)
    with desk.client(client=("192.0.2.10", 50000)) as client:
        ignored = client.get("/", headers={HEADER: DESK_USER}, follow_redirects=False)
        assert ignored.status_code == 303
        assert sign_in(client).status_code == 200


def test_a_state_file_of_before_the_desk_gets_its_log_table(tmp_path: Path) -> None:
    import asyncio

    from partner_adapters.state import AdapterStore
    from partner_adapters.state.schema import SCHEMA

    old = tmp_path / "old.db"
    with sqlite3.connect(old) as db:  # the schema as it was, without desk_log
        db.executescript(SCHEMA)
        db.execute("DROP TABLE desk_log")
        db.execute("INSERT INTO adapter_meta VALUES ('partner', 'cjg'), ('schema_version', '1')")
    with sqlite3.connect(old) as db:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "desk_log" not in tables
    assert "outbox" in tables

    async def reopen() -> None:
        store = await AdapterStore.open(old, Partner.CJG)
        await store.close()

    asyncio.run(reopen())
    with sqlite3.connect(old) as db:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "desk_log" in tables
