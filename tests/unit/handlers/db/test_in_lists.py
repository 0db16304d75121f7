"""Id lists padded for `IN (...)` (handlers.db.in_lists): the same ids, a few lengths."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from handlers.db.in_lists import padded


@given(st.lists(st.text(min_size=1, max_size=8), min_size=1, max_size=3000))
def test_the_same_ids_in_a_power_of_two_no_more_than_twice_as_long(ids: list[str]) -> None:
    out = padded(ids)
    assert set(out) == set(ids)  # what an IN matches is unchanged
    assert out[: len(ids)] == ids  # in the given order (a sorted list stays sorted)
    assert len(out) & (len(out) - 1) == 0  # a power of two
    assert len(ids) <= len(out) < 2 * len(ids) or len(out) == 1


def test_every_length_up_to_a_thousand_takes_eleven_texts() -> None:
    assert {len(padded(["x"] * n)) for n in range(1, 1025)} == {2**k for k in range(11)}


def test_nothing_stays_nothing() -> None:
    assert padded([]) == []
