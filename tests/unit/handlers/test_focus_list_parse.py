"""Reading a focus-list CSV: what makes a file unreadable, and that a refusal names no one."""

from __future__ import annotations

import datetime as dt

import pytest

from handlers.errors import FocusListMalformed
from handlers.focus_list import parse_family_member, parse_focus_list

TODAY = dt.date(2025, 6, 15)
HEADER = "lijst,naam,geboortedatum,district,traject,criteria,adres,adres_reden,gezinsleden"


def parse(*lines: str) -> list[tuple[int, bool, str | None]]:
    return [
        (p.row, p.case is not None, p.reason) for p in parse_focus_list("\n".join(lines), TODAY)
    ]


def test_a_byte_order_mark_before_the_header_is_ignored() -> None:
    rows = parse("\ufeff" + HEADER, "netto,Ada Proef,2010-01-01,oost,iaj,politiecontacten,,,")
    assert rows == [(2, True, None)]


def test_a_stray_quote_makes_the_file_unreadable_instead_of_swallowing_rows() -> None:
    with pytest.raises(FocusListMalformed, match="not valid CSV"):
        parse(
            HEADER,
            'netto,"Ada Proef,2010-01-01,oost,iaj,politiecontacten,,,',
            "netto,Bo Proef,2010-01-01,oost,iaj,politiecontacten,,,",
        )


def test_a_column_named_twice_makes_the_file_unreadable() -> None:
    with pytest.raises(FocusListMalformed, match="naam appear twice"):
        parse(HEADER + ",naam")


def test_a_file_without_header_does_not_echo_its_first_row() -> None:
    with pytest.raises(FocusListMalformed) as caught:
        parse("netto,Ada Proef,2010-01-01,oost,iaj,politiecontacten,,,")
    assert "Ada" not in str(caught.value)
    assert "missing column" in str(caught.value)


def test_rows_are_refused_by_number_and_reason_only() -> None:
    rows = parse(
        HEADER,
        "bruto,Ada Proef,2010-01-01,oost,iaj,politiecontacten,,,",
        "netto,Bo Proef,1990-01-01,oost,iaj,politiecontacten,,,",
        "netto,Cas Proef,2010-01-01,oost,iaj,politiecontacten,,,Moeder zonder datum",
        "netto,Dex Proef,2010-01-01",
        "reserve,Eef Proef,2010-01-01,oost,iaj,politiecontacten,,,",
    )
    assert [(row, taken) for row, taken, _ in rows] == [(i, False) for i in range(2, 7)]
    reasons = " ".join(reason or "" for *_, reason in rows)
    for name in ("Ada", "Bo ", "Cas", "Dex", "Eef", "Moeder"):
        assert name not in reasons


def test_a_family_member_is_name_colon_date() -> None:
    assert parse_family_member("Mo: Proef:1980-02-02") == {
        "naam": "Mo: Proef",
        "geboortedatum": "1980-02-02",
    }
