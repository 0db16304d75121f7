"""The service's and the adapter's log lines show where an exception came from and of what
type, never its message: parsers, drivers and libraries quote their input in it."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from contracts.content_free_logs import ContentFreeFormatter, describe_exception
from contracts.messages import QuestionSet

MARKER = "Zeldzaam-Merkteken-4410"
ROOT = Path(__file__).resolve().parents[3]


def _raise_chained() -> None:
    try:
        {"naam": MARKER}["adres"]
    except KeyError as exc:
        raise RuntimeError(f"lookup failed for {MARKER}") from exc


def test_a_chained_exception_shows_types_and_frames_but_no_message() -> None:
    with pytest.raises(RuntimeError) as raised:
        _raise_chained()
    text = "\n".join(describe_exception(raised.value))
    assert MARKER not in text
    assert "builtins.KeyError" in text
    assert "builtins.RuntimeError" in text
    assert "direct cause" in text
    assert "_raise_chained" in text  # where it happened is still there


def test_a_log_record_with_a_validation_error_has_no_input() -> None:
    try:
        QuestionSet.model_validate_json(json.dumps({"partner": MARKER, "naam": MARKER}))
    except ValidationError:
        record = logging.LogRecord(
            "t", logging.ERROR, __file__, 1, "processing failed at %s", ("t:0:1",), sys.exc_info()
        )
    line = ContentFreeFormatter("%(message)s").format(record)
    assert "processing failed at t:0:1" in line
    assert "ValidationError" in line
    assert MARKER not in line


@pytest.mark.parametrize(
    "cli",
    ["broker/cli/serve.py", "partner_adapters/cli.py"],
)
def test_the_service_and_the_adapter_log_through_it(cli: str) -> None:
    source = (ROOT / cli).read_text()
    assert "configure_logging(" in source
    assert "logging.basicConfig" not in source


def test_configured_logging_writes_no_exception_message() -> None:
    script = (
        "import logging\n"
        "from contracts.content_free_logs import configure_logging\n"
        "configure_logging('INFO')\n"
        "try:\n"
        f"    raise ValueError({MARKER!r})\n"
        "except ValueError:\n"
        "    logging.getLogger('faststream').exception('handler failed')\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert "handler failed" in run.stderr
    assert "builtins.ValueError" in run.stderr
    assert MARKER not in run.stderr
