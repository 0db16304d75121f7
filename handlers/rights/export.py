"""Inzage (AVG art. 15): everything the municipal database holds about a youth and the family
members of the case, and every processing log entry about them, to hand to the youth.

`export_case` gathers it (and logs that it did: an export is itself a processing); `to_html`
renders it as one standalone page with every value escaped. The export never goes to a log.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import inspect, or_, select

from contracts.enums import Partner
from handlers.cases import get_case
from handlers.db.tables import (
    AnswerRow,
    Base,
    LateAnswerRow,
    ProcessingLogRow,
    QuestionRow,
    RefusalRow,
    RoundRow,
)
from handlers.db.uow import UnitOfWork
from handlers.processing_log import CASE_EXPORTED, log_processing

__all__ = ["CASE_EXPORTED", "CaseExport", "export_case", "to_html"]

# Columns that say nothing about the person and only make the export harder to read.
_QUESTION_FIELDS = ("id", "partner", "key", "subject_ref", "text", "shape", "status")
_QUESTION_TIMES = ("issued_at", "closed_at")


@dataclass(frozen=True)
class CaseExport:
    """What is held about one case, as plain JSON values (strings, numbers, lists, dicts)."""

    case_id: str
    exported_at: str
    exported_by: str
    case: dict[str, Any]
    family: list[dict[str, Any]]
    rounds: list[dict[str, Any]]
    processing_log: list[dict[str, Any]]

    def to_json(self) -> dict[str, Any]:
        return {
            "case_id": self.case_id,
            "exported_at": self.exported_at,
            "exported_by": self.exported_by,
            "case": self.case,
            "family": self.family,
            "rounds": self.rounds,
            "processing_log": self.processing_log,
            "shared_with_partners": self.shared_with_partners(),
        }

    def shared_with_partners(self) -> list[dict[str, Any]]:
        """The log entries where data went to a partner or came from one, oldest first."""
        return [entry for entry in self.processing_log if entry["partner"] is not None]


async def export_case(
    uow: UnitOfWork, case_id: str, *, actor: str, how: str, now: dt.datetime
) -> CaseExport:
    """Everything held about the case; the export is logged (`how`: e.g. "JSON", "HTML"),
    and the export shows that entry too. Caller commits."""
    case = await get_case(uow, case_id)
    log_processing(
        uow, actor, CASE_EXPORTED, f"inzage (AVG art. 15): export as {how}", case_id=case_id
    )
    await uow.session.flush()
    rounds = (
        await uow.session.scalars(
            select(RoundRow).where(RoundRow.case_id == case_id).order_by(RoundRow.opened_at)
        )
    ).all()
    round_ids = [r.id for r in rounds]
    questions = await _by_round(uow, QuestionRow, round_ids)
    answers = {
        a.question_id: a
        for rows in (await _by_round(uow, AnswerRow, round_ids)).values()
        for a in rows
    }
    refusals = await _by_round(uow, RefusalRow, round_ids)
    late = await _by_round(uow, LateAnswerRow, round_ids)
    about = ProcessingLogRow.case_id == case_id
    if round_ids:
        about = or_(about, ProcessingLogRow.round_id.in_(round_ids))
    log = (
        await uow.session.scalars(
            select(ProcessingLogRow).where(about).order_by(ProcessingLogRow.at, ProcessingLogRow.id)
        )
    ).all()
    return CaseExport(
        case_id=case_id,
        exported_at=_plain(now),
        exported_by=actor,
        case={k: v for k, v in _columns(case).items() if k != "id"},
        family=[
            {"ordinal": m.ordinal, "naam": m.naam, "geboortedatum": _plain(m.geboortedatum)}
            for m in case.family
        ],
        rounds=[
            {
                **_columns(r),
                "questions": [
                    _question(q, answers.get(q.id))
                    for q in sorted(
                        questions.get(r.id, []), key=lambda q: (q.partner, q.key, q.subject_ref)
                    )
                ],
                "refusals": [
                    {k: v for k, v in _columns(x).items() if k not in ("id", "round_id")}
                    for x in refusals.get(r.id, [])
                ],
                "late_answers": [
                    {k: v for k, v in _columns(x).items() if k not in ("id", "round_id")}
                    for x in late.get(r.id, [])
                ],
            }
            for r in rounds
        ],
        processing_log=[{k: v for k, v in _columns(entry).items() if k != "id"} for entry in log],
    )


async def _by_round(
    uow: UnitOfWork,
    model: Any,  # QuestionRow, AnswerRow, RefusalRow or LateAnswerRow: each has a round_id
    ids: list[str],
) -> dict[str, list[Any]]:
    grouped: dict[str, list[Any]] = {}
    if not ids:
        return grouped
    for row in await uow.session.scalars(
        select(model).where(model.round_id.in_(ids)).order_by(model.id)
    ):
        if row.round_id is not None:
            grouped.setdefault(row.round_id, []).append(row)
    return grouped


def _question(q: QuestionRow, answer: AnswerRow | None) -> dict[str, Any]:
    shown: dict[str, Any] = {name: getattr(q, name) for name in _QUESTION_FIELDS}
    shown.update({name: _plain(getattr(q, name)) for name in _QUESTION_TIMES})
    shown["answer"] = (
        None
        if answer is None
        else {"content": _plain(answer.content), "received_at": _plain(answer.received_at)}
    )
    return shown


def _columns(row: Base) -> dict[str, Any]:
    """Every column of the row (new columns included, so nothing held is left out)."""
    return {c.key: _plain(getattr(row, c.key)) for c in inspect(type(row)).column_attrs}


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


# --- the page to hand over ---------------------------------------------------------------

_LABELS = {
    "naam": "Naam",
    "geboortedatum": "Geboortedatum",
    "district": "Stadsdeel",
    "track": "Traject",
    "criteria": "Criteria (afwegingskader)",
    "adres": "Adres",
    "adres_reden": "Reden dat het adres nodig is",
    "informed_on": "Informerende brief verstuurd",
    "colour": "Kleurlabel",
    "listed_on": "Op de focuslijst geplaatst",
    "left_on": "Uitstroom",
    "uitstroombrief_on": "Uitstroombrief verstuurd",
    "registered_at": "Geregistreerd op",
    "registered_by": "Geregistreerd door",
    "ordinal": "Nr.",
    "id": "Kenmerk",
    "policy_id": "Beleid",
    "policy_version": "Beleidsversie",
    "correlation_id": "Correlatiekenmerk",
    "command_id": "Opdrachtkenmerk",
    "state": "Status",
    "opened_at": "Geopend op",
    "opened_by": "Geopend door",
    "deadline": "Uiterste antwoorddatum",
    "completed_at": "Afgerond op",
    "partner": "Partner",
    "key": "Vraag (code)",
    "subject_ref": "Over",
    "text": "Vraag",
    "shape": "Antwoordvorm",
    "status": "Status",
    "issued_at": "Verstuurd",
    "closed_at": "Gesloten",
    "answer": "Antwoord",
    "message_id": "Berichtkenmerk",
    "question_id": "Vraagkenmerk",
    "reason": "Reden",
    "field": "Veld",
    "received_at": "Ontvangen",
    "at": "Tijdstip",
    "actor": "Door",
    "action": "Handeling",
    "round_id": "Ronde",
    "purpose": "Doel / toelichting",
    "case_id": "Dossier",
}

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 60em; color: #111; }
h1 { font-size: 1.6em; } h2 { margin-top: 2em; border-bottom: 1px solid #999; }
table { border-collapse: collapse; width: 100%; margin: .5em 0 1.5em; font-size: .92em; }
th, td { border: 1px solid #bbb; padding: .3em .5em; text-align: left; vertical-align: top; }
th { background: #eee; } .kv th { width: 30%; } .none { color: #666; font-style: italic; }
@media print { body { margin: 0; max-width: none; } }
"""


