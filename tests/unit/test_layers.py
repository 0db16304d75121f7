"""Dependencies point one way: contracts <- handlers <- broker; contracts <- partner_adapters.

Read from the source (every import statement, at any depth, lazy ones included), so a
forbidden import fails here before it reaches a partner's installation or the image.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# package -> top-level modules it may never import
FORBIDDEN = {
    # The shared language: no I/O, no other package of ours.
    "contracts": {
        "broker", "handlers", "partner_adapters", "devtools",
        "sqlalchemy", "alembic", "asyncpg", "aiosqlite", "aiokafka", "faststream",
        "prometheus_client", "socket", "subprocess",
    },
    # Use cases and their storage: below the processes that run them.
    "handlers": {"broker", "partner_adapters", "devtools", "aiokafka", "faststream"},
    # What a partner installs: nothing municipal, none of the municipality's storage.
    "partner_adapters": {
        "broker", "handlers", "devtools", "sqlalchemy", "alembic", "asyncpg", "prometheus_client",
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
    return found


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
    module.write_text("def f():\n    from broker.service import MunicipalService\n")
    assert "broker" in _imports(module)
