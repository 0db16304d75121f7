"""A round in which one partner answers at its desk, in a real browser, and the other
partners through their lookups (the embedded stack: broker, municipal service, 14 adapters).

The desk's partner has no integration: its adapter runs with a lookup that answers nothing,
so its questions stay open for a person (as `partner_adapters.lookup` says: leave out what
you cannot answer). The desk runs beside that adapter, over the adapter's own state file and
with the adapter's settings, so it delivers as `iaj-adapter answer` does: signed with the
partner's key and published to Kafka. The round completes with exactly what the caseworker
typed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect

from broker.service.partner_keys import load_partner_keys
from contracts import AnswerItem, PartnerAnswer
from contracts.enums import Colour, District, Partner, Track, YesNo
from contracts.messages import Completion, OutcomeStatus, RoundResult, utc_now
from contracts.signing import verify_item
from contracts.topics import RESULTS, answer_topic
from contracts.wire import decode
from devtools.embedded_stack import EmbeddedStack, StackOptions
from devtools.signing_keys import ensure_partner_keys
from handlers.cases import Criterion, FamilyMember, NewCase, register_case
from handlers.db.uow import UnitOfWork
from handlers.rounds import OpenRound
from partner_adapters.desk import create_desk_app
from partner_adapters.desk.serving import desk_config, running_desk
from partner_adapters.desk.settings import DeskSettings
from partner_adapters.lookup import LookupAnswer, LookupRequest
from partner_adapters.state.desk import DeskAction
from tests.integration.broker.service.partners import read_topic
from tests.support.browser import Browser, PageWatch
from tests.support.desk import DESK_USER, desk_list_title, sign_in_at_desk, write_users_file

pytestmark = pytest.mark.e2e

# A woningcorporatie whose employee looks the youth up by hand. At rood its one question
# (`woonsignalen`) is structured detail: two ja/nee fields and a short text.
AT_THE_DESK = Partner.WONINGCORPORATIE
COLOUR = Colour.ROOD
FORM = "vraag-woonsignalen-jongere"
TYPED = "Twee meldingen van geluidsoverlast in het voorjaar."


class NoSystem:
    """A partner without an integration: nothing is answered from a system, every question
    stays open for a person. Remembers what it was asked."""

    def __init__(self) -> None:
        self.requests: list[LookupRequest] = []

    async def lookup(self, request: LookupRequest) -> Sequence[LookupAnswer]:
        self.requests.append(request)
        return []


def _sem() -> NewCase:
    """Known to every reference partner (partner_adapters/reference/cast.py); invented."""
    return NewCase(
        naam="Sem Testbeek",
        geboortedatum=dt.date(2008, 3, 14),
        district=District.SCHALKWIJK,
        track=Track.IAJ,
        criteria=(Criterion.POLITIECONTACTEN, Criterion.GEDRAG_GECONTINUEERD),
        colour=COLOUR,
        family=(
            FamilyMember(naam="Noor Testbeek", geboortedatum=dt.date(1981, 5, 30)),
            FamilyMember(naam="Bram Testbeek", geboortedatum=dt.date(1979, 9, 9)),
        ),
        informed_on=dt.date.today() - dt.timedelta(days=3),
    )


async def _open_round(stack: EmbeddedStack) -> str:
    service = stack.service
    assert service is not None
    async with UnitOfWork(service.sessions) as uow:
        case_id = await register_case(
            uow, _sem(), actor="test", today=dt.date.today(), policy=service.policy
        )
        await uow.commit()
    return await service.open_round(OpenRound(case_id=case_id, colour=COLOUR, actor="test"))


async def _until_open_at_the_desk(stack: EmbeddedStack, within: float = 90) -> None:
    """The desk partner's adapter has recorded the question set and left it open."""
    store = stack.adapters[AT_THE_DESK].store
    assert store is not None
    async with asyncio.timeout(within):
        while True:
            if await store.open_questions(utc_now()):
                return
            await asyncio.sleep(0.2)


def _content(item: AnswerItem) -> dict[str, Any]:
    return item.model_dump(mode="json", exclude={"question_id", "signature"}, exclude_none=True)


