"""Partners deploy `partner_adapters` alone: it may depend on `contracts`, never on the
municipal side (`broker`, `handlers`)."""

from __future__ import annotations

import ast
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

MUNICIPAL = {"broker", "handlers", "tests"}


def _python_files(package: str) -> list[Path]:
    root = Path(str(resources.files(package)))
    return sorted(root.rglob("*.py"))


def _imported_top_levels(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute | ast.Name)
            and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            names.add(node.args[0].value.split(".")[0])
    return names


@pytest.mark.parametrize("package", ["partner_adapters", "contracts"])
def test_the_partner_side_never_imports_the_municipal_side(package: str) -> None:
    offenders = {
        str(path): found
        for path in _python_files(package)
        if (found := _imported_top_levels(path) & MUNICIPAL)
    }
    assert offenders == {}


def test_the_scan_sees_imports() -> None:
    # Guard the guard: the scanner finds an import of `broker` where there is one.
    cli = Path(str(resources.files("broker"))) / "cli.py"
    assert "partner_adapters" in _imported_top_levels(cli)


def test_the_adapter_runs_with_the_municipal_packages_absent() -> None:
    # Imports every adapter module in a fresh interpreter in which `broker` and `handlers`
    # cannot be imported, the way a partner installs it.
    root = Path(str(resources.files("partner_adapters"))).parent
    modules = sorted(
        ".".join(path.relative_to(root).with_suffix("").parts)
        for path in _python_files("partner_adapters")
    )
    script = (
        "import sys\n"
        "sys.modules['broker'] = None\n"
        "sys.modules['handlers'] = None\n"
        "import importlib\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name.removesuffix('.__init__'))\n"
        "assert 'broker' not in [m.split('.')[0] for m in sys.modules if sys.modules[m]]\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
