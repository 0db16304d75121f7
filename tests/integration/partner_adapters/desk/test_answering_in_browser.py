"""A caseworker at the desk in a real headless Chromium: signs in, sees the pending question
sets, answers every shape of question, and sees each answer sent. The follow-up fields of a
`ja` appear only after `ja`; without JavaScript every form still works.

Screenshots of the list and of a rood question set are saved in test-artifacts/desk/.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.async_api import Page, expect

from contracts import AnswerItem, Colour, LifeDomain, Partner, YesNo
from tests.integration.partner_adapters.desk.conftest import ServeDesk
from tests.support.browser import Browser, PageWatch, save_screenshot
from tests.support.desk import DESK_PASSWORD, DESK_USER, desk_list_title, sign_in_at_desk
from tests.unit.partner_adapters.builders import DAAN, SEM

pytestmark = pytest.mark.integration


def _content(item: AnswerItem) -> dict[str, Any]:
    """What an answer says, without its question id and signature."""
    return item.model_dump(mode="json", exclude={"question_id", "signature"}, exclude_none=True)


async def _expect_sent(page: Page, form_id: str) -> None:
    await expect(page.locator(f"#{form_id}-bevestiging")).to_have_text("Uw antwoord is verzonden.")
    status = page.locator(f"#{form_id}-status")
    await expect(status).to_have_attribute("data-status", "verzonden")
    await expect(page.locator(f"#{form_id}")).to_have_attribute("data-state", "answered")
    await expect(page.locator(f"#{form_id}-formulier")).to_have_count(0)


async def test_a_caseworker_signs_in_sees_the_list_and_answers_a_rood_set(
    browser: Browser, serve_desk: ServeDesk
) -> None:
    desk = await serve_desk(Partner.LEERPLICHT, [(Colour.GROEN, DAAN), (Colour.ROOD, SEM)])
    async with browser.context() as context:
        watch = PageWatch.on(context)
        page = await context.new_page()

        # A wrong password first: refused, in Dutch, and nothing shown.
        await page.goto(f"{desk.url}/")
        await expect(page).to_have_url(f"{desk.url}/aanmelden")
        await expect(page).to_have_title("Aanmelden")
        await page.locator("#gebruikersnaam").fill(DESK_USER)
        await page.locator("#wachtwoord").fill(DESK_PASSWORD + "-fout")
        await page.locator("#aanmelden").click()
        await expect(page.locator("#aanmelden-fout")).to_have_text(
            "Onbekende gebruikersnaam of onjuist wachtwoord."
        )
        await expect(page.get_by_text("Sem Testbeek")).to_have_count(0)

        await sign_in_at_desk(page, desk.url)
        await expect(page).to_have_title(desk_list_title(2))
        await expect(page.locator("#aantal")).to_have_attribute("data-count", "2")
        # Oldest first: Daan's groen set came in an hour before Sem's rood one.
        await expect(page.locator("#vragenset-1")).to_have_text(DAAN.naam)
        await expect(page.locator("#vragenset-1-label")).to_have_text("Groen")
        await expect(page.locator("#vragenset-2")).to_have_text(SEM.naam)
        await expect(page.locator("#vragenset-2-label")).to_have_text("Rood")
        rows = page.locator("li.vragenset")
        await expect(rows.nth(0)).to_have_attribute(
            "data-question-set-id", str(desk.sets[0].message_id)
        )
        await expect(rows.nth(1)).to_contain_text("Noor Testbeek, geboren 30 mei 1981")
        await expect(rows.nth(1)).to_contain_text("Uiterlijk beantwoorden")
        await save_screenshot(page, "desk", "lijst.png")

        await page.locator("#vragenset-2").click()
        await expect(page).to_have_url(desk.set_url(1))
        await expect(page).to_have_title("Vragenset (rood) \N{EN DASH} IAJ-balie")
        await expect(page.locator("#label")).to_have_text("Rood")
        await expect(page.locator("#jongere")).to_have_text(f"{SEM.naam}, geboren 14 maart 2008")
        await save_screenshot(page, "desk", "vragenset-rood.png")

        # ja_nee_toelichting: the text area appears after "ja" and counts as one types.
        uitval = desk.form_id(1, "schooluitval_inschrijving")
        await page.locator(f"#{uitval}-antwoord-ja").check()
        text = "Sinds januari niet ingeschreven; traject met school loopt."
        await page.locator(f"#{uitval}-toelichting").press_sequentially(text)
        await expect(page.locator(f"#{uitval}-toelichting-teller")).to_have_text(
            f"{len(text)} / 280 tekens"
        )
        await save_screenshot(page, "desk", "vragenset-rood-ja-met-toelichting.png")
        await page.locator(f"#{uitval}-verstuur").click()
        await _expect_sent(page, uitval)

        # ja_nee: two radio buttons and nothing else.
        vir = desk.form_id(1, "vir_match")
        await expect(page.locator(f"#{vir}-bij-ja")).to_have_count(0)
        await page.locator(f"#{vir}-antwoord-nee").check()
        await page.locator(f"#{vir}-verstuur").click()
        await _expect_sent(page, vir)
        uitval_status = page.locator(f"#{uitval}-status")
        await expect(uitval_status).to_have_attribute("data-status", "verzonden")

        assert [_content(i) for i in desk.sent_items()] == [
            {"antwoord": "ja", "toelichting": text},
            {"antwoord": "nee"},
        ]

        # Back to the list: one set left; the answers under "recently answered".
        await page.locator("#terug-naar-overzicht").click()
        await expect(page).to_have_title(desk_list_title(1))
        await expect(page.locator("#vragenset-1")).to_have_text(DAAN.naam)
        recent = page.locator("#onlangs-lijst li")
        await expect(recent).to_have_count(2)
        await expect(page.locator('#onlangs-lijst li[data-status="verzonden"]')).to_have_count(2)
        await expect(page.locator("#onlangs-lijst")).to_contain_text(f"door {DESK_USER}")

        await page.locator("#afmelden").click()
        await expect(page).to_have_url(f"{desk.url}/aanmelden")
        await page.goto(f"{desk.url}/")
        await expect(page).to_have_url(f"{desk.url}/aanmelden")

    # Nothing the pages needed came from anywhere but the desk, and nothing went wrong there
    # (a Content-Security-Policy violation would be a console error).
    assert watch.requests, "the browser made requests"
    assert watch.foreign_requests(desk.url) == []
    assert watch.problems() == []
    assert watch.failed == [(401, f"{desk.url}/aanmelden")]  # the wrong password, only


Fill = Callable[[Page, str], Awaitable[None]]


@dataclass(frozen=True)
class Shape:
    partner: Partner
    colour: Colour
    key: str
    follow_up: str  # the element that must stay hidden until "ja"
    fill: Fill
    sent: dict[str, Any]


async def _met_wie(page: Page, f: str) -> None:
    await page.locator(f"#{f}-met-wie-cjg").check()
    await page.locator(f"#{f}-met-wie-swt").check()


async def _domeinen(page: Page, f: str) -> None:
    await page.locator(f"#{f}-domein-{LifeDomain.HUISVESTING.value}").check()
    await page.locator(f"#{f}-domein-{LifeDomain.FINANCIEN.value}").check()


async def _toelichting(page: Page, f: str) -> None:
    area = page.locator(f"#{f}-toelichting")
    counter = page.locator(f"#{f}-toelichting-teller")
    await expect(counter).to_have_text("0 / 280 tekens")
    await area.press_sequentially("Bekend")
    await expect(counter).to_have_text("6 / 280 tekens")
    # An over-long text cannot even be typed: the field stops at the limit.
    await area.fill("x" * 300)
    await expect(area).to_have_value("x" * 280)
    await expect(counter).to_have_text("280 / 280 tekens")
    await area.fill("")
    await area.press_sequentially("Actief traject bij het SWT.")
    await expect(counter).to_have_text("27 / 280 tekens")


async def _detail(page: Page, f: str) -> None:
    await page.locator(f"#{f}-detail-openstaande-vorderingen-ja").check()
    await page.locator(f"#{f}-detail-aantal-vorderingen").fill("3")
    # Left empty: an optional field is not sent at all.
    await expect(page.locator(f"#{f}-detail-totaal-openstaand-euro")).to_have_value("")


SHAPES = {
    "ja_nee_met_wie": Shape(
        Partner.VERWIJSINDEX,
        Colour.GROEN,
        "vir_match",
        "met-wie",
        _met_wie,
        {"antwoord": "ja", "met_wie": ["cjg", "swt"]},
    ),
    "ja_nee_domeinen": Shape(
        Partner.VEILIGHEIDSHUIS,
        Colour.ORANJE,
        "risicosignalen",
        "domeinen",
        _domeinen,
        {"antwoord": "ja", "domeinen": ["financien", "huisvesting"]},
    ),
    "ja_nee_toelichting": Shape(
        Partner.SWT,
        Colour.ROOD,
        "actieve_begeleiding",
        "toelichting",
        _toelichting,
        {"antwoord": "ja", "toelichting": "Actief traject bij het SWT."},
    ),
    "detail": Shape(
        Partner.CJIB,
        Colour.ROOD,
        "overzicht_openstaand",
        "detail-openstaande-vorderingen",
        _detail,
        {"antwoord": "ja", "detail": {"openstaande_vorderingen": True, "aantal_vorderingen": 3}},
    ),
}


@pytest.mark.parametrize("shape", list(SHAPES))
async def test_each_shape_is_answered_with_its_follow_up_after_ja(
    browser: Browser, serve_desk: ServeDesk, shape: str
) -> None:
    case = SHAPES[shape]
    desk = await serve_desk(case.partner, [(case.colour, SEM)])
    f = desk.form_id(0, case.key)
    async with browser.context() as context:
        watch = PageWatch.on(context)
        page = await context.new_page()
        await sign_in_at_desk(page, desk.url)
        await page.goto(desk.set_url())
        await expect(page.locator(f"#{f}")).to_have_attribute("data-shape", shape)
        region = page.locator(f"#{f}-bij-ja")
        follow_up = page.locator(f"#{f}-{case.follow_up}")

        # Hidden (and not sent) until "ja"; hidden again on "nee".
        await expect(region).to_be_hidden()
        await expect(follow_up).to_be_hidden()
        await page.locator(f"#{f}-antwoord-nee").check()
        await expect(region).to_be_hidden()
        await page.locator(f"#{f}-antwoord-ja").check()
        await expect(region).to_be_visible()
        await expect(follow_up).to_be_visible()
        await expect(region.locator(".zonder-js")).to_be_hidden()  # the no-JS hint
        for control in await region.locator("input, textarea").all():
            await expect(control).to_be_enabled()

        await case.fill(page, f)
        await page.locator(f"#{f}-verstuur").click()
        await _expect_sent(page, f)

    (item,) = desk.sent_items()
    assert _content(item) == case.sent
    (asked,) = [
        q for q in desk.sets[0].questions if (q.key, q.subject_ref) == (case.key, "jongere")
    ]
    assert item.question_id == asked.question_id
    assert watch.foreign_requests(desk.url) == []
    assert watch.problems() == []
    assert watch.failed == []


async def test_a_nee_sends_nothing_of_what_was_filled_in_after_ja(
    browser: Browser, serve_desk: ServeDesk
) -> None:
    desk = await serve_desk(Partner.VEILIGHEIDSHUIS, [(Colour.ROOD, SEM)])
    f = desk.form_id(0, "risicosignalen", "gezinslid-1")
    async with browser.context() as context:
        page = await context.new_page()
        await sign_in_at_desk(page, desk.url)
        await page.goto(desk.set_url())
        await page.locator(f"#{f}-antwoord-ja").check()
        await page.locator(f"#{f}-domein-justitie").check()
        await page.locator(f"#{f}-antwoord-nee").check()
        await expect(page.locator(f"#{f}-bij-ja")).to_be_hidden()
        await expect(page.locator(f"#{f}-domein-justitie")).to_be_disabled()
        await page.locator(f"#{f}-verstuur").click()
        await _expect_sent(page, f)
    (item,) = desk.sent_items()
    assert _content(item) == {"antwoord": "nee"}


async def test_without_javascript_the_forms_still_work(
    browser: Browser, serve_desk: ServeDesk
) -> None:
    desk = await serve_desk(Partner.VERWIJSINDEX, [(Colour.GROEN, SEM)])
    f = desk.form_id(0, "vir_match")
    async with browser.context(java_script_enabled=False) as context:
        page = await context.new_page()
        await sign_in_at_desk(page, desk.url)
        await page.goto(desk.set_url())
        # Everything is shown, with the hint that it belongs to "ja" only.
        await expect(page.locator(f"#{f}-bij-ja")).to_be_visible()
        await expect(page.locator(f"#{f}-bij-ja .zonder-js")).to_have_text(
            "Alleen invullen bij \N{LEFT SINGLE QUOTATION MARK}ja\N{RIGHT SINGLE QUOTATION MARK}. "
            "Bij \N{LEFT SINGLE QUOTATION MARK}nee\N{RIGHT SINGLE QUOTATION MARK} gaat er niets "
            "anders mee."
        )
        await page.locator(f"#{f}-antwoord-ja").check()
        await page.locator(f"#{f}-met-wie-leerplicht").check()
        await page.locator(f"#{f}-verstuur").click()
        await _expect_sent(page, f)
    (item,) = desk.sent_items()
    assert item.antwoord is YesNo.JA
    assert item.met_wie == (Partner.LEERPLICHT,)
