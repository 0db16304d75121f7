"""`iaj case export | correct | erase` as a regisseur drives them, on SQLite and PostgreSQL.

No Kafka: what the commands send waits in the outbox, which the running service publishes.
Every name and address here is invented.
"""

from __future__ import annotations

import datetime as dt
import stat
from pathlib import Path

import pytest

from tests.support.cli import Iaj
from tests.support.cli import refusal as refused
from tests.support.clock import today

pytestmark = pytest.mark.integration

YOUTH = "Lotte <b>Bedachtweg</b>"
MOTHER = "Moeder Bedachtweg"
ADDRESS = "Fictiepad 8, Haarlem"
ADDRESS_REASON = "De woningcorporatie en de BRP hebben het adres nodig voor hun vraag."
REASON = "De naam was bij de registratie verkeerd overgenomen uit het overleg."


@pytest.fixture
def iaj(database_url: str) -> Iaj:
    return Iaj(database_url)


def oranje_case_with_a_round(iaj: Iaj) -> tuple[str, str]:
    case_id = iaj.ok(
        "case", "add",
        "--naam", YOUTH,
        "--geboortedatum", dt.date(today().year - 16, 3, 3).isoformat(),
        "--district", "noord",
        "--traject", "iaj",
        "--criterium", "politiecontacten",
        "--kleur", "oranje",
        "--adres", ADDRESS,
        "--adres-reden", ADDRESS_REASON,
        "--gezinslid", f"{MOTHER}:1982-05-05",
        "--brief-verstuurd", (today() - dt.timedelta(days=2)).isoformat(),
    ).stdout.strip()  # fmt: skip
    round_id = iaj.json("round", "open", case_id)["round_id"]
    return case_id, round_id


def test_export_prints_json_and_writes_a_private_escaped_page(iaj: Iaj, tmp_path: Path) -> None:
    case_id, round_id = oranje_case_with_a_round(iaj)
    data = iaj.json("case", "export", case_id)
    assert data["case"]["naam"] == YOUTH
    assert [m["naam"] for m in data["family"]] == [MOTHER]
    assert [r["id"] for r in data["rounds"]] == [round_id]
    shared = {(e["action"], e["partner"]) for e in data["shared_with_partners"]}
    assert ("question_set_issued", "woningcorporatie") in shared
    assert any(e["action"] == "case_exported" for e in data["processing_log"])

    page = tmp_path / "inzage.html"
    written = iaj.ok("case", "export", case_id, "--html", str(page))
    assert "inzage written to" in written.stdout
    assert YOUTH not in written.output  # the data is in the file only
    assert stat.S_IMODE(page.stat().st_mode) == 0o600
    html = page.read_text(encoding="utf-8")
    assert "Lotte &lt;b&gt;Bedachtweg&lt;/b&gt;" in html
    assert "<b>" not in html

    refused(iaj("case", "export", case_id, "--html", str(page)), "exists already", "--force")
    page.chmod(0o644)
    iaj.ok("case", "export", case_id, "--html", str(page), "--force")
    assert stat.S_IMODE(page.stat().st_mode) == 0o600
    refused(iaj("case", "export", case_id), "--json", "--html FILE")

    exports = [
        e for e in iaj.json("case", "export", case_id)["processing_log"]
        if e["action"] == "case_exported"
    ]  # fmt: skip
    assert len(exports) == 4  # the json, two pages, and this one; the refusals were not


def test_correct_tells_the_partners_concerned_and_says_the_round_continues(iaj: Iaj) -> None:
    case_id, round_id = oranje_case_with_a_round(iaj)
    report = iaj.json(
        "case", "correct", case_id, "--adres", "Verzinsingel 2, Haarlem",
        "--adres-reden", ADDRESS_REASON, "--reason", "Het adres is gewijzigd volgens de BRP.",
    )  # fmt: skip
    assert report["corrected"] == ["adres"]
    assert {t["partner"] for t in report["told"]} == {"woningcorporatie", "brp"}
    assert report["open_rounds"] == [round_id]

    shown = iaj.ok("case", "correct", case_id, "--naam", "Lotte Bedachtweg", "--reason", REASON)
    text = " ".join(shown.stdout.split())
    assert "corrected naam" in text
    assert "verwijsindex (naam)" in text
    assert "woningcorporatie (naam)" in text
    assert f"open round {round_id} continues" in text
    assert iaj.json("case", "export", case_id)["case"]["naam"] == "Lotte Bedachtweg"

    message = refused(
        iaj("case", "correct", case_id, "--naam", "Lotte B", "--reason",
            "De naam Lotte Bedachtweg was fout gespeld."),
        "reason", "without the name",
    )  # fmt: skip
    assert "Bedachtweg" not in message
    refused(
        iaj("case", "correct", case_id, "--geboortedatum", "2999-01-01", "--reason", REASON),
        "future",
    )
    refused(iaj("case", "correct", case_id, "--adres", "Ergens 1", "--reason", REASON), "reason")
    refused(iaj("case", "correct", case_id, "--reason", REASON), "nothing to correct")


def test_erase_asks_first_then_leaves_nothing_to_export(iaj: Iaj) -> None:
    case_id, round_id = oranje_case_with_a_round(iaj)
    # The regisseur may not: erasure is for the official who manages the file.
    refused(
        iaj("case", "erase", case_id, "--reason", "registered-by-mistake", "--yes"),
        "only the responsible official (functionaris.iaj) may erase a case",
    )
    assert iaj.json("case", "export", case_id)["case"]["naam"] == YOUTH
    iaj.env["IAJ_ACTOR"] = "functionaris.iaj"
    declined = iaj("case", "erase", case_id, "--reason", "registered-by-mistake", input="n\n")
    assert declined.exit_code == 1
    assert "nothing was erased" in declined.stderr
    assert YOUTH not in declined.output  # the question names the case by id and counts only
    assert iaj.json("case", "export", case_id)["case"]["naam"] == YOUTH

    refused(iaj("case", "erase", case_id, "--reason", "because"), "registered-by-mistake")

    erased = iaj.json("case", "erase", case_id, "--reason", "objection-granted", "--yes")
    assert erased["cancelled_rounds"] == [round_id]
    assert (erased["rounds"], erased["family_members"]) == (1, 1)
    assert erased["storage_note"] is None
    assert erased["notices_kept"] >= 2  # withdrawal notices and the cancelled result

    refused(iaj("case", "export", case_id, "--json"), "no case", "iaj case list")
    assert iaj.json("case", "list") == []


@pytest.mark.parametrize(
    "command",
    [
        ("case", "export", "--json"),
        ("case", "correct", "--naam", "Iemand Anders", "--reason", REASON),
        ("case", "erase", "--reason", "registered-by-mistake", "--yes"),
        ("case", "erase", "--reason", "registered-by-mistake"),
    ],
)
def test_an_unknown_case_is_refused_clearly(iaj: Iaj, command: tuple[str, ...]) -> None:
    iaj.env["IAJ_ACTOR"] = "functionaris.iaj"
    refused(iaj(*command[:2], "no-such-case", *command[2:]), "no case", "iaj case list")


def test_the_rights_commands_are_listed_under_case(iaj: Iaj) -> None:
    listed = iaj.ok("case", "--help").stdout
    for command in ("export", "correct", "erase"):
        assert command in listed
