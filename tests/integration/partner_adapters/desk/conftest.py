"""The desk served on a free port of 127.0.0.1 (uvicorn, in the test's event loop), for a real
headless Chromium (the `browser` fixture of tests/conftest.py).

`serve_desk(partner, [(colour, youth), ...])` records one pending question set per pair,
received an hour apart, oldest first, and serves the desk over that state file with a
delivery that records what it "sends" (as `iaj-adapter answer` does, to a list instead of
Kafka). Everything is synthetic.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from contracts import AnswerItem, Colour, Partner, QuestionSet
from contracts.messages import utc_now
from partner_adapters.desk import create_desk_app
from partner_adapters.desk.forms import form_ids
from partner_adapters.desk.serving import running_desk
from partner_adapters.reference import SyntheticPerson
from tests.support.desk import (
    RecordingDelivery,
    desk_config,
    record_sets,
    write_users_file,
)
from tests.unit.partner_adapters.builders import SEM, question_set


@dataclass
class ServedDesk:
    url: str
    partner: Partner
    sets: list[QuestionSet]
    state: Path
    delivery: RecordingDelivery

    def set_url(self, n: int = 0) -> str:
        return f"{self.url}/vragensets/{self.sets[n].message_id}"

    def form_id(self, n: int, key: str, subject_ref: str = "jongere") -> str:
        """The page id of set `n`'s question `key` about `subject_ref` (`vraag-...`)."""
        questions = list(self.sets[n].questions)
        ids = form_ids(questions)
        for question, form_id in zip(questions, ids, strict=True):
            if question.key == key and question.subject_ref == subject_ref:
                return form_id
        raise KeyError(f"{key}/{subject_ref}")

    def sent_items(self) -> list[AnswerItem]:
        """Every answer item the desk delivered, in order."""
        return [item for message in self.delivery.sent for item in message.answers]


ServeDesk = Callable[..., Awaitable[ServedDesk]]


@pytest.fixture
async def serve_desk(tmp_path: Path) -> AsyncIterator[ServeDesk]:
    served = itertools.count(1)
    async with contextlib.AsyncExitStack() as running:

        async def serve(
            partner: Partner,
            asked: Sequence[tuple[Colour, SyntheticPerson]] = ((Colour.GROEN, SEM),),
        ) -> ServedDesk:
            state = tmp_path / f"{partner.value}-{next(served)}.db"
            start = utc_now() - dt.timedelta(days=2)
            received = [start + n * dt.timedelta(hours=1) for n in range(len(asked))]
            sets = [
                question_set(partner, colour, youth=youth, deadline=at + dt.timedelta(days=10))
                for (colour, youth), at in zip(asked, received, strict=True)
            ]
            # Synchronous (asyncio.run of its own): from a thread, this loop is running.
            await asyncio.to_thread(record_sets, state, partner, sets, received)
            users = write_users_file(tmp_path / "users.toml")
            delivery = RecordingDelivery()
            app = create_desk_app(desk_config(state, partner, users, deliver=delivery))
            url = await running.enter_async_context(running_desk(app))
            return ServedDesk(url, partner, sets, state, delivery)

        yield serve
