"""Each question's form has exactly the inputs its permitted shape allows, labelled, and
works without JavaScript."""

from __future__ import annotations

import pytest
from starlette.datastructures import FormData

from contracts import AnswerShape, Colour, LifeDomain, Partner, Question, RefusalReason
from partner_adapters.desk.forms import FormRefused, answer_from_form, form_ids
from tests.unit.partner_adapters.desk.conftest import MakeDesk
from tests.unit.partner_adapters.desk.html import Form, Page, parse

CSRF = "csrf_token"
# One (partner, colour) per shape, as the shipped policy asks it.
SHAPES = {
    AnswerShape.JA_NEE: (Partner.LEERPLICHT, Colour.GROEN),
    AnswerShape.JA_NEE_MET_WIE: (Partner.VERWIJSINDEX, Colour.GROEN),
    AnswerShape.JA_NEE_DOMEINEN: (Partner.VEILIGHEIDSHUIS, Colour.ORANJE),
    AnswerShape.JA_NEE_TOELICHTING: (Partner.LEERPLICHT, Colour.ROOD),
    AnswerShape.DETAIL: (Partner.WONINGCORPORATIE, Colour.ROOD),
}


def _page(make_desk: MakeDesk, partner: Partner, colour: Colour) -> tuple[Page, list[Question]]:
    desk = make_desk(partner, [colour])
    with desk.signed_in() as client:
        response = client.get(desk.set_url())
    assert response.status_code == 200
    return parse(response.text), list(desk.sets[0].questions)


def _form_of(page: Page, question: Question) -> Form:
    [form] = [f for f in page.answer_forms() if f.action.endswith(f"/{question.question_id}")]
    return form


def _expected_names(question: Question) -> set[str]:
    names = {CSRF, "antwoord"}
    if question.shape is AnswerShape.JA_NEE_MET_WIE:
        names.add("met_wie")
    elif question.shape is AnswerShape.JA_NEE_DOMEINEN:
        names.add("domeinen")
    elif question.shape is AnswerShape.JA_NEE_TOELICHTING:
        names.add("toelichting")
    elif question.shape is AnswerShape.DETAIL:
        names |= {f"detail.{f.name}" for f in question.detail_fields}
    return names


@pytest.mark.parametrize("shape", list(SHAPES), ids=lambda s: s.value)
def test_every_form_has_exactly_the_inputs_its_shape_permits(
    make_desk: MakeDesk, shape: AnswerShape
) -> None:
    page, questions = _page(make_desk, *SHAPES[shape])
    asked = [q for q in questions if q.shape is shape]
    assert asked
    assert len(page.answer_forms()) == len(questions)
    for question in questions:
        form = _form_of(page, question)
        assert form.names() == _expected_names(question), question.key
        assert sorted(form.values("antwoord")) == ["ja", "nee"]
        assert {c.type for c in form.controls if c.name == "antwoord"} == {"radio"}
        assert [c.type for c in form.controls if c.name == CSRF] == ["hidden"]
        assert [c.type for c in form.controls if c.tag == "button"] == ["button"]


def test_met_wie_offers_the_organisations_as_checkboxes(make_desk: MakeDesk) -> None:
    page, [question] = _page(make_desk, Partner.VERWIJSINDEX, Colour.GROEN)
    form = _form_of(page, question)
    assert form.values("met_wie") == [p.value for p in Partner]
    assert {c.type for c in form.controls if c.name == "met_wie"} == {"checkbox"}
    shown = page.text_of(f"{form.id}")
    assert all(p.organisation in shown for p in Partner)
    assert "Met welke organisaties?" in shown


def test_domeinen_offers_the_closed_list_of_life_domains(make_desk: MakeDesk) -> None:
    page, questions = _page(make_desk, Partner.VEILIGHEIDSHUIS, Colour.ORANJE)
    asked = [q for q in questions if q.shape is AnswerShape.JA_NEE_DOMEINEN]
    assert {q.subject_ref for q in asked} == {"jongere", "gezinslid-1", "gezinslid-2"}
    for question in asked:
        form = _form_of(page, question)
        assert form.values("domeinen") == [d.value for d in LifeDomain]
        assert {c.type for c in form.controls if c.name == "domeinen"} == {"checkbox"}


def test_toelichting_is_a_text_area_with_the_exact_limit_and_a_count(make_desk: MakeDesk) -> None:
    page, questions = _page(make_desk, Partner.LEERPLICHT, Colour.ROOD)
    [question] = [q for q in questions if q.shape is AnswerShape.JA_NEE_TOELICHTING]
    form = _form_of(page, question)
    area = form.control("toelichting")
    assert area.tag == "textarea"
    assert area.attrs["maxlength"] == "280" == str(question.text_limit)
    counter = area.attrs["data-counter"]
    assert counter is not None
    assert page.text_of(counter) == "0 / 280 tekens"
    described = (area.attrs["aria-describedby"] or "").split()
    assert [page.text_of(i) for i in described] == ["Hoogstens 280 tekens.", "0 / 280 tekens"]


