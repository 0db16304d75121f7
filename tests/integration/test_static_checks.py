"""The code as `make lint` sees it: ruff clean and formatted, mypy strict, tests included.

Part of the suite so that CI, which runs `make test` only, holds every change to them.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CHECKED = ["contracts", "kafka_access", "handlers", "broker", "partner_adapters", "devtools"]


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False
    )


@pytest.mark.parametrize(
    "command",
    [["ruff", "check", "."], ["ruff", "format", "--check", "."]],
    ids=["ruff-check", "ruff-format"],
)
def test_ruff(command: list[str]) -> None:
    result = _run(str(BIN / command[0]), *command[1:])
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_on_the_code_and_the_tests() -> None:
    result = _run(str(BIN / "mypy"), *CHECKED, "tests")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success" in result.stdout


def test_the_makefile_lints_the_same_folders() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert f"$(BIN)/mypy {' '.join(CHECKED)} tests" in makefile
