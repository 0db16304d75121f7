"""The partner desk in a test: a state file with pending question sets, a users file with a
known (synthetic) password, and the desk's configuration over them.

    state = tmp_path / "adapter.db"
    sets = record_pending(state, Partner.LEERPLICHT, [Colour.GROEN, Colour.ROOD])
    config = desk_config(state, Partner.LEERPLICHT, write_users_file(tmp_path / "users.toml"))
    with TestClient(create_desk_app(config)) as client:          # in-process (httpx)
        sign_in(client)
    with desk_in_thread(create_desk_app(config)) as url:        # a real server, a free port
        ...                                                     # e.g. a browser at `url`
    await sign_in_at_desk(page, url)                            # a Playwright page (async)

`DESK_USER` / `DESK_PASSWORD` sign in. Everything here is synthetic.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from playwright.async_api import Page, expect

from contracts import Colour, Partner, PartnerAnswer, QuestionSet, decode
from contracts.messages import utc_now
from partner_adapters.delivery import deliver_outbox
from partner_adapters.desk.app import Deliver, DeskConfig
from partner_adapters.desk.users import Users
from partner_adapters.state import AdapterStore, AnsweredBy, Answering, OutboxEntry
from tests.unit.partner_adapters.builders import question_set

__all__ = [
    "DESK_PASSWORD",
    "DESK_USER",
    "Clock",
    "FailingDelivery",
    "RecordingDelivery",
    "csrf_of",
    "desk_config",
    "desk_list_title",
    "record_pending",
    "record_sets",
    "sign_in",
    "sign_in_at_desk",
    "table_rows",
    "write_users_file",
]

DESK_USER = "t.tester"
DESK_PASSWORD = "synthetisch-wachtwoord-1"

# Cheap parameters for the tests' own hashes (verify reads them from the hash): the desk's
# `desk-user add` uses argon2-cffi's defaults.
_FAST = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)


def write_users_file(path: Path, users: dict[str, str] | None = None) -> Path:
    """A users file with `users` (name -> password), by default `DESK_USER`."""
    chosen = users if users is not None else {DESK_USER: DESK_PASSWORD}
    lines = ["[users]\n", *(f'"{n}" = "{_FAST.hash(p)}"\n' for n, p in chosen.items())]
    path.write_text("".join(lines), encoding="utf-8")
    return path


def record_pending(
    state: Path,
    partner: Partner,
    colours: Sequence[Colour],
    *,
    received: dt.datetime | None = None,
    spacing: dt.timedelta = dt.timedelta(hours=1),
) -> list[QuestionSet]:
    """One question set per colour, all its questions open (nothing answered or refused),
    received `spacing` apart, oldest first. Synchronous: call it outside an event loop."""
    start = received or utc_now() - dt.timedelta(days=2)
    sets = []
    for n, colour in enumerate(colours):
        at = start + n * spacing
        qs = question_set(partner, colour, deadline=at + dt.timedelta(days=10))
        sets.append(qs.model_copy(update={"created_at": at}))

    record_sets(state, partner, sets, [start + n * spacing for n in range(len(sets))])
    return sets


def record_sets(
    state: Path,
    partner: Partner,
    sets: Sequence[QuestionSet],
    received: Sequence[dt.datetime] | None = None,
) -> None:
    """Record question sets as received, nothing answered. Synchronous (no event loop)."""

    async def work() -> None:
        store = await AdapterStore.open(state, partner)
        try:
            for n, qs in enumerate(sets):
                at = utc_now() if received is None else received[n]
                await store.record_question_set(qs, Answering({}, AnsweredBy.LOOKUP), at)
        finally:
            await store.close()

    asyncio.run(work())


@dataclass
class Clock:
    """A clock the test moves: `clock.advance(minutes=31)`."""

    now: dt.datetime = field(default_factory=utc_now)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


@dataclass
class RecordingDelivery:
    """Delivery as `iaj-adapter answer` does it (`deliver_outbox`), to a list instead of
    Kafka: every unsent entry is "confirmed" and marked sent."""

    sent: list[PartnerAnswer] = field(default_factory=list)

    async def __call__(self, store: AdapterStore) -> int:
        async def send(entry: OutboxEntry) -> None:
            message = decode(entry.payload)
            assert isinstance(message, PartnerAnswer)
            self.sent.append(message)

        return await deliver_outbox(store, send)


class FailingDelivery:
    """Kafka cannot be reached."""

    calls = 0

    async def __call__(self, store: AdapterStore) -> int:
        self.calls += 1
        raise ConnectionError("no broker at 127.0.0.1:1")


def desk_config(
    state: Path,
    partner: Partner,
    users_file: Path | None,
    *,
    deliver: Deliver | None = None,
    clock: Clock | None = None,
    **overrides: Any,
) -> DeskConfig:
    return DeskConfig(
        partner=partner,
        state_path=state,
        users=None if users_file is None else Users(users_file),
        deliver=deliver,
        clock=clock or Clock(),
        **overrides,
    )


_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    """The CSRF token of the (first) form on a page."""
    found = _CSRF.search(html)
    assert found is not None, "no form with a CSRF token on this page"
    return found.group(1)


def sign_in(client: Any, user: str = DESK_USER, password: str = DESK_PASSWORD) -> Any:
    """Sign in through the form (an httpx-style client, e.g. Starlette's TestClient);
    returns the response of the list page it lands on."""
    page = client.get("/aanmelden")
    return client.post(
        "/aanmelden",
        data={"csrf_token": csrf_of(page.text), "gebruikersnaam": user, "wachtwoord": password},
        follow_redirects=True,
    )


async def sign_in_at_desk(page: Page, desk_url: str) -> None:
    """Sign in through the form in a browser (a Playwright page), as a caseworker does;
    lands on the list of pending question sets."""
    await page.goto(f"{desk_url}/")
    await expect(page).to_have_url(f"{desk_url}/aanmelden")
    await page.locator("#gebruikersnaam").fill(DESK_USER)
    await page.locator("#wachtwoord").fill(DESK_PASSWORD)
    await page.locator("#aanmelden").click()
    await expect(page).to_have_url(f"{desk_url}/")
    await expect(page.locator("#gebruiker")).to_have_text(f"Aangemeld als {DESK_USER}")


def desk_list_title(count: int) -> str:
    """The title of the list with `count` pending question sets."""
    return f"({count}) Openstaande vragen \N{EN DASH} IAJ-balie"


def table_rows(state: Path, *, without: Sequence[str] = ("desk_log",)) -> dict[str, list[Any]]:
    """Every row of every table of the state file (but `without`): to show nothing changed."""
    with sqlite3.connect(state) as db:
        names = [
            r[0]
            for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if r[0] not in without and not r[0].startswith("sqlite_")
        ]
        return {
            name: db.execute(f"SELECT * FROM {name} ORDER BY rowid").fetchall() for name in names
        }
