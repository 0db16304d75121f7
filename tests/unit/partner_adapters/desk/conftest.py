"""Fixtures for the desk's server-side tests: a state file with pending question sets, a
users file, and the desk application in Starlette's TestClient (in process, no sockets).

`desk(partner, colours, ...)` records one pending question set per colour and returns a
`Desk`: its question sets, its state file, its clock and delivery, and `client()`, a
TestClient (use it in a `with` block: that runs the desk's lifespan)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from contracts import Colour, Partner, QuestionSet
from partner_adapters.desk import DeskConfig, create_desk_app
from partner_adapters.desk.app import Deliver
from tests.support.desk import (
    Clock,
    RecordingDelivery,
    desk_config,
    record_pending,
    record_sets,
    sign_in,
    write_users_file,
)


@dataclass
class Desk:
    partner: Partner
    sets: list[QuestionSet]
    state: Path
    users_file: Path
    clock: Clock
    config: DeskConfig

    @property
    def deliver(self) -> Any:
        return self.config.deliver

    def client(self, **options: Any) -> TestClient:
        return TestClient(create_desk_app(self.config), **options)

    @contextlib.contextmanager
    def signed_in(self, **options: Any) -> Iterator[TestClient]:
        """`with desk.signed_in() as client`: a running desk, signed in as DESK_USER."""
        with self.client(**options) as client:
            response = sign_in(client)
            assert response.status_code == 200, response.text
            yield client

    def set_url(self, n: int = 0) -> str:
        return f"/vragensets/{self.sets[n].message_id}"

    def answer_url(self, n: int = 0, q: int = 0) -> str:
        qs = self.sets[n]
        return f"/vragensets/{qs.message_id}/vragen/{qs.questions[q].question_id}"


MakeDesk = Callable[..., Desk]


@pytest.fixture
def make_desk(tmp_path: Path) -> MakeDesk:
    def make(
        partner: Partner,
        colours: Sequence[Colour] = (Colour.GROEN,),
        *,
        deliver: Deliver | str | None = "recording",
        users: dict[str, str] | None = None,
        sets: Sequence[QuestionSet] | None = None,
        **overrides: Any,
    ) -> Desk:
        state = tmp_path / f"{partner.value}.db"
        if sets is None:
            recorded = record_pending(state, partner, colours)
        else:
            record_sets(state, partner, sets)
            recorded = list(sets)
        users_file = write_users_file(tmp_path / "users.toml", users)
        clock = Clock()
        chosen = RecordingDelivery() if deliver == "recording" else deliver
        assert not isinstance(chosen, str)
        config = desk_config(state, partner, users_file, deliver=chosen, clock=clock, **overrides)
        return Desk(partner, recorded, state, users_file, clock, config)

    return make
