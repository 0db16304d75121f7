"""`iaj policy show` and `iaj policy check`, through Typer's test runner."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from broker.cli.policy import app
from contracts import AnswerShape, Colour, Partner, haarlem_policy
from tests.support.policy_text import TRAILER

SHAPES = {s.value for s in AnswerShape}


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def show_json(*args: str) -> Any:
    result = run("show", "--json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_show_json_maps_colour_to_partner_to_questions() -> None:
    view = show_json()
    assert list(view) == ["groen", "oranje", "rood"]
    assert list(view["groen"]) == ["verwijsindex", "leerplicht", "cjg", "swt"]
    assert list(view["rood"]) == [p.value for p in Partner]
    for per_partner in view.values():
        for questions in per_partner.values():
            for q in questions:
                assert {"subject", "key", "shape", "text"} <= set(q)
                assert q["shape"] in SHAPES
                assert ("detail_fields" in q) == (q["shape"] == "detail")
    assert view["oranje"]["cjg"] == [
        {
            "subject": "jongere",
            "key": "vir_match_bekend",
            "shape": "ja_nee",
            "text": "Er is een match in de Verwijsindex. Is de jongere bij het CJG bekend?",
            "condition": {"partner": "verwijsindex", "key": "vir_match", "answer": "ja"},
        }
    ]
    assert all("condition" not in q for q in view["rood"]["verwijsindex"])


def test_show_json_counts_match_the_policy() -> None:
    view = show_json()
    policy = haarlem_policy()
    for colour in Colour:
        shown = sum(len(qs) for qs in view[colour.value].values())
        assert shown == len(policy.asked(colour))


def test_show_json_filtered_to_one_colour_and_partner() -> None:
    assert show_json("--kleur", "rood", "--partner", "cjib") == {
        "rood": {
            "cjib": [
                {
                    "subject": "jongere",
                    "key": "overzicht_openstaand",
                    "shape": "detail",
                    "text": "Overzicht van wat openstaat bij het CJIB.",
                    "detail_fields": [
                        {"name": "openstaande_vorderingen", "kind": "ja_nee"},
                        {"name": "aantal_vorderingen", "kind": "aantal"},
                        {"name": "totaal_openstaand_euro", "kind": "aantal"},
                    ],
                }
            ]
        }
    }


def test_show_json_text_limit_where_an_answer_carries_text() -> None:
    rood = show_json("--kleur", "rood")["rood"]
    assert rood["szw_uwv"][0]["text_limit"] == 280
    assert rood["brp"][0]["text_limit"] == 200  # rijbewijs and reisdocumenten are tekst
    assert "text_limit" not in rood["riec"][0]


def test_show_json_partner_not_asked_at_a_colour() -> None:
    assert show_json("--partner", "riec") == {
        "groen": {},
        "oranje": {},
        "rood": {"riec": [show_json("-c", "rood", "-p", "riec")["rood"]["riec"][0]]},
    }


def test_show_table_names_every_partner_asked() -> None:
    result = run("show", "--kleur", "rood")
    assert result.exit_code == 0, result.output
    assert "rood" in result.stdout
    for partner in Partner:
        assert partner.value in result.stdout
    assert "ja_nee_domeinen" in result.stdout
    assert "risicosignalen (each gezinslid)" in result.stdout
    assert "overige_bijzonderheden (tekst)" in result.stdout


def test_show_table_of_groen_leaves_out_the_others() -> None:
    result = run("show", "--kleur", "groen")
    assert result.exit_code == 0, result.output
    assert "only after verwijsindex.vir_match = ja" in result.stdout
    assert "cjib" not in result.stdout
    assert "gezinslid" not in result.stdout


def test_unknown_partner_is_a_usage_error() -> None:
    result = run("show", "--partner", "politie")
    assert result.exit_code == 2
    assert "politie" in result.output


BAD_POLICY = (
    """\
id = "test"
version = 1
effective_from = 2026-01-01
toelichting_max_chars = 280
detail_text_max_chars = 200
adres_reden_min_chars = 20
[[question]]
partner = "rn"
key = "risicosignalen"
subject = "jongere"
text = "Zijn er risicosignalen?"
shapes = { oranje = "ja_nee_domeinen", rood = "ja_nee" }
"""
    + TRAILER
)


@pytest.fixture
def bad_policy(tmp_path: Path) -> Path:
    path = tmp_path / "bad.toml"
    path.write_text(BAD_POLICY, encoding="utf-8")
    return path


def test_check_a_bad_file_exits_2_naming_the_line(bad_policy: Path) -> None:
    result = run("check", str(bad_policy))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert f"{bad_policy}:7: question rn.risicosignalen: rood permits less than oranje" in (
        result.stderr.replace("\n", "")
    )
    assert "Traceback" not in result.output


def test_show_with_a_bad_file_exits_2(bad_policy: Path) -> None:
    result = run("show", "--file", str(bad_policy))
    assert result.exit_code == 2
    assert f"{bad_policy}:7:" in result.stderr


def test_check_a_missing_file_exits_2(tmp_path: Path) -> None:
    result = run("check", str(tmp_path / "nowhere.toml"))
    assert result.exit_code == 2
    assert "nowhere.toml: cannot read the policy file" in result.stderr.replace("\n", "")


def test_check_a_good_file_says_ok(tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text(BAD_POLICY.replace('rood = "ja_nee"', 'rood = "ja_nee_domeinen"'))
    result = run("check", str(good))
    assert result.exit_code == 0, result.output
    assert "OK" in result.stdout
    assert "'test' version 1, effective from 2026-01-01" in result.stdout


def test_check_without_a_file_checks_the_shipped_policy() -> None:
    result = run("check")
    assert result.exit_code == 0, result.output
    assert "'haarlem-iaj' version 2" in result.stdout


def test_show_another_file(tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text(BAD_POLICY.replace('rood = "ja_nee"', 'rood = "ja_nee_domeinen"'))
    view = show_json("--file", str(good))
    assert view["groen"] == {}
    assert [q["shape"] for q in view["rood"]["rn"]] == ["ja_nee_domeinen"]


def test_check_a_file_that_is_not_text_exits_2(tmp_path: Path) -> None:
    binary = tmp_path / "policy.toml"
    binary.write_bytes(b'id = "\xff\xfe"\n')
    result = run("check", str(binary))
    assert result.exit_code == 2
    assert "not UTF-8 text" in result.stderr
