"""Checked-in files generated from code (JSON Schemas, AsyncAPI documents): find the stale
ones, write them, or fail a check that says how to regenerate them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import typer
from rich.console import Console
from rich.text import Text

__all__ = ["GeneratedFiles"]


@dataclass(frozen=True)
class GeneratedFiles:
    """`expected` maps file name -> exact text; files matching `prune_glob` that are no
    longer generated count as stale and are deleted on write."""

    label: str  # "schema file(s)", for messages
    directory: Path
    expected: Mapping[str, str]
    regenerate: str  # the command that writes them
    prune_glob: str | None = None

    def stale(self) -> list[str]:
        """Names of files missing, differing, or no longer generated."""
        stale = [
            name
            for name, text in self.expected.items()
            if not (path := self.directory / name).is_file()
            or path.read_text(encoding="utf-8") != text
        ]
        if self.prune_glob is not None and self.directory.is_dir():
            stale += [
                p.name
                for p in sorted(self.directory.glob(self.prune_glob))
                if p.name not in self.expected
            ]
        return stale

    def write(self) -> list[str]:
        """Bring the directory up to date; returns the names written or deleted."""
        stale = self.stale()
        self.directory.mkdir(parents=True, exist_ok=True)
        for name in stale:
            path = self.directory / name
            if name in self.expected:
                path.write_text(self.expected[name], encoding="utf-8")
            else:
                path.unlink()
        return stale

    def run(self, *, check: bool) -> None:
        """The CLI command: with `check`, write nothing and exit 1 when anything is stale."""
        out = Console(soft_wrap=True, markup=False, highlight=False)
        if check:
            stale = self.stale()
            if stale:
                err = Console(stderr=True, soft_wrap=True, markup=False, highlight=False)
                err.print(Text(f"out of date in {self.directory}: {', '.join(stale)}", "red"))
                err.print(f"run `{self.regenerate}` and commit the result")
                raise typer.Exit(1)
            out.print(f"{self.label} in {self.directory} are up to date")
            return
        written = self.write()
        out.print(
            f"{len(written)} {self.label} updated in {self.directory}" if written else "up to date"
        )
