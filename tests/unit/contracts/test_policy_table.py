"""The Haarlem policy file against the convenant's table, stated here rather than read from it.

Source: shared/spec/convenant.md, "Questions per colour (youth)" and "Family members". The
keys are the ones the policy file gives each topic; the shapes and colours are the spec's.
"""

from __future__ import annotations

import itertools

import pytest

from contracts import (
    AnswerShape,
    Colour,
    OpenRoundCommand,
    Partner,
    PartnerAnswer,
    Question,
    QuestionSet,
    RefusalNotice,
    RoundResult,
    SubjectRole,
    YesNo,
    haarlem_policy,
)
from contracts.topics import all_topics

GROEN, ORANJE, ROOD = Colour.GROEN, Colour.ORANJE, Colour.ROOD
JA_NEE = AnswerShape.JA_NEE
MET_WIE = AnswerShape.JA_NEE_MET_WIE
DOMEINEN = AnswerShape.JA_NEE_DOMEINEN
TOELICHTING = AnswerShape.JA_NEE_TOELICHTING
DETAIL = AnswerShape.DETAIL
JONGERE, GEZINSLID = SubjectRole.JONGERE, SubjectRole.GEZINSLID

RISK_PARTNERS = ("veiligheidshuis", "rn", "jgb", "wsg", "om")

# (partner, key, subject) -> {colour: shape}; a colour that is absent is "—" in the spec.
SPEC: dict[tuple[str, str, SubjectRole], dict[Colour, AnswerShape]] = {
    ("verwijsindex", "vir_match", JONGERE): {GROEN: MET_WIE, ORANJE: MET_WIE, ROOD: MET_WIE},
    ("leerplicht", "schooluitval_inschrijving", JONGERE): {
        GROEN: JA_NEE,
        ORANJE: JA_NEE,
        ROOD: TOELICHTING,
    },
    # Reading: the spec asks the VIR match of leerplicht and swt in oranje only. Rood keeps it,
    # because the spec's own invariant groen ⊆ oranje ⊆ rood forbids dropping a question.
    ("leerplicht", "vir_match", JONGERE): {ORANJE: JA_NEE, ROOD: JA_NEE},
    # CJG is asked only after the Verwijsindex answered a match (see test_conditions).
    ("cjg", "vir_match_bekend", JONGERE): {GROEN: JA_NEE, ORANJE: JA_NEE, ROOD: TOELICHTING},
    ("swt", "actieve_begeleiding", JONGERE): {GROEN: JA_NEE, ORANJE: JA_NEE, ROOD: TOELICHTING},
    ("swt", "vir_match", JONGERE): {ORANJE: JA_NEE, ROOD: JA_NEE},  # reading, as leerplicht
    ("woningcorporatie", "woonsignalen", JONGERE): {ORANJE: JA_NEE, ROOD: DETAIL},
    ("brp", "adresgegevens", JONGERE): {ORANJE: JA_NEE, ROOD: DETAIL},
    ("szw_uwv", "uitkering_reintegratie", JONGERE): {ORANJE: JA_NEE, ROOD: TOELICHTING},
    ("cjib", "overzicht_openstaand", JONGERE): {ROOD: DETAIL},
    ("riec", "bekend", JONGERE): {ROOD: JA_NEE},
}
# Reading: rood's risk signals are at least oranje's ja_nee_domeinen. "Is the person a risk to
# the family" (ja_nee) is asked about the youth and each family member, and risk signals
# (ja_nee_domeinen) about each family member, by the partners that answer risk-signal questions.
for _partner, _subject in itertools.product(RISK_PARTNERS, SubjectRole):
    SPEC[(_partner, "risicosignalen", _subject)] = {ORANJE: DOMEINEN, ROOD: DOMEINEN}
    SPEC[(_partner, "risico_voor_gezin", _subject)] = {ORANJE: JA_NEE, ROOD: JA_NEE}

# Rood's structured detail: the closed set of named fields, with their kinds.
DETAIL_FIELDS = {
    ("woningcorporatie", "woonsignalen"): {
        "overlastsignalen": "ja_nee",
        "huurachterstand": "ja_nee",
        "overige_bijzonderheden": "tekst",
    },
    ("brp", "adresgegevens"): {
        "bijzonderheden_adres": "ja_nee",
        "rijbewijs": "tekst",
        "reisdocumenten": "tekst",
    },
    ("cjib", "overzicht_openstaand"): {
        "openstaande_vorderingen": "ja_nee",
        "aantal_vorderingen": "aantal",
        "totaal_openstaand_euro": "aantal",
    },
}

POLICY = haarlem_policy()


def _expected(partner: Partner, colour: Colour) -> set[tuple[str, SubjectRole, AnswerShape]]:
    return {
        (key, subject, shapes[colour])
        for (p, key, subject), shapes in SPEC.items()
        if p == partner and colour in shapes
    }


