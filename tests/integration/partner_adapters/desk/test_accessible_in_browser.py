"""The desk by keyboard alone, with the focus always visible, and readable at 200% zoom
without scrolling sideways (in a real headless Chromium)."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from contracts import Colour, Partner, YesNo
from tests.integration.partner_adapters.desk.conftest import ServeDesk
from tests.support.browser import Browser, PageWatch, focus_outline, save_screenshot
from tests.support.desk import DESK_PASSWORD, DESK_USER, desk_list_title, sign_in_at_desk
from tests.unit.partner_adapters.builders import DAAN, SEM

pytestmark = pytest.mark.integration

_MOST_TABS = 60


async def _tab_to(page: Page, target: str) -> list[str]:
    """Press Tab until #target has the focus; every element on the way shows its focus (an
    outline of at least 2 px, drawn because the browser finds `:focus-visible`)."""
    passed: list[str] = []
    for _ in range(_MOST_TABS):
        await page.keyboard.press("Tab")
        focus = await focus_outline(page)
        passed.append(focus["id"] or focus["text"])
        assert focus["focusVisible"], focus
        assert focus["outlineStyle"] != "none", focus
        assert focus["outlineWidth"] >= 2, focus
        if focus["id"] == target:
            return passed
    raise AssertionError(f"Tab did not reach #{target}; it passed {passed}")


async def test_one_question_is_answered_with_the_keyboard_alone(
    browser: Browser, serve_desk: ServeDesk
) -> None:
    """Tab, Space and Enter (and typing the sign-in): no mouse click from sign-in to sent."""
    desk = await serve_desk(Partner.VERWIJSINDEX, [(Colour.GROEN, SEM)])
    f = desk.form_id(0, "vir_match")
    async with browser.context() as context:
        watch = PageWatch.on(context)
        page = await context.new_page()
        await page.goto(f"{desk.url}/")
        await expect(page).to_have_url(f"{desk.url}/aanmelden")

        passed = await _tab_to(page, "gebruikersnaam")
        assert passed[0] == "Naar de inhoud", "first the skip link"
        await page.keyboard.type(DESK_USER)
        await _tab_to(page, "wachtwoord")
        await page.keyboard.type(DESK_PASSWORD)
        await page.keyboard.press("Enter")
        await expect(page).to_have_title(desk_list_title(1))

        await _tab_to(page, "vragenset-1")
        await page.keyboard.press("Enter")
        await expect(page).to_have_url(desk.set_url())

        await _tab_to(page, f"{f}-antwoord-ja")
        await expect(page.locator(f"#{f}-bij-ja")).to_be_hidden()
        await page.keyboard.press("Space")
        await expect(page.locator(f"#{f}-antwoord-ja")).to_be_checked()
        await expect(page.locator(f"#{f}-bij-ja")).to_be_visible()
        # The organisations follow "ja" in the tab order; Space ticks one.
        passed = await _tab_to(page, f"{f}-met-wie-cjg")
        assert passed[0] == f"{f}-met-wie-verwijsindex", passed
        await page.keyboard.press("Space")
        await expect(page.locator(f"#{f}-met-wie-cjg")).to_be_checked()
        await _tab_to(page, f"{f}-verstuur")
        await page.keyboard.press("Enter")

        await expect(page.locator(f"#{f}-status")).to_have_attribute("data-status", "verzonden")
        await expect(page.locator(f"#{f}-bevestiging")).to_have_text("Uw antwoord is verzonden.")

    (item,) = desk.sent_items()
    assert item.antwoord is YesNo.JA
    assert item.met_wie == (Partner.CJG,)
    assert watch.problems() == []


async def _sideways(page: Page) -> int:
    """How far the page scrolls sideways, in CSS pixels (0: it does not)."""
    overflow: int = await page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    return overflow


async def _open_every_follow_up(page: Page) -> None:
    radios = page.locator('form[data-shape] input[name="antwoord"][value="ja"]')
    for radio in await radios.all():
        await radio.check()
    for region in await page.locator("[data-bij-ja]").all():
        await expect(region).to_be_visible()


# A screen of 1280 by 900 pixels at 200% zoom: 640 CSS pixels wide, each drawn twice. And 320
# wide, the reflow width of WCAG 2.1 (1280 at 400%).
ZOOMS = {"200%": (640, 2), "400%": (320, 4)}
# Every shape of form, with family members and the longest labels (organisations, domains).
SETS = [
    (Partner.VEILIGHEIDSHUIS, Colour.ROOD),  # ja_nee_domeinen and ja_nee, about three people
    (Partner.VERWIJSINDEX, Colour.ROOD),  # ja_nee_met_wie
    (Partner.LEERPLICHT, Colour.ROOD),  # ja_nee_toelichting
    (Partner.WONINGCORPORATIE, Colour.ROOD),  # detail: ja/nee and text
    (Partner.CJIB, Colour.ROOD),  # detail: ja/nee and numbers
]


@pytest.mark.parametrize("zoom", list(ZOOMS))
async def test_readable_zoomed_in_without_scrolling_sideways(
    browser: Browser, serve_desk: ServeDesk, zoom: str
) -> None:
    width, scale = ZOOMS[zoom]
    viewport = {"width": width, "height": 900 // scale}
    async with browser.context(viewport=viewport, device_scale_factor=scale) as context:
        page = await context.new_page()
        for n, (partner, colour) in enumerate(SETS):
            desk = await serve_desk(partner, [(colour, DAAN), (colour, SEM)])
            if n == 0:
                await page.goto(f"{desk.url}/aanmelden")
                assert await _sideways(page) == 0, "the sign-in page"
            await sign_in_at_desk(page, desk.url)
            assert await _sideways(page) == 0, f"the list of {partner.value}"
            await page.goto(desk.set_url(1))
            await _open_every_follow_up(page)
            assert await _sideways(page) == 0, f"the {colour.value} set of {partner.value}"
            if n == 0 and zoom == "200%":
                await page.evaluate("() => window.scrollTo(0, 0)")
                await save_screenshot(
                    page, "desk", "vragenset-rood-200procent.png", full_page=False
                )
