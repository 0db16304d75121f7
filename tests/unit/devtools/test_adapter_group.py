"""The embedded stack's adapters in a process of their own: the spec that crosses into it, and
a clear error when the process cannot start."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from contracts.enums import Partner
from devtools.adapter_group import AdapterGroupSpec, AdapterProcess, AdapterStartError
from devtools.embedded_stack import StackOptions
from partner_adapters.reference import OversharingLookup, ReferenceLookup


def test_the_spec_crosses_into_the_child_process_unchanged(tmp_path: Path) -> None:
    spec = AdapterGroupSpec(
        bootstrap="127.0.0.1:9092",
        workdir=tmp_path,
        partners=frozenset({Partner.SWT, Partner.CJG}),
        reference_data=tmp_path / "records",
        oversharing=frozenset({Partner.SWT}),
        fetch_max_wait_ms=25,
    )
    again = AdapterGroupSpec.from_json(spec.to_json())
    assert again == spec
    assert isinstance(again.lookup(Partner.SWT), OversharingLookup)
    assert type(again.lookup(Partner.CJG)) is ReferenceLookup
    settings = again.adapter_settings(Partner.CJG)
    assert settings.state_db == tmp_path / "adapter-cjg.db"
    assert settings.kafka_bootstrap == "127.0.0.1:9092"
    assert settings.consumer_fetch_max_wait_ms == 25


def test_lookup_objects_cannot_go_to_the_adapters_own_process(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot be passed to the adapters' own process"):
        StackOptions(
            workdir=tmp_path,
            lookups={Partner.SWT: ReferenceLookup()},
            adapters_in_own_process=True,
        )


async def test_a_child_that_dies_before_it_is_ready_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    process = AdapterProcess(AdapterGroupSpec(bootstrap="127.0.0.1:9", workdir=blocker / "state"))
    started = time.monotonic()
    with pytest.raises(AdapterStartError, match="adapter process did not start"):
        await process.start()
    assert time.monotonic() - started < 30, "a dead child is noticed at once, not at a timeout"
    assert process.pid is None
