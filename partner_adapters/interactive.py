"""Turn `iaj-adapter answer` flags or prompts into answer fields, for the same check as a
lookup's answer. Nothing here decides what is permitted: `contracts.check_answer` does."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import typer

from contracts import AnswerShape, LifeDomain, Partner, YesNo
from contracts.policy import DetailFieldKind
from partner_adapters.state import OpenQuestion

__all__ = ["ask", "from_flags", "parse_detail"]

_TRUE = {"ja", "true", "yes", "1"}
_FALSE = {"nee", "false", "no", "0"}


def from_flags(
    open_question: OpenQuestion,
    antwoord: YesNo,
    met_wie: Sequence[str] | None,
    domeinen: Sequence[str] | None,
    toelichting: str | None,
    detail: Sequence[str] | None,
) -> dict[str, Any]:
    """The fields as given; a field the question does not permit is left for the check to refuse."""
    given: dict[str, Any] = {"antwoord": antwoord.value}
    if met_wie:
        given["met_wie"] = list(met_wie)
    if domeinen:
        given["domeinen"] = list(domeinen)
    if toelichting:
        given["toelichting"] = toelichting
    if detail:
        given["detail"] = parse_detail(open_question, detail)
    return given


def parse_detail(open_question: OpenQuestion, pairs: Sequence[str]) -> dict[str, Any]:
    """`NAME=VALUE` pairs, each value read as its field's kind (ja/nee, a number, text)."""
    kinds = {f.name: f.kind for f in open_question.question.detail_fields}
    detail: dict[str, Any] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise typer.BadParameter(f"{pair!r} is not NAME=VALUE", param_hint="--detail")
        detail[name.strip()] = _typed(kinds.get(name.strip()), value.strip())
    return detail


def _typed(kind: DetailFieldKind | None, value: str) -> Any:
    if kind is DetailFieldKind.JA_NEE and value.lower() in _TRUE | _FALSE:
        return value.lower() in _TRUE
    if kind is DetailFieldKind.AANTAL and value.isdigit():
        return int(value)
    return value  # anything else stays text; the check refuses what does not fit


def ask(open_question: OpenQuestion) -> dict[str, Any]:
    """Ask a person for the answer, offering only what the question's shape permits."""
    question = open_question.question
    subject = open_question.subject
    typer.echo(f"\nQuestion {question.question_id} ({question.key}, {open_question.colour}):")
    typer.echo(f"  {question.text}")
    if subject is not None:
        typer.echo(f"  About: {subject.naam}, born {subject.geboortedatum} ({subject.role})")
    antwoord = _choose("Antwoord", [y.value for y in YesNo])
    given: dict[str, Any] = {"antwoord": antwoord}
    if antwoord == YesNo.NEE.value:
        return given
    shape = question.shape
    if shape is AnswerShape.JA_NEE_MET_WIE:
        given["met_wie"] = _ask_list("Met wie (partner codes)", [p.value for p in Partner])
    elif shape is AnswerShape.JA_NEE_DOMEINEN:
        given["domeinen"] = _ask_list("Op welke leefgebieden", [d.value for d in LifeDomain])
    elif shape is AnswerShape.JA_NEE_TOELICHTING:
        limit = question.text_limit
        given["toelichting"] = _ask_text(f"Toelichting (at most {limit} characters)")
    elif shape is AnswerShape.DETAIL:
        given["detail"] = {
            f.name: value
            for f in question.detail_fields
            if (value := _ask_detail(f.name, f.kind)) is not None
        }
    return given


def _choose(label: str, choices: list[str]) -> str:
    shown = "/".join(c for c in choices if c)
    while True:
        value = str(typer.prompt(f"{label} [{shown}]", default="", show_default=False))
        if value.strip().lower() in choices:
            return value.strip().lower()
        typer.echo(f"  please answer one of: {shown}")


def _ask_list(label: str, choices: list[str]) -> list[str]:
    typer.echo(f"  choose from: {', '.join(choices)}")
    text = typer.prompt(
        f"{label}, comma separated (empty for none)", default="", show_default=False
    )
    return [part.strip() for part in text.split(",") if part.strip()]


def _ask_text(label: str) -> str | None:
    text: str = typer.prompt(f"{label} (empty for none)", default="", show_default=False)
    return text.strip() or None


def _ask_detail(name: str, kind: DetailFieldKind) -> Any:
    if kind is DetailFieldKind.JA_NEE:
        choice = _choose(f"{name}, empty to leave out", ["ja", "nee", ""])
        return None if choice == "" else choice == "ja"
    if kind is DetailFieldKind.AANTAL:
        text = typer.prompt(
            f"{name} (a number, empty to leave out)", default="", show_default=False
        )
        return _typed(kind, text.strip()) if text.strip() else None
    return _ask_text(name)
