"""A reason is a sentence: long enough, more than one word, not one repeated character."""

from __future__ import annotations

import pytest

from handlers.errors import CaseRejected
from handlers.reasons import check_reason


@pytest.mark.parametrize(
    ("text", "why"),
    [
        (None, "required"),
        ("", "required"),
        ("   ", "required"),
        ("x", "too short"),
        ("kort gezegd", "too short"),
        ("xxxxxxxxxxxxxxxxxxxxxxx", "one repeated character"),
        ("x x x x x x x x x x x x", "one repeated character"),
        ("aaaaaaaaaaaaaaaaaaaaaaaaa", "one repeated character"),
        ("zonderspatiesgeschrevenzin", "more than one"),
        ("adres adres adres adres adres", "more than one"),
    ],
)
def test_what_is_no_sentence_is_refused_naming_the_field(text: str | None, why: str) -> None:
    with pytest.raises(CaseRejected) as caught:
        check_reason(text, "adres_reden", 20)
    assert caught.value.field == "adres_reden"
    assert why in caught.value.problem
    assert "at least 20 characters" in caught.value.problem
    if text and text.strip():
        assert text.strip() not in caught.value.problem  # the reason is never echoed


def test_a_sentence_is_returned_with_its_spaces_tidied() -> None:
    reason = check_reason("  De partner zoekt\n op het adres. ", "reason", 10)
    assert reason == "De partner zoekt op het adres."


def test_the_minimum_is_the_callers() -> None:
    assert check_reason("Verkeerd ingevoerd", "reason", 10) == "Verkeerd ingevoerd"
    with pytest.raises(CaseRejected, match="at least 30 characters"):
        check_reason("Verkeerd ingevoerd", "reason", 30)
