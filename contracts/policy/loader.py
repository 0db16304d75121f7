"""Load and validate a policy file. Every error names the file and line of the entry at fault."""

from __future__ import annotations

import re
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from contracts.errors import ContractError
from contracts.policy.model import Policy, PolicyQuestion

__all__ = ["DEFAULT_POLICY_FILE", "PolicyError", "load_policy", "load_policy_text"]

DEFAULT_POLICY_FILE = "haarlem-iaj.toml"
_ENTRY_HEADER = re.compile(r"^\s*\[\[\s*question\s*\]\]\s*(#.*)?$")
_TOML_ERROR_LINE = re.compile(r"\(at line (\d+), column \d+\)")


class PolicyError(ContractError):
    """The policy file is not a valid policy. The message names the file, line and rule."""


def load_policy(path: Path | None = None) -> Policy:
    """Load a policy file; without a path, the Haarlem policy shipped in this package."""
    if path is None:
        source = resources.files("contracts.policy").joinpath(DEFAULT_POLICY_FILE)
        return load_policy_text(source.read_text(encoding="utf-8"), DEFAULT_POLICY_FILE)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise PolicyError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    return load_policy_text(text, str(path))


def load_policy_text(text: str, origin: str = "<policy>") -> Policy:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{origin}:{_toml_error_line(exc, text)}: not valid TOML: {exc}") from exc
    entries: Any = data.pop("question", [])
    lines = _entry_lines(text)
    if not isinstance(entries, list) or len(entries) != len(lines):
        # Error messages name the line of each entry, so each must be its own table.
        raise PolicyError(
            f"{origin}:{_key_line(text, 'question') or 1}: write every question as its own "
            "[[question]] table (not an inline array or a plain value)"
        )
    questions = [_load_entry(entry, origin, lines[i]) for i, entry in enumerate(entries)]
    _check_unique_and_conditions(questions, origin, lines)
    try:
        return Policy.model_validate({**data, "questions": questions})
    except ValidationError as exc:
        key = exc.errors()[0]["loc"][:1]
        line = _key_line(text, str(key[0])) if key else None
        where = f"{origin}:{line}" if line else origin
        raise PolicyError(f"{where}: policy header: {_first_error(exc)}") from exc


def _entry_lines(text: str) -> list[int]:
    return [n for n, line in enumerate(text.splitlines(), start=1) if _ENTRY_HEADER.match(line)]


def _toml_error_line(exc: tomllib.TOMLDecodeError, text: str) -> int:
    lineno: int | None = getattr(exc, "lineno", None)  # Python >= 3.14
    if lineno is None:
        found = _TOML_ERROR_LINE.search(str(exc))
        lineno = int(found.group(1)) if found else max(len(text.splitlines()), 1)
    return lineno


def _key_line(text: str, key: str) -> int | None:
    """The line of a top-level `key = ...`, looking only above the first table."""
    assignment = re.compile(rf"^\s*{re.escape(key)}\s*=")
    for n, line in enumerate(text.splitlines(), start=1):
        if line.lstrip().startswith("["):
            return None
        if assignment.match(line):
            return n
    return None


def _load_entry(entry: Any, origin: str, line: int) -> PolicyQuestion:
    where = f"{origin}:{line}"
    try:
        question = PolicyQuestion.model_validate(entry)
    except ValidationError as exc:
        name = entry.get("key", "?") if isinstance(entry, dict) else "?"
        raise PolicyError(f"{where}: question {name!r}: {_first_error(exc)}") from exc
    shrink = question.shrinking_colour()
    if shrink is not None:
        lower, higher = shrink
        raise PolicyError(
            f"{where}: question {question.partner}.{question.key}: {higher} permits less than "
            f"{lower} ({question.shapes.get(higher, 'not asked')} after "
            f"{question.shapes[lower]}); disclosure may not shrink as the colour goes up"
        )
    return question


def _check_unique_and_conditions(
    questions: list[PolicyQuestion], origin: str, lines: list[int]
) -> None:
    seen: set[tuple[str, str, str]] = set()
    for i, q in enumerate(questions):
        ident = (q.partner.value, q.key, q.subject.value)
        if ident in seen:
            raise PolicyError(
                f"{origin}:{lines[i]}: question {q.partner}.{q.key} about {q.subject} "
                "is declared twice"
            )
        seen.add(ident)
    for i, q in enumerate(questions):
        if q.after is None:
            continue
        parents = [
            p
            for p in questions
            if p.partner is q.after.partner and p.key == q.after.key and p.subject is q.subject
        ]
        if not parents:
            raise PolicyError(
                f"{origin}:{lines[i]}: question {q.partner}.{q.key} depends on "
                f"{q.after.partner}.{q.after.key}, which the policy does not ask"
            )
        if _depends_on_itself(q, questions):
            raise PolicyError(
                f"{origin}:{lines[i]}: question {q.partner}.{q.key} depends on itself "
                "(directly or through its condition), so it could never be asked"
            )
        missing = [c for c in q.shapes if c not in parents[0].shapes]
        if missing:
            raise PolicyError(
                f"{origin}:{lines[i]}: question {q.partner}.{q.key} is asked in "
                f"{', '.join(missing)} but depends on a question not asked there"
            )


def _depends_on_itself(question: PolicyQuestion, questions: list[PolicyQuestion]) -> bool:
    by_ident = {(p.partner, p.key, p.subject): p for p in questions}
    current: PolicyQuestion | None = question
    for _ in questions:
        if current is None or current.after is None:
            return False
        current = by_ident.get((current.after.partner, current.after.key, current.subject))
        if current is question:
            return True
    return False


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(part) for part in err["loc"])
    return f"{loc}: {err['msg']}" if loc else str(err["msg"])
