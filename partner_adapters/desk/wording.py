"""The desk's Dutch: labels of the closed lists, refusal reasons in a caseworker's words,
dates and durations. Code and docs are English; what a caseworker reads is Dutch."""

from __future__ import annotations

import datetime as dt
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from contracts import AnswerShape, Colour, LifeDomain, Question, RefusalReason
from contracts.policy.model import DetailFieldKind
from partner_adapters.policy_guard import PolicyReason

__all__ = [
    "COLOUR_LABELS",
    "DOMAIN_LABELS",
    "detail_label",
    "field_label",
    "format_date",
    "format_moment",
    "local_zone",
    "municipal_refusal_text",
    "policy_refusal_text",
    "refusal_text",
    "role_label",
    "shape_hint",
    "waiting_text",
]

COLOUR_LABELS: dict[Colour, str] = {
    Colour.GROEN: "Groen",
    Colour.ORANJE: "Oranje",
    Colour.ROOD: "Rood",
}

DOMAIN_LABELS: dict[LifeDomain, str] = {
    LifeDomain.FINANCIEN: "Financiën",
    LifeDomain.WERK_OPLEIDING: "Werk en opleiding",
    LifeDomain.TIJDSBESTEDING: "Tijdsbesteding",
    LifeDomain.HUISVESTING: "Huisvesting",
    LifeDomain.HUISELIJKE_RELATIES: "Huiselijke relaties",
    LifeDomain.GEESTELIJKE_GEZONDHEID: "Geestelijke gezondheid",
    LifeDomain.LICHAMELIJKE_GEZONDHEID: "Lichamelijke gezondheid",
    LifeDomain.VERSLAVING: "Verslaving",
    LifeDomain.ADL: "Algemene dagelijkse levensverrichtingen (ADL)",
    LifeDomain.SOCIAAL_NETWERK: "Sociaal netwerk",
    LifeDomain.MAATSCHAPPELIJKE_PARTICIPATIE: "Maatschappelijke participatie",
    LifeDomain.JUSTITIE: "Justitie",
}

_MONTHS = (
    "januari", "februari", "maart", "april", "mei", "juni",
    "juli", "augustus", "september", "oktober", "november", "december",
)  # fmt: skip


