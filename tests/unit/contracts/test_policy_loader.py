"""The policy loader refuses a bad policy file, naming the file, the line and the rule broken."""

from __future__ import annotations

import re

import pytest

from contracts import Colour, PolicyError, haarlem_policy
from contracts.policy import load_policy_text
from tests.support.policy_text import TRAILER

# Lines 1-6; the first [[question]] entry starts on line 7, the second on line 14.
HEADER = """\
id = "test"
version = 1
effective_from = 2026-01-01
toelichting_max_chars = 280
detail_text_max_chars = 200
adres_reden_min_chars = 20
"""
VALID = """\
[[question]]
partner = "verwijsindex"
key = "vir_match"
subject = "jongere"
text = "Is er een match?"
shapes = { groen = "ja_nee_met_wie", oranje = "ja_nee_met_wie", rood = "ja_nee_met_wie" }

"""


def entry(partner: str = "riec", key: str = "bekend", **fields: str) -> str:
    """A [[question]] table of 6 lines plus a blank one; `fields` are raw TOML values."""
    values = {"subject": '"jongere"', "text": '"Bekend?"', "shapes": '{ rood = "ja_nee" }'}
    values.update(fields)
    lines = ["[[question]]", f'partner = "{partner}"', f'key = "{key}"']
    lines += [f"{name} = {value}" for name, value in values.items() if value]
    return "\n".join(lines) + "\n\n"


def refused(text: str) -> str:
    with pytest.raises(PolicyError) as caught:
        load_policy_text(text + TRAILER, "p.toml")
    return str(caught.value)


def test_the_valid_parts_load() -> None:
    policy = load_policy_text(HEADER + VALID + entry() + TRAILER, "p.toml")
    assert [q.key for q in policy.questions] == ["vir_match", "bekend"]
    assert policy.partners(Colour.ROOD) == ["verwijsindex", "riec"]


def test_the_shipped_policy_loads() -> None:
    policy = haarlem_policy()
    assert (policy.id, policy.version) == ("haarlem-iaj", 2)


def test_unknown_partner() -> None:
    message = refused(HEADER + VALID + entry(partner="politie"))
    assert message.startswith("p.toml:14: question 'bekend': partner: ")
    assert "'riec'" in message  # says which partners exist


def test_unknown_shape() -> None:
    message = refused(HEADER + VALID + entry(shapes='{ rood = "ja_nee_groepsgedrag" }'))
    assert message.startswith("p.toml:14: question 'bekend': shapes.rood: ")
    assert "'ja_nee_toelichting'" in message


@pytest.mark.parametrize("shapes", ["{}", ""], ids=["empty", "missing"])
def test_question_without_a_shape(shapes: str) -> None:
    message = refused(HEADER + entry(shapes=shapes) + VALID)
    assert message.startswith("p.toml:7: question 'bekend': shapes: ")
    assert re.search(r"at least 1 item|Field required", message)


def test_detail_without_detail_fields() -> None:
    message = refused(HEADER + VALID + entry(partner="cjib", shapes='{ rood = "detail" }'))
    assert message.startswith("p.toml:14: question 'bekend': ")
    assert "shape 'detail' needs `detail_fields`" in message


def test_detail_fields_without_detail() -> None:
    fields = '[{ name = "x", kind = "ja_nee" }]'
    message = refused(HEADER + VALID + entry(detail_fields=fields))
    assert message.startswith("p.toml:14: ")
    assert "`detail_fields` given but no colour asks the shape 'detail'" in message


def test_family_member_in_groen() -> None:
    message = refused(HEADER + VALID + entry(subject='"gezinslid"', shapes='{ groen = "ja_nee" }'))
    assert message.startswith("p.toml:14: ")
    assert "family members are only asked about in oranje and rood" in message


@pytest.mark.parametrize(
    ("shapes", "rule"),
    [
        ('{ oranje = "ja_nee_domeinen", rood = "ja_nee" }', "rood permits less than oranje"),
        ('{ groen = "ja_nee", rood = "ja_nee" }', "oranje permits less than groen (not asked"),
        ('{ groen = "ja_nee_met_wie", oranje = "ja_nee" }', "oranje permits less than groen"),
        ('{ oranje = "ja_nee_toelichting", rood = "detail" }', "rood permits less than oranje"),
    ],
)
def test_a_higher_colour_that_permits_less(shapes: str, rule: str) -> None:
    fields = '[{ name = "x", kind = "ja_nee" }]' if "detail" in shapes else ""
    message = refused(HEADER + VALID + entry(shapes=shapes, detail_fields=fields))
    assert message.startswith("p.toml:14: question riec.bekend: ")
    assert rule in message
    assert "disclosure may not shrink as the colour goes up" in message


