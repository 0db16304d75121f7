"""`iaj contracts schemas [--check]`, writing into a temporary directory."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner, Result

from contracts.jsonschema import schema_filename, wire_schemas
from devtools.generators.contracts_command import app

NAMES = [schema_filename(name) for name in wire_schemas()]


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def test_writes_every_schema_then_check_passes(tmp_path: Path) -> None:
    result = run("schemas", "--dir", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(NAMES)
    check = run("schemas", "--check", "--dir", str(tmp_path))
    assert check.exit_code == 0, check.output
    assert "up to date" in check.stdout


def test_check_names_stale_missing_and_orphaned_files(tmp_path: Path) -> None:
    assert run("schemas", "--dir", str(tmp_path)).exit_code == 0
    (tmp_path / "QuestionSet.schema.json").write_text("{}\n")
    (tmp_path / "AnswerItem.schema.json").unlink()
    (tmp_path / "Groepsgedrag.schema.json").write_text("{}\n")
    before = {p.name: p.read_text() for p in tmp_path.iterdir()}

    result = run("schemas", "--check", "--dir", str(tmp_path))

    assert result.exit_code == 1
    for name in ("QuestionSet", "AnswerItem", "Groepsgedrag"):
        assert f"{name}.schema.json" in result.stderr
    assert "PartnerAnswer" not in result.stderr
    assert "make schemas" in result.stderr
    assert {p.name: p.read_text() for p in tmp_path.iterdir()} == before  # --check writes nothing


def test_writing_repairs_what_check_found(tmp_path: Path) -> None:
    assert run("schemas", "--dir", str(tmp_path)).exit_code == 0
    (tmp_path / "QuestionSet.schema.json").write_text("{}\n")
    (tmp_path / "Groepsgedrag.schema.json").write_text("{}\n")
    result = run("schemas", "--dir", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert "2 schema file(s) updated" in result.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(NAMES)
    assert run("schemas", "--check", "--dir", str(tmp_path)).exit_code == 0


def test_check_of_an_empty_directory_fails(tmp_path: Path) -> None:
    result = run("schemas", "--check", "--dir", str(tmp_path / "none"))
    assert result.exit_code == 1
    assert not (tmp_path / "none").exists()
