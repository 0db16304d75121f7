"""The README is the operator's and the newcomer's reference: it must name every setting,
both commands, and the folders as they are."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic_settings import BaseSettings

from broker.settings import ServiceSettings
from partner_adapters.settings import AdapterSettings

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("settings", [ServiceSettings, AdapterSettings])
def test_every_setting_is_in_the_configuration_tables(settings: type[BaseSettings]) -> None:
    prefix = settings.model_config.get("env_prefix", "")
    missing = [
        f"{prefix}{name}".upper()
        for name in settings.model_fields
        if f"`{prefix}{name}`".upper() not in README.upper()
    ]
    assert missing == [], f"add these to README.md's configuration tables: {missing}"


def test_the_quick_start_is_exactly_two_commands() -> None:
    quick_start = README.split("## Quick start", 1)[1].split("```", 2)[1]
    commands = [line.split("#")[0].strip() for line in quick_start.splitlines()[1:]]
    assert [c for c in commands if c] == ["make demo", "make test"]


def _folder_map() -> list[str]:
    """The paths in the first code block of "Where things are", nested ones joined."""
    block = README.split("### Where things are", 1)[1].split("```", 2)[1]
    paths, parent = [], ""
    for line in block.splitlines():
        match = re.match(r"^( {2})?([\w.-]+/?)\s", line + " ")  # a name, or one nested
        if not match or not match.group(2).strip("."):
            continue
        indent, name = match.groups()
        if indent:
            paths.append(parent + name)
        elif name.endswith("/"):
            parent = name
            paths.append(name)
    return paths


def test_where_things_are_lists_folders_that_exist() -> None:
    listed = _folder_map()
    assert "handlers/db/" in listed  # the parser sees nesting
    assert [p for p in listed if not (ROOT / p).exists()] == []


def test_where_things_are_lists_every_top_level_package() -> None:
    packages = {f"{p.parent.name}/" for p in ROOT.glob("*/__init__.py")}
    assert packages - set(_folder_map()) == set()


def test_every_repository_path_the_readme_names_exists() -> None:
    current = README.split("### Changelog", 1)[0]  # the changelog names where things were
    named = re.findall(
        r"`((?:tests|broker|handlers|devtools|contracts|partner_adapters|kafka_access|deploy|"
        r"docs|packaging|requirements)/[\w./-]*)`",
        current,
    )
    assert named
    assert sorted({n for n in named if not (ROOT / n).exists()}) == []