def test_duplicate_question() -> None:
    message = refused(HEADER + entry() + VALID + entry(text='"Nogmaals?"'))
    assert message == "p.toml:21: question riec.bekend about jongere is declared twice"


def test_the_same_key_about_another_subject_is_not_a_duplicate() -> None:
    twice = entry()
    about_family = entry(subject='"gezinslid"')
    assert len(load_policy_text(HEADER + twice + about_family + TRAILER).questions) == 2


def test_condition_on_a_question_that_is_not_asked() -> None:
    after = '{ partner = "verwijsindex", key = "no_such_key", answer = "ja" }'
    message = refused(HEADER + VALID + entry(partner="cjg", after=after))
    assert message == (
        "p.toml:14: question cjg.bekend depends on verwijsindex.no_such_key, "
        "which the policy does not ask"
    )


def test_condition_on_a_question_not_asked_at_that_colour() -> None:
    parent = entry(partner="rn", key="r", shapes='{ rood = "ja_nee" }')
    after = '{ partner = "rn", key = "r", answer = "ja" }'
    child = entry(partner="cjg", shapes='{ oranje = "ja_nee", rood = "ja_nee" }', after=after)
    message = refused(HEADER + parent + child)
    assert message == (
        "p.toml:14: question cjg.bekend is asked in oranje but depends on a question not "
        "asked there"
    )


def test_condition_on_itself() -> None:
    after = '{ partner = "riec", key = "bekend", answer = "ja" }'
    message = refused(HEADER + VALID + entry(after=after))
    assert message.startswith("p.toml:14: question riec.bekend depends on itself")


def test_conditions_in_a_cycle() -> None:
    a = entry(partner="rn", key="a", after='{ partner = "om", key = "b", answer = "ja" }')
    b = entry(partner="om", key="b", after='{ partner = "rn", key = "a", answer = "nee" }')
    assert refused(HEADER + a + b).startswith("p.toml:7: question rn.a depends on itself")


@pytest.mark.parametrize(
    ("text", "line"),
    [
        (HEADER + VALID + "[[question]]\npartner = = 1\n", 15),
        (HEADER + 'key = "unterminated\n', 7),
        (HEADER + VALID + "[[question]]\npartner = 'a'\npartner = 'b'\n", 16),
    ],
    ids=["bad-value", "unterminated-string", "key-twice"],
)
def test_invalid_toml(text: str, line: int) -> None:
    message = refused(text)
    assert message.startswith(f"p.toml:{line}: not valid TOML: ")
    assert f"(at line {line}," in message


def test_questions_must_be_tables() -> None:
    inline = 'question = [{ partner = "riec", key = "bekend" }]\n'
    message = refused(HEADER + inline)
    assert message.startswith("p.toml:7: write every question as its own [[question]] table")


def test_header_error_names_its_line() -> None:
    message = refused(HEADER.replace("version = 1", "version = 0") + VALID)
    assert message.startswith("p.toml:2: policy header: version: ")
    assert "greater than or equal to 1" in message


def test_missing_header_field() -> None:
    message = refused(HEADER.replace("version = 1\n", "") + VALID)
    assert message == "p.toml: policy header: version: Field required"


def test_an_address_is_never_needed_in_groen() -> None:
    message = refused(
        HEADER + entry(shapes='{ groen = "ja_nee", rood = "ja_nee" }', needs_address="true")
    )
    assert message.startswith("p.toml:7: question 'bekend': ")
    assert "an address is never sent in groen" in message


def test_a_follow_up_question_cannot_need_the_address() -> None:
    follow_up = entry(
        "cjg",
        "bekend",
        shapes='{ rood = "ja_nee" }',
        after='{ partner = "riec", key = "bekend", answer = "ja" }',
        needs_address="true",
    )
    message = refused(HEADER + entry() + follow_up)
    assert message.startswith("p.toml:14: question 'bekend': ")
    assert "cannot have `needs_address`" in message


def test_tracks_and_labels_are_each_declared_once() -> None:
    with pytest.raises(PolicyError, match=r"exactly one \[\[track\]\]"):
        load_policy_text(HEADER + VALID + TRAILER.replace('track = "bit"', 'track = "iaj"'))
    with pytest.raises(PolicyError, match=r"exactly one \[\[label\]\]"):
        load_policy_text(HEADER + VALID + TRAILER.replace('colour = "groen"', 'colour = "rood"'))