def _e(value: Any) -> str:
    """Any value as escaped text: nothing in the data can become markup."""
    if value is None:
        return '<span class="none">—</span>'
    if isinstance(value, bool):
        return "ja" if value else "nee"
    if isinstance(value, Mapping):
        return "; ".join(f"{_e(k)}: {_e(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(_e(v) for v in value) if value else '<span class="none">—</span>'
    return html.escape(str(value), quote=True)


def _label(name: str) -> str:
    return html.escape(_LABELS.get(name, name))


def _partner(code: Any) -> str:
    try:
        return f"{html.escape(Partner(code).organisation)} ({_e(code)})"
    except ValueError:
        return _e(code)


def _kv(fields: Mapping[str, Any]) -> str:
    rows = "".join(f"<tr><th>{_label(k)}</th><td>{_e(v)}</td></tr>" for k, v in fields.items())
    return f'<table class="kv">{rows}</table>'


def _table(rows: Sequence[Mapping[str, Any]], columns: Iterable[str], empty: str) -> str:
    columns = list(columns)
    if not rows:
        return f'<p class="none">{html.escape(empty)}</p>'
    head = "".join(f"<th>{_label(c)}</th>" for c in columns)
    body = "".join(
        "<tr>"
        + "".join(
            f"<td>{_partner(row.get(c)) if c == 'partner' and row.get(c) else _e(row.get(c))}</td>"
            for c in columns
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _answer(answer: Mapping[str, Any] | None) -> Any:
    if answer is None:
        return None
    return {**answer["content"], "ontvangen": answer["received_at"]}


def to_html(export: CaseExport) -> str:
    """A standalone page (no scripts, no external files) a regisseur can hand over or print."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="nl"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>Inzage: gegevens in de Integrale Aanpak Jeugd</title>",
        f"<style>{_STYLE}</style></head><body>",
        "<h1>Inzage: gegevens in de Integrale Aanpak Jeugd</h1>",
        "<p>Dit overzicht bevat alle gegevens die de gemeente in het kader van de Integrale "
        "Aanpak Jeugd over de jongere en de gezinsleden in dit dossier bewaart, wat daarvan "
        "met welke partner is gedeeld en wat partners hebben geantwoord, en elke verwerking "
        "van die gegevens (AVG artikel 15).</p>",
        _kv(
            {
                "case_id": export.case_id,
                "Opgemaakt op": export.exported_at,
                "Opgemaakt door": export.exported_by,
            }
        ),
        "<h2>De jongere</h2>",
        _kv(export.case),
        "<h2>Gezinsleden</h2>",
        _table(export.family, ("ordinal", "naam", "geboortedatum"), "Geen gezinsleden."),
        "<h2>Uitvraagrondes</h2>",
    ]
    if not export.rounds:
        parts.append('<p class="none">Er is geen uitvraag gedaan.</p>')
    for n, rnd in enumerate(export.rounds, start=1):
        summary = {
            k: v
            for k, v in rnd.items()
            if k not in ("questions", "refusals", "late_answers", "case_id")
        }
        questions = [{**q, "answer": _answer(q["answer"])} for q in rnd["questions"]]
        parts += [
            f"<h3>Ronde {n} ({_e(rnd.get('colour'))})</h3>",
            _kv(summary),
            "<h4>Vragen en antwoorden</h4>",
            _table(
                questions,
                ("partner", "subject_ref", "text", "shape", "status", "issued_at", "answer"),
                "Geen vragen.",
            ),
            "<h4>Geweigerde antwoorden (zonder inhoud)</h4>",
            _table(
                rnd["refusals"],
                ("partner", "question_id", "reason", "field", "received_at"),
                "Geen.",
            ),
            "<h4>Te late antwoorden (niet bewaard)</h4>",
            _table(rnd["late_answers"], ("partner", "question_id", "received_at"), "Geen."),
        ]
    parts += [
        "<h2>Gedeeld met en ontvangen van partners</h2>",
        _table(
            export.shared_with_partners(),
            ("at", "partner", "action", "round_id", "purpose"),
            "Niets.",
        ),
        "<h2>Verwerkingslogboek</h2>",
        "<p>Elke verwerking: wie, wanneer, wat, met welke partner en waarom.</p>",
        _table(
            export.processing_log,
            ("at", "actor", "action", "partner", "round_id", "purpose"),
            "Geen verwerkingen.",
        ),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"
