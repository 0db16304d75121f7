"""The officials file: exactly one responsible official, unique names that cannot be mistaken
for the service's own actors, and a clear refusal of anyone else."""

from __future__ import annotations

from pathlib import Path

import pytest

from handlers.errors import UnknownActor
from handlers.officials import load_officials

ROOT = Path(__file__).parents[3]


def test_the_shipped_example_and_the_test_officials_load() -> None:
    example = load_officials(ROOT / "deploy" / "officials.toml")
    assert example.responsible.name == "functionaris.iaj"
    assert load_officials(ROOT / "tests" / "support" / "officials.toml").require("regisseur-test")


@pytest.mark.parametrize(
    "system_actor",
    ["iaj-broker", "iaj-service (retention)", "partner:cjg", "partner-cjg", "IAJ-BROKER"],
)
def test_no_official_can_carry_a_name_the_service_logs_under(
    tmp_path: Path, system_actor: str
) -> None:
    file = tmp_path / "o.toml"
    file.write_text(
        f'[[official]]\nname = "{system_actor}"\nrole = "r"\nresponsible = true\n',
        encoding="utf-8",
    )
    with pytest.raises(Exception, match="name"):
        load_officials(file)


def test_the_refusal_names_the_responsible_official_not_the_list() -> None:
    officials = load_officials(ROOT / "deploy" / "officials.toml")
    with pytest.raises(UnknownActor) as refused:
        officials.require("burgemeester")
    assert "functionaris.iaj" in str(refused.value)
    assert "regisseur.noord" not in str(refused.value)  # the list is not disclosed


def test_no_officials_file_means_no_actor() -> None:
    with pytest.raises(UnknownActor, match="IAJ_OFFICIALS_FILE"):
        load_officials(None)
