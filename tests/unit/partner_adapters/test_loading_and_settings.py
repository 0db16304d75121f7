"""A partner's own lookup is loaded from `module:attr`; settings come from IAJ_ADAPTER_*."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from contracts import Partner
from partner_adapters.errors import LookupLoadError
from partner_adapters.loading import load_lookup
from partner_adapters.reference import OversharingLookup, ReferenceLookup
from partner_adapters.settings import AdapterSettings


def test_the_default_lookup_is_the_reference_lookup() -> None:
    assert isinstance(load_lookup(AdapterSettings().lookup), ReferenceLookup)
    assert isinstance(
        load_lookup("partner_adapters.reference:OversharingLookup"), OversharingLookup
    )


@pytest.fixture
def partner_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    (tmp_path / "mijn_systeem.py").write_text(
        textwrap.dedent(
            """
            class Lookup:
                async def lookup(self, request):
                    return []

            class Blocking:
                def lookup(self, request):
                    return []

            def make():
                return Lookup()

            INSTANCE = Lookup()
            NUMBER = 3
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "mijn_systeem"
    sys.modules.pop("mijn_systeem", None)


@pytest.mark.parametrize("attr", ["Lookup", "make", "INSTANCE"])
def test_a_class_a_factory_or_an_instance_will_do(partner_module: str, attr: str) -> None:
    found = load_lookup(f"{partner_module}:{attr}")
    assert type(found).__name__ == "Lookup"


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("mijn_systeem.Lookup", "package.module:attribute"),
        ("bestaat_niet:Lookup", "cannot import module"),
        ("mijn_systeem:Bestaat", "has no attribute"),
        ("mijn_systeem:NUMBER", "has no 'async def lookup"),
        ("mijn_systeem:Blocking", "must be 'async def'"),
        ("json:dumps", "callable without arguments"),
    ],
)
def test_a_lookup_that_cannot_be_used_is_a_clear_error(
    partner_module: str, path: str, message: str
) -> None:
    with pytest.raises(LookupLoadError, match=message):
        load_lookup(path)


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IAJ_ADAPTER_PARTNER", "cjib")
    monkeypatch.setenv("IAJ_ADAPTER_KAFKA_BOOTSTRAP", "kafka.example:9093")
    monkeypatch.setenv("IAJ_ADAPTER_ENABLE_IDEMPOTENCE", "true")
    monkeypatch.setenv("IAJ_ADAPTER_LOOKUP_ATTEMPTS", "5")
    settings = AdapterSettings()
    assert settings.require_partner() is Partner.CJIB
    assert settings.kafka_bootstrap == "kafka.example:9093"
    assert settings.enable_idempotence is True
    assert settings.lookup_attempts == 5
    assert settings.state_path() == Path("iaj-adapter-cjib.db")
    assert AdapterSettings(partner=Partner.RN).require_partner() is Partner.RN  # flags win


def test_the_old_bootstrap_setting_still_works_with_a_warning(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """IAJ_ADAPTER_BOOTSTRAP_SERVERS was renamed IAJ_ADAPTER_KAFKA_BOOTSTRAP (as the
    service's IAJ_KAFKA_BOOTSTRAP); a deployment with the old name keeps working, warned."""
    monkeypatch.delenv("IAJ_ADAPTER_KAFKA_BOOTSTRAP", raising=False)
    monkeypatch.setenv("IAJ_ADAPTER_BOOTSTRAP_SERVERS", "old.example:9093")
    with pytest.warns(FutureWarning, match="IAJ_ADAPTER_KAFKA_BOOTSTRAP"):
        assert AdapterSettings().kafka_bootstrap == "old.example:9093"
    monkeypatch.setenv("IAJ_ADAPTER_KAFKA_BOOTSTRAP", "new.example:9093")  # the new name wins
    assert AdapterSettings().kafka_bootstrap == "new.example:9093"
    monkeypatch.delenv("IAJ_ADAPTER_KAFKA_BOOTSTRAP")
    monkeypatch.delenv("IAJ_ADAPTER_BOOTSTRAP_SERVERS")
    with pytest.warns(FutureWarning, match="kafka_bootstrap"):
        old = AdapterSettings(bootstrap_servers="py.example:1")  # type: ignore[call-arg]
    assert old.kafka_bootstrap == "py.example:1"


def test_idempotence_is_off_by_default_for_the_embedded_broker(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("IAJ_ADAPTER_ENABLE_IDEMPOTENCE", raising=False)
    assert AdapterSettings().enable_idempotence is False
    with pytest.raises(ValueError, match="--partner"):
        AdapterSettings(partner=None).require_partner()