@cache
def local_zone() -> dt.tzinfo:
    """Dutch time where the system knows it (tzdata), else UTC (then said so on the page)."""
    try:
        return ZoneInfo("Europe/Amsterdam")
    except (ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def format_date(day: dt.date) -> str:
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


def format_moment(moment: dt.datetime) -> str:
    local = moment.astimezone(local_zone())
    suffix = " (UTC)" if local_zone() is dt.UTC else ""
    return f"{format_date(local.date())}, {local:%H:%M}{suffix}"


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def waiting_text(since: dt.datetime, now: dt.datetime) -> str:
    """How long ago, in whole days or hours: "3 dagen", "5 uur", "minder dan een uur"."""
    waited = now - since
    if waited >= dt.timedelta(days=1):
        return _count(waited.days, "dag", "dagen")
    hours = int(waited.total_seconds() // 3600)
    return "minder dan een uur" if hours < 1 else f"{hours} uur"


def role_label(subject_ref: str) -> str:
    if subject_ref == "jongere":
        return "jongere"
    return f"gezinslid {subject_ref.removeprefix('gezinslid-')}"


def detail_label(name: str) -> str:
    """A detail field's name as a label: `overige_bijzonderheden` -> "Overige bijzonderheden"."""
    words = name.replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def field_label(field: str | None) -> str:
    if field is None:
        return "het antwoord"
    if field.startswith("detail."):
        return f"'{detail_label(field.removeprefix('detail.'))}'"
    return {
        "antwoord": "ja of nee",
        "met_wie": "met welke organisaties",
        "domeinen": "op welke leefgebieden",
        "toelichting": "de toelichting",
        "detail": "de details",
    }.get(field, f"'{field}'")


def shape_hint(question: Question) -> str:
    """What an answer to `question` may carry, in a caseworker's words."""
    shape = question.shape
    if shape is AnswerShape.JA_NEE:
        return "Alleen ja of nee."
    if shape is AnswerShape.JA_NEE_MET_WIE:
        return "Ja of nee; bij ja ook met welke organisaties."
    if shape is AnswerShape.JA_NEE_DOMEINEN:
        return "Ja of nee; bij ja ook op welke leefgebieden."
    if shape is AnswerShape.JA_NEE_TOELICHTING:
        return (
            f"Ja of nee; bij ja een korte toelichting van hoogstens {question.text_limit} tekens."
        )
    return "Ja of nee; bij ja alleen de gevraagde details."


def refusal_text(reason: str, field: str | None, question: Question, given: object = None) -> str:
    """Why an answer was not taken, in plain Dutch, and what to do about it."""
    if reason == RefusalReason.EXTRA_FIELD:
        return (
            "Het formulier bevat een veld dat bij geen enkel antwoord hoort "
            f"({field_label(field)})."
        )
    if reason == RefusalReason.FIELD_NOT_PERMITTED:
        return (
            f"Bij deze vraag mag {field_label(field)} niet worden meegestuurd. "
            f"{shape_hint(question)}"
        )
    if reason == RefusalReason.CONTENT_ON_NEE:
        return "Bij 'nee' hoort geen verdere invulling. Maak de extra velden leeg, of kies 'ja'."
    if reason == RefusalReason.UNKNOWN_DETAIL_FIELD:
        return f"Het detailveld {field_label(field)} hoort niet bij deze vraag."
    if reason == RefusalReason.TEXT_TOO_LONG:
        used = f" (u gebruikte {len(given)})" if isinstance(given, str) else ""
        return (
            f"De tekst bij {field_label(field)} is te lang: hoogstens {question.text_limit} "
            f"tekens{used}. Maak hem korter."
        )
    if reason == RefusalReason.INVALID_VALUE:
        return _invalid_value_text(field, question)
    if reason == RefusalReason.UNKNOWN_QUESTION:
        return "Deze vraag hoort niet bij deze vragenset."
    return policy_refusal_text(reason)


def _invalid_value_text(field: str | None, question: Question) -> str:
    if field == "antwoord":
        return "Kies 'ja' of 'nee'."
    if field == "met_wie":
        return "Kies alleen organisaties uit de lijst, elk hoogstens één keer."
    if field == "domeinen":
        return "Kies alleen leefgebieden uit de lijst, elk hoogstens één keer."
    if field is not None and field.startswith("detail."):
        kinds = {f.name: f.kind for f in question.detail_fields}
        kind = kinds.get(field.removeprefix("detail."))
        label = field_label(field)
        if kind is DetailFieldKind.AANTAL:
            return f"Vul bij {label} een heel getal van 0 of meer in, of laat het leeg."
        if kind is DetailFieldKind.JA_NEE:
            return f"Kies bij {label} 'ja', 'nee' of 'niet invullen'."
        return f"De waarde bij {label} is niet toegestaan."
    return f"De waarde bij {field_label(field)} is niet toegestaan."


def policy_refusal_text(reason: str) -> str:
    if reason == PolicyReason.UNKNOWN_POLICY:
        return (
            "Deze vragenset is gesteld onder een versie van de afspraken die deze balie niet "
            "kent. Vraag uw beheerder de adapter bij te werken."
        )
    if reason == PolicyReason.NOT_IN_POLICY:
        return (
            "Deze vraag vraagt meer dan de afspraken bij dit label toestaan; daarom kan hij "
            "hier niet worden beantwoord. Meld dit bij uw beheerder."
        )
    return "Dit antwoord is niet toegestaan."


def municipal_refusal_text(reason: str) -> str:
    """The municipality's refusal notice, for the caseworker."""
    texts = {
        RefusalReason.ALREADY_ANSWERED: "de vraag was al eerder beantwoord",
        RefusalReason.LATE: "het antwoord kwam na het afsluiten van de ronde",
        RefusalReason.BAD_SIGNATURE: "de ondertekening van het antwoord klopte niet",
        RefusalReason.UNKNOWN_QUESTION_SET: "de gemeente kent deze vragenset niet",
        RefusalReason.MALFORMED: "het bericht was niet leesbaar",
    }
    try:
        known = texts.get(RefusalReason(reason))
    except ValueError:
        known = None
    return known or "het antwoord was rijker dan de gemeente bij dit label toestaat"
