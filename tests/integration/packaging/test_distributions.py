"""The two distributions as they are installed: a partner's gets only what it runs.

The partner adapter's wheel is built from packaging/partner-adapter and installed, with its
locked dependencies, into a fresh virtual environment that knows nothing of this clone. The
municipal wheel is built and its contents listed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
PARTNER_PROJECT = ROOT / "packaging" / "partner-adapter"
# prometheus_client is not among them: the adapter serves /metrics too (issue 14).
MUNICIPAL_ONLY = ("sqlalchemy", "asyncpg", "alembic", "broker", "handlers")

pytestmark = pytest.mark.integration


def _run(*args: str | Path, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    # No PYTHONPATH and a working directory outside the clone: nothing of ours leaks in.
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    return subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _wheel(project: Path, out: Path) -> Path:
    built = _run(
        sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
        "--wheel-dir", out, project, cwd=out,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    [wheel] = out.glob("*.whl")
    return wheel


def _top_levels(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return {name.split("/")[0] for name in archive.namelist() if ".dist-info" not in name}


@pytest.fixture(scope="module")
def partner_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _wheel(PARTNER_PROJECT, tmp_path_factory.mktemp("partner-wheel"))


@pytest.fixture(scope="module")
def partner_env(partner_wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with the partner adapter and its locked dependencies."""
    home = tmp_path_factory.mktemp("partner-env")
    venv.create(home / "venv", with_pip=True)
    python = home / "venv" / "bin" / "python"
    lock = ROOT / "requirements" / "partner-adapter.lock"
    for step in (
        ("--require-hashes", "-r", lock),
        ("--no-deps", partner_wheel),
    ):
        installed = _run(
            python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *step,
            cwd=home,
        )  # fmt: skip
        assert installed.returncode == 0, installed.stderr
    return home / "venv" / "bin"


def test_the_partner_wheel_holds_the_contracts_and_the_adapter_only(partner_wheel: Path) -> None:
    assert _top_levels(partner_wheel) == {"contracts", "kafka_access", "partner_adapters"}


def test_iaj_adapter_runs_in_the_partners_environment(partner_env: Path) -> None:
    helped = _run(partner_env / "iaj-adapter", "--help", cwd=partner_env)
    assert helped.returncode == 0, helped.stderr
    for command in ("run", "status", "pending", "answer", "desk", "desk-user"):
        assert command in helped.stdout


def test_the_partners_environment_has_nothing_municipal(partner_env: Path) -> None:
    for module in MUNICIPAL_ONLY:
        imported = _run(partner_env / "python", "-c", f"import {module}", cwd=partner_env)
        assert imported.returncode != 0, f"{module} is importable in the partner's environment"
        assert "ModuleNotFoundError" in imported.stderr


def test_the_partners_environment_can_serve_the_operations_endpoints(partner_env: Path) -> None:
    # `iaj-adapter run` serves /metrics and /health/* (kafka_access.ops).
    imported = _run(
        partner_env / "python", "-c", "import prometheus_client, uvicorn, kafka_access.ops",
        cwd=partner_env,
    )  # fmt: skip
    assert imported.returncode == 0, imported.stderr


def test_every_adapter_module_imports_in_the_partners_environment(partner_env: Path) -> None:
    modules = sorted(
        ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for package in ("contracts", "kafka_access", "partner_adapters")
        for path in (ROOT / package).rglob("*.py")
        if path.name not in {"__main__.py"}
    )
    script = f"import importlib\nfor name in {modules!r}:\n    importlib.import_module(name)\n"
    imported = _run(partner_env / "python", "-c", script, cwd=partner_env)
    assert imported.returncode == 0, imported.stderr


def test_the_partner_wheel_ships_the_desks_templates_and_static_files(
    partner_wheel: Path,
) -> None:
    desk = ROOT / "partner_adapters" / "desk"
    needed = {
        str(path.relative_to(ROOT))
        for folder in ("templates", "static")
        for path in (desk / folder).iterdir()
    }
    with zipfile.ZipFile(partner_wheel) as archive:
        assert needed <= set(archive.namelist())


def test_the_desk_works_in_the_partners_environment(partner_env: Path) -> None:
    # Every template compiles, the static files are found, a user can be added (Argon2).
    script = (
        "from jinja2 import Environment, PackageLoader\n"
        "from starlette.staticfiles import StaticFiles\n"
        "from partner_adapters.desk import create_desk_app\n"
        "env = Environment(loader=PackageLoader('partner_adapters.desk', 'templates'))\n"
        "assert len([env.get_template(n) for n in env.list_templates()]) >= 5\n"
        "StaticFiles(packages=[('partner_adapters.desk', 'static')])\n"
    )
    imported = _run(partner_env / "python", "-c", script, cwd=partner_env)
    assert imported.returncode == 0, imported.stderr
    users = partner_env.parent / "desk-users.toml"
    added = subprocess.run(
        [str(partner_env / "iaj-adapter"), "desk-user", "add", "j.jansen", "--users-file",
         str(users), "--password-stdin"],
        input="een-lang-synthetisch-wachtwoord\n", capture_output=True, text=True,
        cwd=partner_env, timeout=120, check=False,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert "$argon2id$" in users.read_text()


def test_the_municipal_wheel_ships_no_dev_tools_tests_or_adapter(tmp_path: Path) -> None:
    wheel = _wheel(ROOT, tmp_path)
    assert _top_levels(wheel) == {"contracts", "kafka_access", "handlers", "broker"}


def test_both_distributions_carry_one_version() -> None:
    def version(pyproject: Path) -> str:
        return str(tomllib.loads(pyproject.read_text())["project"]["version"])

    assert version(PARTNER_PROJECT / "pyproject.toml") == version(ROOT / "pyproject.toml")


def _pins(lock: str) -> dict[str, str]:
    lines = (ROOT / "requirements" / lock).read_text().splitlines()
    pins = (line.split(" ")[0].split("==") for line in lines if "==" in line[:80])
    return {name: version for name, version in pins if not name.startswith("--")}


@pytest.mark.parametrize("lock", ["service.lock", "partner-adapter.lock", "build.lock"])
def test_what_is_deployed_is_what_the_tests_ran_with(lock: str) -> None:
    # The images install these locks, the test suite runs on dev.lock: one version each.
    dev = _pins("dev.lock")
    deployed = _pins(lock)
    assert deployed
    assert {name: (v, dev.get(name)) for name, v in deployed.items() if dev.get(name) != v} == {}
