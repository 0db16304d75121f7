"""Signing keys for a local stack (demo, tests, benchmark): one Ed25519 key pair per partner
under `<workdir>/keys`, laid out as in production — the private keys where the adapters read
them, the public ones where the service's IAJ_PARTNER_KEYS_DIR points.

    <workdir>/keys/private/<partner>.key
    <workdir>/keys/public/<partner>/<key id>.pub
"""

from __future__ import annotations

from pathlib import Path

from contracts.enums import Partner
from partner_adapters.signing_key import generate_key

__all__ = ["ensure_partner_keys", "private_key", "public_keys_dir"]


def public_keys_dir(workdir: Path) -> Path:
    return workdir / "keys" / "public"


def private_key(workdir: Path, partner: Partner) -> Path:
    return workdir / "keys" / "private" / f"{partner.value}.key"


def ensure_partner_keys(workdir: Path, partners: frozenset[Partner] = frozenset(Partner)) -> Path:
    """Every partner's key pair, made once and kept; returns the public keys' folder."""
    for partner in sorted(partners):
        target = private_key(workdir, partner)
        if target.exists():
            continue
        made = generate_key(partner, target.parent / "new")
        public = public_keys_dir(workdir) / partner.value / f"{made.key_id}.pub"
        public.parent.mkdir(parents=True, exist_ok=True)
        made.public.replace(public)
        made.private.replace(target)
    return public_keys_dir(workdir)