def test_the_fourteen_partners() -> None:
    assert [p.value for p in Partner] == [
        "verwijsindex",
        "leerplicht",
        "cjg",
        "swt",
        "woningcorporatie",
        "brp",
        "szw_uwv",
        "veiligheidshuis",
        "rn",
        "jgb",
        "wsg",
        "om",
        "cjib",
        "riec",
    ]


@pytest.mark.parametrize(("partner", "colour"), list(itertools.product(Partner, Colour)), ids=str)
def test_each_partner_is_asked_what_the_spec_says(partner: Partner, colour: Colour) -> None:
    asked = {(q.key, q.subject, q.shape) for q in POLICY.asked(colour, partner)}
    assert asked == _expected(partner, colour)


@pytest.mark.parametrize(
    ("colour", "partners"),
    [
        (GROEN, {"verwijsindex", "leerplicht", "cjg", "swt"}),
        (ORANJE, set(Partner) - {Partner.CJIB, Partner.RIEC}),
        (ROOD, set(Partner)),
    ],
    ids=str,
)
def test_who_is_asked_anything(colour: Colour, partners: set[str]) -> None:
    assert set(POLICY.partners(colour)) == partners


def test_every_policy_question_is_in_the_spec_table() -> None:
    assert {(q.partner.value, q.key, q.subject) for q in POLICY.questions} == set(SPEC)


def test_detail_fields_in_rood() -> None:
    detail = {(q.partner.value, q.key): q for q in POLICY.asked(ROOD) if q.shape is DETAIL}
    assert set(detail) == set(DETAIL_FIELDS)
    for ident, fields in DETAIL_FIELDS.items():
        assert {f.name: f.kind.value for f in detail[ident].detail_fields} == fields


@pytest.mark.parametrize("colour", [GROEN, ORANJE], ids=str)
def test_detail_is_rood_only(colour: Colour) -> None:
    assert all(q.shape is not DETAIL and not q.detail_fields for q in POLICY.asked(colour))


@pytest.mark.parametrize("colour", list(Colour), ids=str)
def test_conditions(colour: Colour) -> None:
    conditional = {(q.partner.value, q.key): q.after for q in POLICY.asked(colour) if q.after}
    assert set(conditional) == {("cjg", "vir_match_bekend")}
    after = conditional["cjg", "vir_match_bekend"]
    assert after is not None
    assert (after.partner, after.key, after.answer) == (Partner.VERWIJSINDEX, "vir_match", YesNo.JA)


def test_no_question_about_a_family_member_in_groen() -> None:
    assert POLICY.asked(GROEN, subject=GEZINSLID) == []


@pytest.mark.parametrize("colour", [ORANJE, ROOD], ids=str)
def test_family_member_questions(colour: Colour) -> None:
    asked = {(q.partner.value, q.key, q.shape) for q in POLICY.asked(colour, subject=GEZINSLID)}
    assert asked == {
        (p, key, shape)
        for p in RISK_PARTNERS
        for key, shape in (("risico_voor_gezin", JA_NEE), ("risicosignalen", DOMEINEN))
    }


@pytest.mark.parametrize("colour", [ORANJE, ROOD], ids=str)
def test_risk_to_the_family_is_asked_about_the_youth_too(colour: Colour) -> None:
    asked = {
        q.partner.value
        for q in POLICY.asked(colour, subject=JONGERE)
        if q.key == "risico_voor_gezin" and q.shape is JA_NEE
    }
    assert asked == set(RISK_PARTNERS)


def test_no_police_and_no_group_behaviour_anywhere() -> None:
    words = ("politie", "police", "groep", "group")
    vocabulary = [p.value for p in Partner] + all_topics()
    vocabulary += [
        f"{q.key} {q.text} {[f.name for f in q.detail_fields]}" for q in POLICY.questions
    ]
    for model in (
        QuestionSet,
        Question,
        PartnerAnswer,
        RefusalNotice,
        RoundResult,
        OpenRoundCommand,
    ):
        vocabulary += list(model.model_fields)
    assert not [v for v in vocabulary for w in words if w in v.lower()]


def test_the_asked_questions_are_those_of_the_policy_asked_even_after_another_was_asked() -> None:
    # `Policy.asked` is cached per policy object: a changed copy (a new version, a test's
    # variation) must get its own questions, and the original keeps its own.
    policy = haarlem_policy()
    full = policy.asked(Colour.ROOD)
    fewer = policy.model_copy(update={"questions": policy.questions[:1]})
    assert len(fewer.asked(Colour.ROOD)) < len(full)
    assert policy.asked(Colour.ROOD) == full
    # A list of its own each time: a caller changing it changes nothing for the next.
    policy.asked(Colour.ROOD).clear()
    assert policy.asked(Colour.ROOD) == full
