"""`iaj-adapter status | pending | answer` without Kafka (answers recorded, sent later)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from typer.testing import CliRunner

from contracts import Colour, Partner, QuestionSet
from partner_adapters.answering import answer_question_set
from partner_adapters.cli import app
from partner_adapters.reference import OversharingLookup
from partner_adapters.state import AdapterStore
from tests.unit.partner_adapters.builders import question_set
from tests.unit.partner_adapters.conftest import FAST_RETRY

runner = CliRunner()


def _prepare(state: Path, partner: Partner, colour: Colour) -> QuestionSet:
    """A question set the over-sharing lookup left (partly) open."""
    qs = question_set(partner, colour)

    async def work() -> None:
        store = await AdapterStore.open(state, partner)
        try:
            await answer_question_set(qs, OversharingLookup(), store, retry=FAST_RETRY)
        finally:
            await store.close()

    asyncio.run(work())
    return qs


def _unsent(state: Path, partner: Partner) -> int:
    async def work() -> int:
        store = await AdapterStore.open(state, partner)
        try:
            return len(await store.unsent())
        finally:
            await store.close()

    return asyncio.run(work())


def _invoke(*args: str, input: str | None = None) -> tuple[int, str]:
    result = runner.invoke(app, list(args), input=input)
    return result.exit_code, result.output


def test_status_counts_without_content(tmp_path: Path) -> None:
    state = tmp_path / "s.db"
    _prepare(state, Partner.LEERPLICHT, Colour.GROEN)
    code, out = _invoke("status", "--partner", "leerplicht", "--state-db", str(state), "--json")
    assert code == 0, out
    data = json.loads(out)
    assert data["question_sets"] == {"received": 1, "answered": 0, "pending": 1, "expired": 0}
    assert data["refused_at_source"] == 1
    assert data["recent_refusals"][0]["reason"] == "field_not_permitted"
    assert data["recent_refusals"][0]["field"] == "toelichting"
    assert "dossier" not in out.lower()

    code, table = _invoke("status", "--partner", "leerplicht", "--state-db", str(state))
    assert code == 0
    assert "refused at source" in table


def test_pending_lists_open_questions_with_their_shape(tmp_path: Path) -> None:
    state = tmp_path / "s.db"
    qs = _prepare(state, Partner.WONINGCORPORATIE, Colour.ROOD)
    code, out = _invoke(
        "pending", "--partner", "woningcorporatie", "--state-db", str(state), "--json"
    )
    assert code == 0, out
    [row] = json.loads(out)
    assert row["question_id"] == str(qs.questions[0].question_id)
    assert row["shape"] == "detail"
    assert [f["name"] for f in row["detail_fields"]] == [
        "overlastsignalen",
        "huurachterstand",
        "overige_bijzonderheden",
    ]
    assert row["subject"]["naam"] == "Sem Testbeek"
    assert (row["last_refusal"]["reason"], row["last_refusal"]["field"]) == (
        "field_not_permitted",
        "toelichting",
    )

    code, table = _invoke("pending", "--partner", "woningcorporatie", "--state-db", str(state))
    assert code == 0
    assert "woonsignalen" in table


def test_a_refused_manual_answer_exits_2_and_sends_nothing(tmp_path: Path) -> None:
    state = tmp_path / "s.db"
    qs = _prepare(state, Partner.LEERPLICHT, Colour.GROEN)
    code, out = _invoke(
        "answer", str(qs.questions[0].question_id), "--partner", "leerplicht",
        "--state-db", str(state), "--antwoord", "ja", "--toelichting", "meer dan gevraagd",
        "--bootstrap", "127.0.0.1:1",
    )  # fmt: skip
    assert code == 2
    assert "field_not_permitted" in out
    assert _unsent(state, Partner.LEERPLICHT) == 0


def test_a_manual_answer_from_flags_is_recorded(tmp_path: Path) -> None:
    state = tmp_path / "s.db"
    qs = _prepare(state, Partner.WONINGCORPORATIE, Colour.ROOD)
    code, out = _invoke(
        "answer", str(qs.questions[0].question_id)[:8], "--partner", "woningcorporatie",
        "--state-db", str(state), "--antwoord", "ja", "--detail", "overlastsignalen=ja",
        "--detail", "overige_bijzonderheden=Geluidsoverlast", "--record-only",
    )  # fmt: skip
    assert code == 0, out
    assert _unsent(state, Partner.WONINGCORPORATIE) == 1
    code, out = _invoke(
        "pending", "--partner", "woningcorporatie", "--state-db", str(state), "--json"
    )
    assert json.loads(out) == []


def test_a_manual_answer_can_be_given_interactively(tmp_path: Path) -> None:
    state = tmp_path / "s.db"
    qs = _prepare(state, Partner.VERWIJSINDEX, Colour.GROEN)
    code, out = _invoke(
        "answer", str(qs.questions[0].question_id), "--partner", "verwijsindex",
        "--state-db", str(state), "--record-only",
        input="misschien\nja\nswt, cjg\n",
    )  # fmt: skip
    assert code == 0, out
    assert "please answer one of" in out
    assert _unsent(state, Partner.VERWIJSINDEX) == 1


def test_an_unreachable_kafka_keeps_the_answer_for_later(tmp_path: Path) -> None:
    state = tmp_path / "s.db"
    qs = _prepare(state, Partner.LEERPLICHT, Colour.GROEN)
    code, out = _invoke(
        "answer", str(qs.questions[0].question_id), "--partner", "leerplicht",
        "--state-db", str(state), "--antwoord", "nee", "--bootstrap", "127.0.0.1:1",
    )  # fmt: skip
    assert code == 1, out
    assert "not sent yet" in out
    assert _unsent(state, Partner.LEERPLICHT) == 1


def test_an_unknown_question_or_missing_partner_is_a_usage_error(
    tmp_path: Path, monkeypatch: object
) -> None:
    state = tmp_path / "s.db"
    _prepare(state, Partner.RIEC, Colour.ROOD)
    code, out = _invoke(
        "answer", "ffffffff", "--partner", "riec", "--state-db", str(state), "--antwoord", "nee"
    )
    assert code == 2
    assert "no open question" in out
    code, out = _invoke("status", "--state-db", str(state))
    assert code == 2
    assert "partner" in out
