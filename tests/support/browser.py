"""A real headless Chromium for the desk's browser tests.

The browser is Debian's `chromium` package (/usr/bin/chromium), which `make browser` (a step
of `make test`) installs; Playwright (a dev dependency) drives it through its async API.
Playwright's own browser download (`playwright install`) is never used: these machines reach
the package registries only. `IAJ_TEST_CHROMIUM` names another executable.

    async with browser.context() as context:          # the `browser` fixture (tests/conftest.py)
        watch = PageWatch.on(context)                 # every request, console line, page error
        page = await context.new_page()
        ...
        assert watch.foreign_requests(base_url) == []

Every context is a browser of its own, started with a new, empty profile folder
(`--user-data-dir`) under the test's tmp_path, with the flags these machines need.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.async_api import (
    BrowserContext,
    ConsoleMessage,
    Page,
    Playwright,
    Request,
    Response,
)

__all__ = [
    "ARTIFACTS",
    "CHROMIUM_ARGS",
    "CHROMIUM_ENV",
    "DEFAULT_CHROMIUM",
    "INSTALL_HINT",
    "Browser",
    "PageWatch",
    "chromium_path",
    "chromium_problem",
    "focus_outline",
    "save_screenshot",
    "saved_artifacts",
]

CHROMIUM_ENV = "IAJ_TEST_CHROMIUM"
DEFAULT_CHROMIUM = Path("/usr/bin/chromium")
INSTALL_HINT = "`make browser` installs Debian's chromium (as root: apt-get install chromium)"
# As root, and with nothing reachable but the package registries: no sandbox, no GPU, and
# none of the browser's own connections to the outside (updates, sync, field trials).
# Playwright adds --headless and the profile folder (--user-data-dir) itself.
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
# Screenshots and other artefacts of the browser tests (git-ignored).
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
_SAVED: list[Path] = []


def chromium_path(environ: Mapping[str, str]) -> Path:
    """The Chromium executable the browser tests start."""
    return Path(environ.get(CHROMIUM_ENV) or DEFAULT_CHROMIUM)


def chromium_problem(path: Path) -> str | None:
    """Why the browser tests cannot run with `path`, or None."""
    if not path.is_file() or not os.access(path, os.X_OK):
        return f"no Chromium at {path}: {INSTALL_HINT}"
    return None


class Browser:
    """Starts Chromium, one process per `context()`, each with a fresh profile folder."""

    def __init__(self, playwright: Playwright, executable: Path, profiles: Path) -> None:
        self.playwright = playwright
        self.executable = executable
        self.profiles = profiles
        self._started = 0

    @contextlib.asynccontextmanager
    async def context(self, **options: Any) -> AsyncIterator[BrowserContext]:
        """A browser with one context (Playwright's `new_context` options: viewport,
        device_scale_factor, java_script_enabled, ...), Dutch and in Amsterdam's time."""
        self._started += 1
        profile = self.profiles / f"profile-{self._started}"
        profile.mkdir(parents=True)
        settings: dict[str, Any] = {"locale": "nl-NL", "timezone_id": "Europe/Amsterdam"}
        settings.update(options)
        context = await self.playwright.chromium.launch_persistent_context(
            profile,
            executable_path=self.executable,
            headless=True,
            args=list(CHROMIUM_ARGS),
            **settings,
        )
        context.set_default_timeout(15_000)
        try:
            yield context
        finally:
            await context.close()


@dataclass
class PageWatch:
    """What the pages of a context did: every request's URL (also one the browser then
    blocked), the requests that got no response and why, the responses that failed, every
    console message, every uncaught error."""

    requests: list[str] = field(default_factory=list)
    failed: list[tuple[int, str]] = field(default_factory=list)  # (status >= 400, URL)
    unanswered: list[tuple[str, str]] = field(default_factory=list)  # (URL, why), e.g. blocked
    console: list[tuple[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @classmethod
    def on(cls, context: BrowserContext) -> PageWatch:
        watch = cls()

        def request(r: Request) -> None:
            watch.requests.append(r.url)

        def request_failed(r: Request) -> None:
            watch.unanswered.append((r.url, r.failure or ""))

        def response(r: Response) -> None:
            if r.status >= 400:
                watch.failed.append((r.status, r.url))

        def console(m: ConsoleMessage) -> None:
            if not m.text.startswith(_FAILED_LOAD):  # a response: in `failed`, with its URL
                watch.console.append((m.type, m.text))

        def page(p: Page) -> None:
            p.on("pageerror", lambda e: watch.errors.append(str(e)))

        context.on("request", request)
        context.on("requestfailed", request_failed)
        context.on("response", response)
        context.on("console", console)
        context.on("page", page)
        for existing in context.pages:
            page(existing)
        return watch

    def foreign_requests(self, base_url: str) -> list[str]:
        """Requests to anything but the desk at `base_url` (another host, port or scheme)."""
        origin = base_url.rstrip("/") + "/"
        return [url for url in self.requests if not url.startswith(origin)]

    def problems(self) -> list[str]:
        """Console errors and warnings (a Content-Security-Policy violation is one) and
        uncaught page errors."""
        shown = [f"console {kind}: {text}" for kind, text in self.console if kind in _BAD]
        return shown + [f"page error: {e}" for e in self.errors]


_BAD = {"error", "warning", "assert"}
_FAILED_LOAD = "Failed to load resource:"


async def focus_outline(page: Page) -> dict[str, Any]:
    """The focused element (id, tag, text) and how its focus is drawn (outline style and
    width, and whether the browser shows focus there: `:focus-visible`)."""
    found: dict[str, Any] = await page.evaluate(
        """() => {
            const el = document.activeElement;
            const style = getComputedStyle(el);
            return {
                id: el.id, tag: el.tagName.toLowerCase(), text: el.textContent.trim(),
                outlineStyle: style.outlineStyle, outlineWidth: parseFloat(style.outlineWidth),
                focusVisible: el.matches(":focus-visible"),
            };
        }"""
    )
    return found


async def save_screenshot(page: Page, *name: str, full_page: bool = True) -> Path:
    """A PNG of the page (or of what the window shows) at test-artifacts/<name...>; listed at
    the end of the test run."""
    path = ARTIFACTS.joinpath(*name)
    path.parent.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=path, full_page=full_page)
    _SAVED.append(path)
    print(f"screenshot: {path}")
    return path


def saved_artifacts() -> list[Path]:
    """The artefacts this test run saved."""
    return list(_SAVED)
