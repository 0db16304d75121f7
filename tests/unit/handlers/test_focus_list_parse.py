"""Reading a focus-list CSV: what makes a file unreadable, and that a refusal names no one."""

from __future__ import annotations

import datetime as dt

import pytest

from contracts.policy import haarlem_policy
from handlers.errors import FocusListMalformed
from handlers.focus_list import parse_family_member, parse_focus_list

TODAY = dt.date(2025, 6, 15)
POLICY = haarlem_policy()
HEADER = "lijst,naam,geboortedatum,district,traject,criteria,adres,adres_reden,gezinsleden,kleur"


def parse(*lines: str) -> list[tuple[int, bool, str | None]]:
    return [
        (p.row, p.case is not None, p.reason)
        for p in parse_focus_list("\n".join(lines), TODAY, POLICY)
    ]


def test_a_byte_order_mark_before_the_header_is_ignored() -> None:
    rows = parse("\ufeff" + HEADER, "netto,Ada Proef,2010-01-01,oost,iaj,politiecontacten,,,,groen")
    assert rows == [(2, True, None)]


def test_a_stray_quote_makes_the_file_unreadable_instead_of_swallowing_rows() -> None:
    with pytest.raises(FocusListMalformed, match="not valid CSV"):
        parse(
            HEADER,
            'netto,"Ada Proef,2010-01-01,oost,iaj,politiecontacten,,,,groen',
            "netto,Bo Proef,2010-01-01,oost,iaj,politiecontacten,,,,groen",
        )


def test_a_column_named_twice_makes_the_file_unreadable() -> None:
    with pytest.raises(FocusListMalformed, match="naam appear twice"):
        parse(HEADER + ",naam")


def test_a_file_without_header_does_not_echo_its_first_row() -> None:
    with pytest.raises(FocusListMalformed) as caught:
        parse("netto,Ada Proef,2010-01-01,oost,iaj,politiecontacten,,,,groen")
    assert "Ada" not in str(caught.value)
    assert "missing column" in str(caught.value)


def test_rows_are_refused_by_number_and_reason_only() -> None:
    rows = parse(
        HEADER,
        "bruto,Ada Proef,2010-01-01,oost,iaj,politiecontacten,,,,groen",
        "netto,Bo Proef,1990-01-01,oost,iaj,politiecontacten,,,,groen",
        "netto,Cas Proef,2010-01-01,oost,iaj,politiecontacten,,,Moeder zonder datum,oranje",
        "netto,Dex Proef,2010-01-01",
        "reserve,Eef Proef,2010-01-01,oost,iaj,politiecontacten,,,,groen",
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


def test_a_list_without_the_kleur_column_says_to_add_it() -> None:
    old_header = HEADER.removesuffix(",kleur")
    with pytest.raises(FocusListMalformed) as caught:
        parse(old_header, "netto,Ada Proef,2010-01-01,oost,iaj,politiecontacten,,,")
    assert "missing column kleur" in str(caught.value)
    assert "groen, oranje or rood" in str(caught.value)
    assert "Ada" not in str(caught.value)


def test_the_label_and_the_focus_list_date_are_read_and_checked() -> None:
    header = HEADER + ",op_lijst_sinds,brief_verstuurd"
    (taken,) = parse_focus_list(
        f"{header}\nnetto,Ada Proef,2010-01-01,oost,iaj,politiecontacten,,,,oranje,"
        "2025-05-01,2025-05-02",
        TODAY,
        POLICY,
    )
    assert taken.case is not None
    assert (taken.case.colour.value, taken.case.listed_on) == ("oranje", dt.date(2025, 5, 1))
    rows = parse(
        header,
        # a letter before the youth was put on the list
        "netto,Bo Proef,2010-01-01,oost,iaj,politiecontacten,,,,groen,2025-05-01,2025-04-30",
        # rood without a BIT criterion
        "netto,Cas Proef,2010-01-01,oost,iaj,politiecontacten,,,,rood,,",
        # no label
        "netto,Dex Proef,2010-01-01,oost,iaj,politiecontacten,,,,,,",
    )
    assert [(taken, reason.split(":")[0]) for _, taken, reason in rows if reason] == [
        (False, "brief_verstuurd"),
        (False, "kleur"),
        (False, "kleur"),
    ]


def test_a_stray_quote_is_reported_at_the_line_where_its_row_starts() -> None:
    """The csv module notices the open quote only at the end of the file; the operator
    needs the line the quote is on."""
    good = "netto,Bo Proef,2010-01-01,oost,iaj,politiecontacten,,,,groen"
    with pytest.raises(FocusListMalformed, match=r"^line 4: not valid CSV") as caught:
        parse(
            HEADER,
            good,
            '"netto,Ada Proef,2010-01-01,oost,iaj,politiecontacten,,,,groen",,,,,,,,,',
            'netto,"Ada Proef,2010-01-01,oost,iaj,politiecontacten,,,,groen',
            good,
            good,
        )
    assert "quote" in str(caught.value)
    assert "Ada" not in str(caught.value)


def test_rows_are_numbered_by_the_line_they_start_on() -> None:
    rows = parse(
        HEADER,
        'netto,Ada Proef,2010-01-01,oost,iaj,politiecontacten,"Straat 1\n2011 AA",,,groen',
        "",
        "netto,Bo Proef,2010-01-01,oost,iaj,politiecontacten,,,,rood",
    )
    assert [row for row, _, _ in rows] == [2, 5]  # the address's newline is no row of its own


def test_a_semicolon_separated_file_from_dutch_excel_is_read() -> None:
    header = HEADER.replace(",", ";")
    rows = parse(
        header,
        'netto;Ada Proef;2010-01-01;oost;iaj;"politiecontacten;netwerk_impact_wijk";;;;groen',
        "netto;Bo Proef;2010-01-01;oost;iaj;politiecontacten;netwerk_impact_wijk;;;;groen",
    )
    assert rows[0] == (2, True, None)
    assert rows[1][:2] == (3, False)
    assert "must be in quotes" in str(rows[1][2])


def test_field_paths_are_named_as_the_columns_of_the_file() -> None:
    rows = parse(
        HEADER + ",brief_verstuurd",
        "netto,Ada Proef,2010-01-01,oost,iaj,politiecontacten,,,Moeder Proef:1980-13-01,oranje,",
        "netto,Bo Proef,2010-01-01,oost,iaj,geen_criterium,,,,groen,",
        "netto,Cas Proef,2010-01-01,oost,iaj,politiecontacten,,,,groen,1-5-2025",
    )
    reasons = [reason for _, _, reason in rows]
    assert str(reasons[0]).startswith("gezinsleden (family member 1: date of birth): ")
    assert str(reasons[1]).startswith("criteria (criterion 1): ")
    assert str(reasons[2]).startswith("brief_verstuurd: ")
    assert str(reasons[2]).endswith("(write it as YYYY-MM-DD)")
    assert "family." not in " ".join(map(str, reasons))
