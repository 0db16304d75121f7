"""The municipal command line, as an operator drives it, against a fresh SQLite file.

No Kafka: `round open` only fills the outbox; the running service would publish it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from typer.testing import Result

from tests.support.cli import Iaj
from tests.support.clock import today

pytestmark = pytest.mark.integration


@pytest.fixture
def iaj(sqlite_url: str) -> Iaj:
    return Iaj(sqlite_url)


def add_case(iaj: Iaj, age: int = 17, track: str = "iaj") -> Result:
    """A groen youth on the IAJ track (no family: groen has none); on the BIT track rood,
    with a BIT criterion and a family member."""
    if track == "bit":
        label = [
            "--kleur",
            "rood",
            "--criterium",
            "sociaal_aanbod_geweigerd",
            "--gezinslid",
            "Moeder Opdrachtregel:1980-04-04",
        ]
    else:
        label = ["--kleur", "groen"]
    return iaj(
        "case", "add",
        "--naam", "Sem Opdrachtregel",
        "--geboortedatum", dt.date(today().year - age, 1, 1).isoformat(),
        "--district", "schalkwijk",
        "--traject", track,
        "--criterium", "politiecontacten",
        "--criterium", "netwerk_impact_wijk",
        *label,
        "--actor", "regisseur-test",
    )  # fmt: skip


def test_a_round_from_registration_to_the_operator_views(iaj: Iaj) -> None:
    added = add_case(iaj)
    assert added.exit_code == 0, added.output
    case_id = added.stdout.strip()

    refused = iaj("round", "open", case_id, "--kleur", "groen")
    assert refused.exit_code == 2
    assert "record the letter date first" in " ".join(refused.stderr.split())
    assert "Traceback" not in refused.output

    letter = (today() - dt.timedelta(days=3)).isoformat()
    iaj.ok("case", "inform", case_id, "--date", letter)
    opened = iaj.json("round", "open", case_id, "--kleur", "groen")
    assert opened["asked"] == ["verwijsindex", "leerplicht", "swt"]
    assert opened["waiting"] == ["cjg"]

    shown = iaj.json("round", "show", opened["round_id"])
    assert (shown["case_id"], shown["colour"], shown["state"]) == (case_id, "groen", "open")
    assert shown["completed_at"] is None
    assert (shown["refusals"], shown["late_answers"]) == (0, 0)
    statuses = {p: [q["status"] for q in qs] for p, qs in shown["partners"].items()}
    assert statuses == {
        "verwijsindex": ["open"],
        "leerplicht": ["open"],
        "cjg": ["waiting"],
        "swt": ["open"],
    }
    assert all(q["subject_ref"] == "jongere" for qs in shown["partners"].values() for q in qs)
    assert shown["partners"]["verwijsindex"][0]["shape"] == "ja_nee_met_wie"

    status = iaj.json("status", "--no-kafka")
    outstanding = {p: s["outstanding"] for p, s in status["partners"].items()}
    assert (outstanding["verwijsindex"], outstanding["leerplicht"]) == (1, 1)
    assert (outstanding["cjg"], outstanding["riec"]) == (0, 0)
    assert status["partners"]["swt"]["oldest_outstanding_seconds"] >= 0
    assert status["partners"]["cjg"]["oldest_outstanding_seconds"] is None
    assert status["rounds"] == {"open": 1, "complete": 0, "deadline": 0, "cancelled": 0}
    assert status["outbox"]["unsent"] == 3  # one question set per partner asked now
    assert status["outbox"]["oldest_unsent_seconds"] >= 0
    assert status["dead_letters"] == {"total": 0, "by_reason": {}}

    [listed] = iaj.json("case", "list")
    assert listed["case_id"] == case_id
    assert (listed["informed_on"], listed["family_members"], listed["rounds"]) == (letter, 0, 1)

    # The human views render the same data without failing.
    for view in (("status", "--no-kafka"), ("round", "show", opened["round_id"]), ("case", "list")):
        assert iaj.ok(*view).stdout.strip()


def test_a_youth_of_23_is_refused_on_the_iaj_track(iaj: Iaj) -> None:
    refused = add_case(iaj, age=23)
    assert refused.exit_code == 2
    assert "age 23" in refused.stderr
    assert "Traceback" not in refused.output
    assert iaj.json("case", "list") == []
    assert add_case(iaj, age=23, track="bit").exit_code == 0


def test_the_same_youth_is_not_added_twice(iaj: Iaj) -> None:
    case_id = add_case(iaj).stdout.strip()
    again = add_case(iaj)
    assert again.exit_code == 2
    assert case_id in again.stderr


def test_unknown_ids_and_bad_input_are_clear_errors(iaj: Iaj) -> None:
    for args in (
        ("round", "show", "no-such-round"),
        ("round", "open", "no-such-case", "--kleur", "rood"),
        ("case", "inform", "no-such-case", "--date", today().isoformat()),
    ):
        result = iaj(*args)
        assert result.exit_code == 2, args
        assert "no-such" in result.stderr
        assert "Traceback" not in result.output
    future = (today() + dt.timedelta(days=1)).isoformat()
    case_id = add_case(iaj).stdout.strip()
    assert "future" in iaj("case", "inform", case_id, "--date", future).stderr


def test_the_database_url_option_overrides_the_setting(iaj: Iaj, tmp_path: Any) -> None:
    other = f"sqlite+aiosqlite:///{tmp_path / 'other.db'}"
    assert "upgraded" in iaj.ok("db", "upgrade", "--create", "--database-url", other).stdout
    assert (tmp_path / "other.db").exists()
    assert iaj.json("case", "list", "--database-url", other) == []