async def test_one_partner_answers_at_its_desk_and_the_round_completes_with_that_answer(
    tmp_path: Path, browser: Browser
) -> None:
    no_system = NoSystem()
    options = StackOptions(workdir=tmp_path / "stack", lookups={AT_THE_DESK: no_system})
    async with EmbeddedStack(options) as stack:
        assert stack.service is not None
        policy = stack.service.policy
        # `iaj-adapter desk --partner woningcorporatie`, with the running adapter's settings.
        adapter = stack.adapter_spec().adapter_settings(AT_THE_DESK)
        settings = DeskSettings(_env_file=None, users_file=write_users_file(tmp_path / "u.toml"))
        app = create_desk_app(desk_config(adapter, settings))
        async with running_desk(app) as url, browser.context() as context:
            watch = PageWatch.on(context)
            round_id = await _open_round(stack)
            await _until_open_at_the_desk(stack)

            page = await context.new_page()
            await sign_in_at_desk(page, url)
            await expect(page).to_have_title(desk_list_title(1))
            await expect(page.locator("#vragenset-1")).to_have_text("Sem Testbeek")
            await expect(page.locator("#vragenset-1-label")).to_have_text("Rood")
            await page.locator("#vragenset-1").click()
            await expect(page.locator(f"#{FORM}")).to_have_attribute("data-shape", "detail")

            await page.locator(f"#{FORM}-antwoord-ja").check()
            await page.locator(f"#{FORM}-detail-overlastsignalen-ja").check()
            await page.locator(f"#{FORM}-detail-huurachterstand-nee").check()
            await page.locator(f"#{FORM}-detail-overige-bijzonderheden").fill(TYPED)
            await page.locator(f"#{FORM}-verstuur").click()
            await expect(page.locator(f"#{FORM}-bevestiging")).to_have_text(
                "Uw antwoord is verzonden."
            )
            await expect(page.locator(f"#{FORM}-status")).to_have_attribute(
                "data-status", "verzonden"
            )

            (record,) = await read_topic(stack.bootstrap, RESULTS, 1, within=90)
            published = await read_topic(stack.bootstrap, answer_topic(AT_THE_DESK), 1)
        store = stack.adapters[AT_THE_DESK].store
        assert store is not None
        desk_log = await store.desk_events()

    result = decode(record.value)
    assert isinstance(result, RoundResult)
    assert result.round_id == uuid.UUID(round_id)
    assert result.completion is Completion.COMPLETE
    assert {p.partner for p in result.partners} == set(policy.partners(COLOUR))
    outcomes = {(p.partner, o.key, o.subject_ref): o for p in result.partners for o in p.questions}
    assert all(o.status is OutcomeStatus.ANSWERED for o in outcomes.values())

    # Exactly what the caseworker gave, as the partner signed and published it.
    desk_answer = outcomes[(AT_THE_DESK, "woonsignalen", "jongere")].answer
    assert desk_answer is not None
    assert _content(desk_answer) == {
        "antwoord": "ja",
        "detail": {
            "overlastsignalen": True,
            "huurachterstand": False,
            "overige_bijzonderheden": TYPED,
        },
    }
    messages = [decode(r.value) for r in published]
    assert all(isinstance(m, PartnerAnswer) for m in messages)
    # The desk sends at once; the running adapter's outbox may send the same message again.
    (message,) = {m.message_id: m for m in messages if isinstance(m, PartnerAnswer)}.values()
    (item,) = message.answers
    assert desk_answer == item.model_copy(update={"signature": None})
    # Signed with the partner's own key, as the municipality requires.
    raw = json.loads(published[0].value)
    keys = load_partner_keys(ensure_partner_keys(options.workdir))[AT_THE_DESK]
    verify_item(keys, raw, raw["answers"][0])
    assert len(no_system.requests) == 1, "the adapter asked its (empty) lookup first"

    # The others answered through their lookups (the reference data: Sem is known to all).
    others = {k: o for k, o in outcomes.items() if k[0] is not AT_THE_DESK}
    assert {k[0] for k in others} == set(policy.partners(COLOUR)) - {AT_THE_DESK}
    vir = others[(Partner.VERWIJSINDEX, "vir_match", "jongere")].answer
    assert vir is not None
    assert vir.antwoord is YesNo.JA
    assert vir.met_wie

    # The desk logged who answered, and the browser loaded nothing from elsewhere.
    answered = [e for e in desk_log if e.action is DeskAction.ANSWERED]
    assert [(e.user, e.question_id) for e in answered] == [(DESK_USER, desk_answer.question_id)]
    assert watch.foreign_requests(url) == []
    assert watch.problems() == []
