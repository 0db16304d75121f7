"""The README is the operator's reference: it must name every setting and both commands."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic_settings import BaseSettings

from broker.settings import ServiceSettings
from partner_adapters.settings import AdapterSettings

README = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")


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
