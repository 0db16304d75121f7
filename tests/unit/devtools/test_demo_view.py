"""How `iaj demo` renders its ending, on a hand-made report: no Kafka, no database."""

from __future__ import annotations

import datetime as dt
import io
import uuid
from pathlib import Path
from typing import Any

from rich.console import Console

from contracts.enums import AnswerShape, Colour, Partner, YesNo
from contracts.messages import (
    AnswerItem,
    Completion,
    OutcomeStatus,
    PartnerResult,
    QuestionOutcome,
    RoundResult,
)
from contracts.policy import PolicyRef
from devtools.demo.progress import PartnerProgress, Progress, RefusalGroup
from devtools.demo.report import DemoReport, DemoRound, ImportReport, Summary
from devtools.demo.results_view import print_results
from devtools.synthetic_youths import SyntheticYouth, focus_list
from handlers.states import RoundState

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
LONG = "Traject loopt sinds vorig voorjaar en wordt in overleg met school voortgezet (fictief)."


def _outcome(
    key: str, status: OutcomeStatus, answer: dict[str, Any] | None = None, subject: str = ""
) -> QuestionOutcome:
    question_id = uuid.uuid4()
    item = None if answer is None else AnswerItem(question_id=question_id, **answer)
    return QuestionOutcome(
        question_id=question_id,
        key=key,
        subject_ref=subject or "jongere",
        shape=AnswerShape.JA_NEE,
        status=status,
        answer=item,
    )


def _report(youth: SyntheticYouth) -> DemoReport:
    answered, expired = OutcomeStatus.ANSWERED, OutcomeStatus.EXPIRED
    nee: dict[str, Any] = {"antwoord": YesNo.NEE}
    ja: dict[str, Any] = {"antwoord": YesNo.JA}
    partners = (
        PartnerResult(
            partner=Partner.VERWIJSINDEX,
            questions=(
                _outcome("vir_match", answered, {**ja, "met_wie": (Partner.CJG, Partner.RN)}),
            ),
        ),
        PartnerResult(
            partner=Partner.LEERPLICHT,
            questions=(
                _outcome("schooluitval", answered, nee),
                _outcome("vir_match", answered, nee),
            ),
        ),
        PartnerResult(
            partner=Partner.CJG,
            questions=(_outcome("vir_match_bekend", OutcomeStatus.NOT_APPLICABLE),),
        ),
        PartnerResult(partner=Partner.SWT, questions=(_outcome("actieve_begeleiding", expired),)),
        PartnerResult(
            partner=Partner.SZW_UWV,
            questions=(_outcome("uitkering", answered, {**ja, "toelichting": LONG}),),
        ),
        PartnerResult(
            partner=Partner.VEILIGHEIDSHUIS,
            questions=(
                _outcome("risicosignalen", answered, nee, "gezinslid-1"),
                _outcome("risicosignalen", answered, nee),
                _outcome("risico_voor_gezin", answered, nee),
                _outcome("risico_voor_gezin", answered, ja, "gezinslid-1"),
            ),
        ),
    )
    result = RoundResult(
        round_id=uuid.uuid4(),
        correlation_id=uuid.uuid4(),
        policy=PolicyRef(id="haarlem-iaj", version=1),
        case_id=uuid.uuid4(),
        colour=youth.colour,
        completion=Completion.DEADLINE,
        opened_at=NOW,
        completed_at=NOW,
        partners=partners,
    )
    final = Progress(
        at=NOW,
        partners=tuple(
            PartnerProgress(p, p is Partner.SWT, 1, 1, 0, int(p is Partner.SWT), 0, 1, 0)
            for p in Partner
        ),
        rounds={RoundState.DEADLINE: 1},
        opened=1,
        to_open=1,
        last_deadline=NOW,
        results=1,
        dead_letters=0,
        late_answers=0,
        outbox_unsent=0,
    )
    rounds = (DemoRound(youth, str(result.case_id), str(result.round_id), result),)
    return DemoReport(
        seed=1,
        round_deadline=dt.timedelta(seconds=20),
        oversharing=frozenset({Partner.SWT}),
        workdir=Path("/tmp/demo"),
        kept=False,
        imported=ImportReport(rows=2, taken_in=1, not_taken_in=((2, "bruto list"),)),
        rounds=rounds,
        final=final,
        refusals=(
            RefusalGroup(
                Partner.SWT,
                "actieve_begeleiding",
                "field_not_permitted",
                "toelichting",
                "lookup",
                1,
            ),
        ),
        summary=Summary.of(rounds, final),
        started_seconds=5.0,
        elapsed_seconds=30.0,
    )


def _rendered() -> list[str]:
    (case,) = (y.case for y in focus_list(1, today=NOW.date()))
    console = Console(file=io.StringIO(), width=100, record=True)
    print_results(console, _report(SyntheticYouth(case, Colour.ORANJE)))
    return console.export_text().splitlines()


def test_each_partner_gets_a_compact_line_and_plain_nee_partners_are_grouped() -> None:
    lines = [line.strip() for line in _rendered()]
    assert any(
        line.startswith("verwijsindex") and "ja · met wie: cjg, rn" in line for line in lines
    )
    assert any(line.startswith("swt") and line.endswith("expired") for line in lines)
    assert any(line.startswith("all nee") and line.endswith("leerplicht") for line in lines)
    assert any(line.startswith("not_applicable") and line.endswith("cjg") for line in lines)
    # The youth's own answers first; several plain 'nee's folded into one line.
    vh = lines.index(next(line for line in lines if line.startswith("veiligheidshuis")))
    assert lines[vh].endswith("gezinslid-1 risico_voor_gezin: ja")
    assert lines[vh + 1] == "3 other questions: nee"


def test_texts_are_clipped_and_nothing_is_wider_than_the_terminal() -> None:
    lines = _rendered()
    assert LONG not in "\n".join(lines)
    assert any("“Traject loopt sinds vorig voorjaar" in line and "…”" in line for line in lines)
    assert max(len(line) for line in lines) <= 100


def test_the_refusals_at_source_are_explained_from_the_numbers() -> None:
    text = " ".join(" ".join(_rendered()).split())
    assert "swt's adapter refused 1 answer;" in text
    assert "The municipality holds no refusal of a swt answer" in text
    assert "the 1 'expired' above" in text
