"""The municipal service and the 14 reference adapters over a real Kafka-compatible broker.

Each test runs its own embedded broker: the adapters' consumer groups have fixed names
(`iaj-adapter-<partner>`, as the ACLs expect), and a shared broker would hand the next test
the offsets the previous one committed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select, update

from contracts.enums import Colour, District, Partner, Track, YesNo
from contracts.messages import Completion, OutcomeStatus, RoundResult, utc_now
from contracts.topics import RESULTS
from contracts.wire import decode
from devtools.embedded_stack import EmbeddedStack, StackOptions
from handlers.cases import Criterion, FamilyMember, NewCase, register_case
from handlers.db.tables import QuestionRow, RoundRow
from handlers.db.uow import UnitOfWork
from handlers.rounds import OpenRound
from tests.integration.broker.service.dbcheck import all_text, count
from tests.integration.broker.service.partners import read_topic

pytestmark = pytest.mark.e2e


def _sem(colour: Colour) -> NewCase:
    """Known to every reference partner (partner_adapters/reference/cast.py); invented people.
    Labelled `colour`, with the criteria it needs; the family only where the label has one."""
    family = (
        FamilyMember(naam="Noor Testbeek", geboortedatum=dt.date(1981, 5, 30)),
        FamilyMember(naam="Bram Testbeek", geboortedatum=dt.date(1979, 9, 9)),
    )
    bit = (Criterion.GEDRAG_GECONTINUEERD,) if colour is Colour.ROOD else ()
    return NewCase(
        naam="Sem Testbeek",
        geboortedatum=dt.date(2008, 3, 14),
        district=District.SCHALKWIJK,
        track=Track.IAJ,
        criteria=(Criterion.POLITIECONTACTEN, *bit),
        colour=colour,
        family=() if colour is Colour.GROEN else family,
        informed_on=dt.date.today() - dt.timedelta(days=3),
    )


async def _open(stack: EmbeddedStack, colour: Colour) -> str:
    service = stack.service
    assert service is not None
    async with UnitOfWork(service.sessions) as uow:
        case_id = await register_case(
            uow, _sem(colour), actor="test", today=dt.date.today(), policy=service.policy
        )
        await uow.commit()
    return await service.open_round(OpenRound(case_id=case_id, colour=colour, actor="test"))


async def _result(stack: EmbeddedStack, round_id: str) -> RoundResult:
    (record,) = await read_topic(stack.bootstrap, RESULTS, 1, within=90)
    result = decode(record.value)
    assert isinstance(result, RoundResult)
    assert result.round_id == uuid.UUID(round_id)
    return result


async def _round(stack: EmbeddedStack, colour: Colour) -> RoundResult:
    return await _result(stack, await _open(stack, colour))


async def _wait_until_only_open(stack: EmbeddedStack, partner: Partner, within: float) -> None:
    """Every question is answered except `partner`'s (which its adapter refused to send)."""
    service = stack.service
    assert service is not None
    async with asyncio.timeout(within):
        while True:
            async with service.sessions() as session:
                open_partners = set(
                    await session.scalars(
                        select(QuestionRow.partner).where(QuestionRow.status != "answered")
                    )
                )
            if open_partners == {partner.value}:
                return
            await asyncio.sleep(0.2)


@pytest.mark.parametrize("colour", list(Colour))
async def test_the_reference_adapters_complete_a_round(
    tmp_path: Path,
    colour: Colour,
) -> None:
    async with EmbeddedStack(StackOptions(workdir=tmp_path)) as stack:
        result = await _round(stack, colour)
        assert stack.service is not None
        policy = stack.service.policy
    assert result.completion is Completion.COMPLETE
    assert {p.partner for p in result.partners} == set(policy.partners(colour))
    outcomes = {(p.partner, o.key, o.subject_ref): o for p in result.partners for o in p.questions}
    assert all(o.status is OutcomeStatus.ANSWERED for o in outcomes.values())
    vir = outcomes[(Partner.VERWIJSINDEX, "vir_match", "jongere")].answer
    assert vir is not None
    assert vir.antwoord is YesNo.JA
    assert vir.met_wie
    cjg = outcomes[(Partner.CJG, "vir_match_bekend", "jongere")]
    assert cjg.answer is not None, "the dependent CJG question was asked and answered"
    family = {ref for (_, _, ref) in outcomes if ref != "jongere"}
    assert family == (set() if colour is Colour.GROEN else {"gezinslid-1", "gezinslid-2"})


async def test_an_over_sharing_partner_is_stopped_at_source(
    tmp_path: Path,
) -> None:
    options = StackOptions(workdir=tmp_path, oversharing=frozenset({Partner.SWT}))
    async with EmbeddedStack(options) as stack:
        round_id = await _open(stack, Colour.ORANJE)
        await _wait_until_only_open(stack, Partner.SWT, within=90)
        assert stack.service is not None
        async with stack.service.sessions() as session:  # the deadline passes now
            await session.execute(
                update(RoundRow).where(RoundRow.id == round_id).values(deadline=utc_now())
            )
            await session.commit()
        await stack.service.expire_now()
        result = await _result(stack, round_id)
        swt_store = stack.adapters[Partner.SWT].store
        assert swt_store is not None
        swt_status = await swt_store.status(dt.datetime.now(dt.UTC))
        service = stack.service
        assert service is not None
        municipal_text = await all_text(service.sessions)
        municipal_refusals = await count(service.sessions, "refusals")

    assert result.completion is Completion.DEADLINE
    swt = next(p for p in result.partners if p.partner is Partner.SWT)
    assert {o.status for o in swt.questions} == {OutcomeStatus.EXPIRED}
    others = [o for p in result.partners if p.partner is not Partner.SWT for o in p.questions]
    assert all(o.status is OutcomeStatus.ANSWERED for o in others)

    assert swt_status.refused_at_source >= 1
    assert {r.refusal.reason for r in swt_status.recent_refusals} <= {
        "field_not_permitted",
        "content_on_nee",
        "extra_field",
    }
    # Nothing of the over-shared content reached the municipality, not even as a refusal.
    assert "Gezinscoach" not in municipal_text
    assert "Uitgebreide toelichting" not in municipal_text
    assert municipal_refusals == 0
    # And what the others sent is exactly what their questions permit.
    for outcome in others:
        assert outcome.answer is not None
        assert outcome.answer.toelichting is None, "oranje permits no toelichting"
