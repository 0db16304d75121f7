"""What one demo run produced, and its JSON form (`iaj demo --json`).

Never holds a bruto row's content: the import report names rows by number and reason only.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contracts.enums import Partner, YesNo
from contracts.messages import Completion, OutcomeStatus, QuestionOutcome, RoundResult
from devtools.demo.progress import Progress, RefusalGroup
from devtools.synthetic_youths import SyntheticYouth

__all__ = ["DemoReport", "DemoRound", "ImportReport", "RefusalGroup", "Summary", "report_json"]


@dataclass(frozen=True)
class ImportReport:
    rows: int
    taken_in: int
    not_taken_in: tuple[tuple[int, str], ...]  # (line in the file, reason)


@dataclass(frozen=True)
class DemoRound:
    youth: SyntheticYouth
    case_id: str
    round_id: str
    result: RoundResult | None  # None if it never arrived on iaj.results


@dataclass(frozen=True)
class Summary:
    rounds: int
    complete: int
    by_deadline: int
    unfinished: int
    ja: int
    nee: int
    expired: int
    not_applicable: int
    refused_at_source: int
    refused_by_municipality: int
    late_answers: int
    dead_letters: int

    @classmethod
    def of(cls, rounds: tuple[DemoRound, ...], final: Progress) -> Summary:
        results = [r.result for r in rounds if r.result is not None]
        outcomes = [o for result in results for p in result.partners for o in p.questions]
        statuses = Counter(o.status for o in outcomes)
        answers = Counter(o.answer.antwoord for o in outcomes if o.answer is not None)
        return cls(
            rounds=len(rounds),
            complete=sum(r.completion is Completion.COMPLETE for r in results),
            by_deadline=sum(r.completion is Completion.DEADLINE for r in results),
            unfinished=len(rounds) - len(results),
            ja=answers[YesNo.JA],
            nee=answers[YesNo.NEE],
            expired=statuses[OutcomeStatus.EXPIRED],
            not_applicable=statuses[OutcomeStatus.NOT_APPLICABLE],
            refused_at_source=final.refused_at_source,
            refused_by_municipality=sum(p.refused_by_municipality for p in final.partners),
            late_answers=final.late_answers,
            dead_letters=final.dead_letters,
        )


@dataclass(frozen=True)
class DemoReport:
    seed: int
    round_deadline: dt.timedelta
    oversharing: frozenset[Partner]
    workdir: Path
    kept: bool  # False: the temporary workdir has been removed
    imported: ImportReport
    rounds: tuple[DemoRound, ...]
    final: Progress
    refusals: tuple[RefusalGroup, ...]
    summary: Summary
    started_seconds: float  # until the stack was up
    elapsed_seconds: float  # everything, shutdown included

    @property
    def ok(self) -> bool:
        return self.summary.unfinished == 0


def report_json(report: DemoReport) -> dict[str, Any]:
    s = report.summary
    return {
        "ok": report.ok,
        "seed": report.seed,
        "elapsed_seconds": round(report.elapsed_seconds, 1),
        "stack_started_seconds": round(report.started_seconds, 1),
        "round_deadline_seconds": report.round_deadline.total_seconds(),
        "oversharing": sorted(p.value for p in report.oversharing),
        "workdir": str(report.workdir) if report.kept else None,
        "import": {
            "rows": report.imported.rows,
            "taken_in": report.imported.taken_in,
            "not_taken_in": [{"row": r, "reason": why} for r, why in report.imported.not_taken_in],
        },
        "summary": {
            "rounds": s.rounds,
            "complete": s.complete,
            "by_deadline": s.by_deadline,
            "unfinished": s.unfinished,
            "answers": {"ja": s.ja, "nee": s.nee},
            "expired": s.expired,
            "not_applicable": s.not_applicable,
            "refused_at_source": s.refused_at_source,
            "refused_by_municipality": s.refused_by_municipality,
            "late_answers": s.late_answers,
            "dead_letters": s.dead_letters,
        },
        "partners": {
            p.partner.value: {
                "oversharing": p.oversharing,
                "sets_sent": p.sets_sent,
                "sets_answered": p.answered,
                "sets_open": p.open,
                "sets_expired": p.expired,
                "refused_at_source": p.refused_at_source,
                "answers_accepted": p.accepted,
            }
            for p in report.final.partners
        },
        "refusals_at_source": [
            {
                "partner": g.partner.value,
                "question_key": g.question_key,
                "reason": g.reason,
                "field": g.field,
                "source": g.source,
                "count": g.count,
            }
            for g in report.refusals
        ],
        "rounds": [_round_json(r) for r in report.rounds],
    }


def _round_json(r: DemoRound) -> dict[str, Any]:
    result = r.result
    return {
        "naam": r.youth.case.naam,
        "colour": r.youth.colour.value,
        "family_members": len(r.youth.case.family),
        "case_id": r.case_id,
        "round_id": r.round_id,
        "completion": None if result is None else result.completion.value,
        "partners": {}
        if result is None
        else {p.partner.value: [_outcome_json(o) for o in p.questions] for p in result.partners},
    }


def _outcome_json(o: QuestionOutcome) -> dict[str, Any]:
    return {
        "key": o.key,
        "subject_ref": o.subject_ref,
        "status": o.status.value,
        "answer": None
        if o.answer is None
        else o.answer.model_dump(mode="json", exclude={"question_id"}, exclude_none=True),
    }
