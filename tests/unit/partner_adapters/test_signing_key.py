"""The partner's signing key: `iaj-adapter keys`, and no answering without one."""

from __future__ import annotations

import stat
from pathlib import Path

from typer.testing import CliRunner

from partner_adapters.cli import app

runner = CliRunner()


def test_keys_generate_writes_a_private_key_only_its_owner_can_read(tmp_path: Path) -> None:
    made = runner.invoke(app, ["keys", "generate", "--partner", "cjg", "--dir", str(tmp_path)])
    assert made.exit_code == 0, made.output
    [private] = tmp_path.glob("cjg-*.key")
    [public] = tmp_path.glob("cjg-*.pub")
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert b"PRIVATE KEY" in private.read_bytes()
    assert b"PUBLIC KEY" in public.read_bytes()
    key_id = private.stem.removeprefix("cjg-")
    assert key_id in made.output
    shown = runner.invoke(app, ["keys", "show"], env={"IAJ_ADAPTER_SIGNING_KEY": str(private)})
    assert shown.output.strip() == key_id


def test_run_without_a_signing_key_refuses_to_start(tmp_path: Path) -> None:
    env = {"IAJ_ADAPTER_SIGNING_KEY": None, "IAJ_ADAPTER_STATE_DB": str(tmp_path / "s.db")}
    ran = runner.invoke(app, ["run", "--partner", "cjg"], env=env)
    assert ran.exit_code == 2
    assert "iaj-adapter keys generate" in _text(ran.output)
    assert not (tmp_path / "s.db").exists()  # nothing was started


def test_keys_show_names_a_missing_key(tmp_path: Path) -> None:
    missing = tmp_path / "gone.key"
    shown = runner.invoke(app, ["keys", "show"], env={"IAJ_ADAPTER_SIGNING_KEY": str(missing)})
    assert shown.exit_code == 2
    assert "does not exist" in _text(shown.output)


def _text(output: str) -> str:
    return " ".join(output.split())  # as read, not as wrapped to the terminal
