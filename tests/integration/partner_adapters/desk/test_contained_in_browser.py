"""What the browser makes of the desk's Content-Security-Policy: nothing inline runs or
applies, nothing loads from another origin, and the desk's own pages break none of it."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from contracts import Colour, Partner
from partner_adapters.desk.headers import CONTENT_SECURITY_POLICY
from tests.integration.partner_adapters.desk.conftest import ServeDesk
from tests.support.browser import Browser, PageWatch
from tests.support.desk import sign_in_at_desk
from tests.unit.partner_adapters.builders import SEM

pytestmark = pytest.mark.integration

# Run in the page (Playwright's evaluate is not itself subject to the page's policy): what
# an injected inline script, inline style, style attribute and a script from another origin
# of this machine (the discard port: nothing listens there) would do.
_INJECT = """(elsewhere) => {
    window.__violations = [];
    document.addEventListener("securitypolicyviolation",
        (e) => window.__violations.push(e.effectiveDirective));
    window.__inlineRan = false;
    const script = document.createElement("script");
    script.textContent = "window.__inlineRan = true;";
    document.body.append(script);
    const style = document.createElement("style");
    style.textContent = "body { background-color: rgb(255, 0, 0); }";
    document.head.append(style);
    document.querySelector("main").setAttribute("style", "color: rgb(0, 255, 0)");
    const remote = document.createElement("script");
    remote.src = elsewhere;
    document.body.append(remote);
}"""


async def test_inline_script_and_style_and_other_origins_are_blocked(
    browser: Browser, serve_desk: ServeDesk
) -> None:
    desk = await serve_desk(Partner.LEERPLICHT, [(Colour.ROOD, SEM)])
    elsewhere = "http://127.0.0.1:9/niet-van-de-balie.js"
    async with browser.context() as context:
        watch = PageWatch.on(context)
        page = await context.new_page()
        await sign_in_at_desk(page, desk.url)
        response = await page.goto(desk.set_url())
        assert response is not None
        assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        # The desk's own script runs (it is a file of the desk): the follow-up is hidden.
        f = desk.form_id(0, "schooluitval_inschrijving")
        await expect(page.locator(f"#{f}-bij-ja")).to_be_hidden()
        assert watch.problems() == []

        await page.evaluate(_INJECT, elsewhere)
        await page.wait_for_function("() => window.__violations.length >= 4")
        violations = await page.evaluate("() => window.__violations")
        assert sorted(violations) == [
            "script-src-elem",
            "script-src-elem",
            "style-src-attr",
            "style-src-elem",
        ]
        assert await page.evaluate("() => window.__inlineRan") is False
        colours = await page.evaluate(
            """() => [getComputedStyle(document.body).backgroundColor,
                      getComputedStyle(document.querySelector("main")).color]"""
        )
        assert colours[0] != "rgb(255, 0, 0)"
        assert colours[1] != "rgb(0, 255, 0)"

    # The browser stopped the other origin's script before it was sent: the only request
    # not to the desk, and it was never answered.
    assert watch.foreign_requests(desk.url) == [elsewhere]
    assert watch.unanswered == [(elsewhere, "csp")]  # Chromium: net::ERR_BLOCKED_BY_CSP
    reported = [text for kind, text in watch.console if kind == "error"]
    assert len(reported) == 4
    assert all("Content Security Policy" in text for text in reported)