def test_detail_shows_exactly_the_named_fields_with_their_types(make_desk: MakeDesk) -> None:
    page, [question] = _page(make_desk, Partner.WONINGCORPORATIE, Colour.ROOD)
    form = _form_of(page, question)
    radios = {c.name: c.type for c in form.controls if c.name and c.name.startswith("detail.")}
    assert radios == {
        "detail.overlastsignalen": "radio",
        "detail.huurachterstand": "radio",
        "detail.overige_bijzonderheden": "textarea",
    }
    assert form.values("detail.huurachterstand") == ["ja", "nee", ""]
    assert form.control("detail.overige_bijzonderheden").attrs["maxlength"] == "200"

    page, [question] = _page(make_desk, Partner.CJIB, Colour.ROOD)
    form = _form_of(page, question)
    numbers = [c for c in form.controls if c.type == "number"]
    assert {c.name for c in numbers} == {
        "detail.aantal_vorderingen",
        "detail.totaal_openstaand_euro",
    }
    assert all(c.attrs["min"] == "0" and c.attrs["step"] == "1" for c in numbers)


@pytest.mark.parametrize("shape", list(SHAPES), ids=lambda s: s.value)
def test_every_input_has_a_label_and_every_choice_group_a_legend(
    make_desk: MakeDesk, shape: AnswerShape
) -> None:
    page, _ = _page(make_desk, *SHAPES[shape])
    assert page.lang == "nl"
    for form in page.forms:
        for control in form.controls:
            if control.type in ("hidden", "button"):
                continue
            assert control.id in page.label_for, f"no <label for> for {control.id}"
    grouped = {id(c) for fs in page.fieldsets for c in fs.controls}
    for form in page.answer_forms():
        for control in form.controls:
            if control.type in ("radio", "checkbox"):
                assert id(control) in grouped, f"{control.id} is not in a fieldset"
    assert all(fs.legend.strip() for fs in page.fieldsets)
    assert len(page.ids) == len(set(page.ids)), "element ids are unique"


def test_the_follow_up_fields_are_there_without_javascript(make_desk: MakeDesk) -> None:
    desk = make_desk(Partner.VERWIJSINDEX, [Colour.GROEN])
    with desk.signed_in() as client:
        html = client.get(desk.set_url()).text
    assert "data-bij-ja>" in html
    assert "hidden" not in html.split("data-bij-ja")[1][:40]
    page = parse(html)
    assert page.inline_scripts == []
    assert [s.get("src") for s in page.scripts] == ["/static/desk.js"]
    assert (page.styles, page.style_attributes, page.event_attributes) == (0, 0, [])


def test_form_ids_are_readable_stable_and_unique() -> None:
    from tests.unit.partner_adapters.builders import question_set

    qs = question_set(Partner.VEILIGHEIDSHUIS, Colour.ORANJE)
    ids = form_ids([*qs.questions, qs.questions[0]])
    expected = [f"vraag-{q.key.replace('_', '-')}-{q.subject_ref}" for q in qs.questions]
    assert ids[:-1] == expected
    assert "vraag-risicosignalen-gezinslid-2" in ids
    assert ids[-1] == f"{expected[0]}-2"
    assert form_ids(list(qs.questions)) == expected  # the same questions, the same ids


def _form(*pairs: tuple[str, str]) -> FormData:
    return FormData(list(pairs))


def test_a_post_becomes_the_answer_fields_unjudged() -> None:
    from tests.unit.partner_adapters.builders import question_set

    [question] = question_set(Partner.CJIB, Colour.ROOD).questions
    given = answer_from_form(
        _form(
            (CSRF, "x"),
            ("antwoord", "ja"),
            ("detail.openstaande_vorderingen", "ja"),
            ("detail.aantal_vorderingen", "3"),
            ("detail.totaal_openstaand_euro", ""),
        ),
        question,
    )
    assert given == {
        "antwoord": "ja",
        "detail": {"openstaande_vorderingen": True, "aantal_vorderingen": 3},
    }
    # Not judged here: the check refuses these.
    assert answer_from_form(_form(("antwoord", "nee"), ("toelichting", " a\r\nb ")), question) == {
        "antwoord": "nee",
        "toelichting": "a\nb",
    }
    assert answer_from_form(_form(("detail.aantal_vorderingen", "drie")), question) == {
        "detail": {"aantal_vorderingen": "drie"}
    }


@pytest.mark.parametrize("name", ["question_id", "signature", "adres", "detail.", "Naam Persoon"])
def test_a_name_no_answer_has_is_refused_before_any_check(name: str) -> None:
    from tests.unit.partner_adapters.builders import question_set

    [question] = question_set(Partner.LEERPLICHT, Colour.GROEN).questions
    with pytest.raises(FormRefused) as refused:
        answer_from_form(_form(("antwoord", "ja"), (name, "x")), question)
    assert refused.value.reason is RefusalReason.EXTRA_FIELD
    assert refused.value.field in (name, "<withheld: not a field name>")
