"""`iaj --help` and the operator commands load only what they run: no dev tools, no tests,
no partner adapter; a command whose code is not installed says where it is."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from broker.cli.lazy import COMMANDS

OPERATOR_COMMANDS = [c.name for c in COMMANDS if c.module.startswith("broker.")]
NOT_MUNICIPAL = {"devtools", "tests", "partner_adapters"}

# Runs `iaj <args>` in a fresh interpreter, optionally with some packages made unimportable,
# and prints the exit code and the top-level packages that were imported.
_SCRIPT = """
import json, sys
for blocked in {blocked!r}:
    sys.modules[blocked] = None
from broker.cli import app
sys.argv = ["iaj", *{args!r}]
try:
    app()
    code = 0
except SystemExit as exc:
    code = exc.code
loaded = sorted({{m.split(".")[0] for m, v in sys.modules.items() if v is not None}})
print(json.dumps({{"code": code, "loaded": loaded}}))
"""


def iaj(*args: str, blocked: tuple[str, ...] = ()) -> tuple[int, set[str], str]:
    run = subprocess.run(
        [sys.executable, "-c", _SCRIPT.format(args=list(args), blocked=list(blocked))],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    report = json.loads(run.stdout.strip().splitlines()[-1])
    return int(report["code"] or 0), set(report["loaded"]), run.stderr


def test_help_lists_every_command_and_loads_none_of_them() -> None:
    code, loaded, _ = iaj("--help")
    assert code == 0
    assert not loaded & (NOT_MUNICIPAL | {"handlers", "sqlalchemy", "faststream", "alembic"})


def test_the_operator_commands_load_no_dev_tool_test_or_adapter_code() -> None:
    # One interpreter runs every operator command's --help in turn (one per command would
    # be slower and no stricter: if none is loaded after all of them, none was by each).
    script = (
        "import sys\n"
        "from broker.cli import app\n"
        f"for command in {OPERATOR_COMMANDS!r}:\n"
        "    sys.argv = ['iaj', command, '--help']\n"
        "    try:\n"
        "        app()\n"
        "    except SystemExit as exc:\n"
        "        assert not exc.code, (command, exc.code)\n"
        "print(sorted({m.split('.')[0] for m, v in sys.modules.items() if v is not None}))\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert run.returncode == 0, run.stderr
    loaded = set(json.loads(run.stdout.strip().splitlines()[-1].replace("'", '"')))
    assert {"broker", "handlers", "sqlalchemy"} <= loaded  # the check sees what was loaded
    assert not loaded & NOT_MUNICIPAL
    assert len(OPERATOR_COMMANDS) == 9


@pytest.mark.parametrize(
    ("command", "where"),
    [
        ("demo", "make demo"),
        ("bench", "make bench"),
        ("deploy", "make deploy-files"),
        ("contracts", "make schemas"),
        ("adapter", "iaj-adapter"),
    ],
)
def test_a_command_whose_code_is_not_installed_says_where_it_is(command: str, where: str) -> None:
    # As in the production image: neither devtools nor the partner adapter is installed.
    code, _, stderr = iaj(command, "--help", blocked=("devtools", "partner_adapters"))
    assert code == 2
    assert where in stderr
    assert "Traceback" not in stderr


def test_a_dev_command_runs_where_its_code_is_installed() -> None:
    code, loaded, stderr = iaj("deploy", "--help")
    assert code == 0, stderr
    assert "devtools" in loaded
