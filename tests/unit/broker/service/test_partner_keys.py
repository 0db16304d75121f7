"""The service's partner key folder: what loads, and what a careless operator gets told."""

from __future__ import annotations

from pathlib import Path

import pytest

from broker.service.partner_keys import PartnerKeyError, load_partner_keys
from contracts.enums import Partner
from partner_adapters.signing_key import generate_key


def _public(partner: Partner, into: Path, name: str) -> str:
    made = generate_key(partner, into / "private")
    (into / "public" / partner.value).mkdir(parents=True, exist_ok=True)
    made.public.replace(into / "public" / partner.value / f"{name}.pub")
    return made.key_id


def test_each_partner_gets_its_own_keys_and_two_may_be_valid(tmp_path: Path) -> None:
    old = _public(Partner.CJG, tmp_path, "2026-05")
    new = _public(Partner.CJG, tmp_path, "2026-11")
    rn = _public(Partner.RN, tmp_path, "k")
    keys = load_partner_keys(tmp_path / "public")
    assert set(keys) == {Partner.CJG, Partner.RN}
    assert set(keys[Partner.CJG]) == {old, new}
    assert set(keys[Partner.RN]) == {rn}


def test_no_folder_means_no_keys() -> None:
    assert load_partner_keys(None) == {}


@pytest.mark.parametrize("problem", ["three-keys", "not-a-partner", "not-pem", "missing"])
def test_a_bad_key_folder_is_a_clear_error(tmp_path: Path, problem: str) -> None:
    public = tmp_path / "public"
    public.mkdir()
    expected = {
        "three-keys": "at most 2",
        "not-a-partner": "not partner codes",
        "not-pem": "not a PEM public key",
        "missing": "is not a directory",
    }[problem]
    if problem == "three-keys":
        for name in ("a", "b", "c"):
            _public(Partner.CJG, tmp_path, name)
    elif problem == "not-a-partner":
        (public / "gemeente").mkdir()
    elif problem == "not-pem":
        (public / "cjg").mkdir()
        (public / "cjg" / "k.pub").write_text("Ravi's key")
    else:
        public = tmp_path / "nowhere"
    with pytest.raises(PartnerKeyError, match=expected) as failed:
        load_partner_keys(public)
    assert "Ravi" not in str(failed.value)
