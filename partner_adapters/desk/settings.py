"""The desk's settings, read from the environment with the prefix IAJ_DESK_.

Which partner, which state file, which policy, Kafka and the signing key are the adapter's
own settings (`IAJ_ADAPTER_*`, partner_adapters.settings): the desk works over the same
state file as `iaj-adapter run`.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

__all__ = ["DEFAULT_PORT", "DeskConfigError", "DeskSettings", "IpNetwork", "is_loopback"]

DEFAULT_PORT = 9470
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
_HEADER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,63}$")


class DeskConfigError(ValueError):
    """The desk cannot start like this; the message says which setting to change."""


def is_loopback(host: str) -> bool:
    """True for an address only this machine reaches: 127.0.0.0/8, ::1, `localhost`."""
    if host.strip().lower() == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host.strip().strip("[]"))
    except ValueError:
        return False  # another host name: it may resolve to anything
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


class DeskSettings(BaseSettings):
    """Everything the desk can be told besides the adapter's settings. Command-line flags
    override these; e.g. `--port` overrides IAJ_DESK_PORT."""

    model_config = SettingsConfigDict(env_prefix="IAJ_DESK_", env_file=".env", extra="ignore")

    host: str = Field(
        default="127.0.0.1",
        description="Address the desk listens on; anything but loopback needs sign-in configured",
    )
    port: int = Field(default=DEFAULT_PORT, ge=0, le=65535, description="0: any free port")
    users_file: Path | None = Field(
        default=None,
        description="TOML file of desk users and their Argon2 password hashes "
        "(`iaj-adapter desk-user add NAME`); unset: no sign-in form",
    )
    trusted_user_header: str | None = Field(
        default=None,
        description="Header in which the partner's reverse proxy names the signed-in user, "
        "e.g. X-Remote-User; only from IAJ_DESK_TRUSTED_PROXIES",
    )
    trusted_proxies: Annotated[tuple[IpNetwork, ...], NoDecode] = Field(
        default=(),
        description="Addresses (or networks) of that proxy, comma separated",
    )
    session_secret: SecretStr | None = Field(
        default=None,
        min_length=32,
        description="Key that signs the session cookie; unset: a random one per start",
    )
    session_max_age_seconds: int = Field(
        default=8 * 3600, ge=60, description="A sign-in ends this long after it began"
    )
    session_idle_seconds: int = Field(
        default=30 * 60, ge=60, description="... or this long after the last page it served"
    )
    cookie_secure: bool | None = Field(
        default=None,
        description="Secure cookies (HTTPS only); unset: on unless the desk listens on loopback",
    )
    deliver: bool = Field(
        default=True,
        description="Publish an answer at once after recording it (as `iaj-adapter answer`); "
        "false: record only, the running adapter sends it",
    )
    delivery_timeout_seconds: float = Field(
        default=15.0, gt=0, description="Longest a caseworker waits for Kafka after answering"
    )

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _networks(cls, value: Any) -> Any:
        """`10.0.0.5, 10.1.0.0/24, ::1`: addresses and networks, comma separated."""
        parts = value.split(",") if isinstance(value, str) else value
        if not isinstance(parts, list | tuple):
            return value
        try:
            return tuple(
                ipaddress.ip_network(part.strip() if isinstance(part, str) else part, strict=False)
                for part in parts
                if not (isinstance(part, str) and not part.strip())
            )
        except ValueError as exc:
            raise ValueError(
                "IAJ_DESK_TRUSTED_PROXIES: addresses or networks, comma separated"
            ) from exc

    @field_validator("trusted_user_header")
    @classmethod
    def _header_name(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if not _HEADER_NAME.match(value.strip()):
            raise ValueError(
                "IAJ_DESK_TRUSTED_USER_HEADER must be a header name, e.g. X-Remote-User"
            )
        return value.strip()

    def secure_cookies(self) -> bool:
        return self.cookie_secure if self.cookie_secure is not None else not is_loopback(self.host)
