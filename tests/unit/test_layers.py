"""Dependencies point one way: contracts <- kafka_access; contracts <- handlers <- broker;
contracts, kafka_access <- partner_adapters; devtools (a clone's tools) on top of everything.

Read from the source (every import statement, at any depth, lazy ones included), so a
forbidden import fails here before it reaches a partner's installation or the image.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# package -> top-level modules it may never import
# (prometheus_client is in both distributions since issue 14: both serve /metrics.)
MUNICIPAL_STORAGE = {"sqlalchemy", "alembic", "asyncpg"}
FORBIDDEN = {
    # The shared language: no I/O, no other package of ours.
    "contracts": {
        "broker", "handlers", "partner_adapters", "kafka_access", "devtools", "tests",
        "aiosqlite", "aiokafka", "faststream", "socket", "subprocess", "prometheus_client",
        "uvicorn", *MUNICIPAL_STORAGE,
    },
    # How both sides reach Kafka: shipped in both distributions.
    "kafka_access": {
        "broker", "handlers", "partner_adapters", "devtools", "tests", *MUNICIPAL_STORAGE,
    },
    # Use cases and their storage: below the processes that run them.
    "handlers": {
        "broker", "partner_adapters", "kafka_access", "devtools", "tests", "aiokafka",
        "faststream",
    },
    # The running processes: the dev tools and the partner adapter are not installed with them
    # (broker/cli/forwarded.py loads those by name, only when such a command runs).
    "broker": {"partner_adapters", "devtools", "tests"},
    # What a partner installs: nothing municipal, none of the municipality's storage.
    "partner_adapters": {"broker", "handlers", "devtools", "tests", *MUNICIPAL_STORAGE},
    # The backend kit runs outside the service: the wire contracts and Kafka access only.
    "examples": {
        "broker", "handlers", "partner_adapters", "devtools", "tests", "faststream",
        *MUNICIPAL_STORAGE,
    },
}  # fmt: skip


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
        elif _is_import_module_call(node):
            found.add(node.args[0].value.split(".")[0])  # type: ignore[attr-defined]
    return found


def _is_import_module_call(node: ast.AST) -> bool:
    """`importlib.import_module("name...")` with the name written out."""
    return (
        isinstance(node, ast.Call)
        and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module"
        and bool(node.args)
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    )


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_package_imports_against_the_direction_of_the_layers(package: str) -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(_imports(path) & FORBIDDEN[package])
        for path in sorted((ROOT / package).rglob("*.py"))
        if _imports(path) & FORBIDDEN[package]
    }
    assert offenders == {}


def test_the_check_sees_a_forbidden_import(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text(
        "import importlib\n"
        "def f():\n"
        "    from broker.service.municipal import MunicipalService\n"
        "    importlib.import_module('devtools.demo')\n"
    )
    assert _imports(module) >= {"broker", "devtools"}


def test_every_package_of_ours_is_checked() -> None:
    ours = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests", "devtools"}
    assert ours == set(FORBIDDEN)
