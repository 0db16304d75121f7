"""The partners' public keys, from the directory `IAJ_PARTNER_KEYS_DIR`.

One folder per partner code, each with the PEM public keys (`*.pub`) the partner handed over
(see partner_adapters/README.md, "Signing keys"): `<dir>/cjg/2026-11.pub`, ... At most two
per partner are valid at once, so a partner can roll over to a new key without a gap: add
the new one, let the partner switch, remove the old one, restart the service.
"""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from contracts.enums import Partner
from contracts.signing import key_id
from handlers.answer_signatures import PartnerKeys

__all__ = ["MAX_KEYS_PER_PARTNER", "PartnerKeyError", "PartnerKeys", "load_partner_keys"]

MAX_KEYS_PER_PARTNER = 2


class PartnerKeyError(ValueError):
    """The key directory cannot be used; the message says which file and what to do."""


def load_partner_keys(directory: Path | None) -> dict[Partner, dict[str, Ed25519PublicKey]]:
    """Every partner's keys by key id; a partner without a folder has none."""
    if directory is None:
        return {}
    if not directory.is_dir():
        raise PartnerKeyError(f"IAJ_PARTNER_KEYS_DIR {directory} is not a directory")
    known = {p.value: p for p in Partner}
    unknown = sorted(d.name for d in directory.iterdir() if d.is_dir() and d.name not in known)
    if unknown:
        raise PartnerKeyError(
            f"{directory}: folders {unknown} are not partner codes; one of: {sorted(known)}"
        )
    keys: dict[Partner, dict[str, Ed25519PublicKey]] = {}
    for code, partner in known.items():
        files = sorted((directory / code).glob("*.pub"))
        if len(files) > MAX_KEYS_PER_PARTNER:
            raise PartnerKeyError(
                f"{directory / code}: {len(files)} keys; at most {MAX_KEYS_PER_PARTNER} may be "
                "valid at once (remove the one the partner no longer uses)"
            )
        if files:
            keys[partner] = dict(_load(path) for path in files)
    return keys


def _load(path: Path) -> tuple[str, Ed25519PublicKey]:
    try:
        key = load_pem_public_key(path.read_bytes())
    except (ValueError, TypeError):
        raise PartnerKeyError(f"{path} is not a PEM public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise PartnerKeyError(f"{path} is not an Ed25519 key (partners sign with Ed25519)")
    return key_id(key), key
