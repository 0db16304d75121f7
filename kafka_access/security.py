"""Kafka security settings turned into what FastStream and aiokafka take.

Production runs Apache Kafka with SASL/SCRAM-SHA-512 over TLS (`SASL_SSL`); the compose example
runs `SASL_PLAINTEXT` inside its private network; tests and the embedded broker use
`PLAINTEXT`. `kafka_security` takes the plain setting values and returns both forms:

- `faststream`: the `faststream.security` object for `KafkaBroker(..., security=...)`, or None;
- `client_kwargs`: keyword arguments for `AIOKafkaProducer`, `AIOKafkaConsumer` and
  `AIOKafkaAdminClient` (`broker.service.kafka_admin.create_topics(..., **client_kwargs)`);
  empty for PLAINTEXT.

Both describe the same connection: FastStream turns its object into exactly these kwargs.
Plain `SSL` is not offered: without a SASL user the cluster sees no principal to grant ACLs to.
"""

from __future__ import annotations

import ssl
from enum import StrEnum
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512
from pydantic import SecretStr

__all__ = [
    "KafkaSecurity",
    "KafkaSecurityError",
    "SaslMechanism",
    "SecurityProtocol",
    "kafka_security",
]


class SecurityProtocol(StrEnum):
    """How a client talks to the brokers (Kafka's `security.protocol`)."""

    PLAINTEXT = "PLAINTEXT"  # tests and the embedded broker only: no user, no ACLs
    SASL_PLAINTEXT = "SASL_PLAINTEXT"  # a private network, e.g. the compose example
    SASL_SSL = "SASL_SSL"  # production


class SaslMechanism(StrEnum):
    SCRAM_SHA_512 = "SCRAM-SHA-512"
    SCRAM_SHA_256 = "SCRAM-SHA-256"
    PLAIN = "PLAIN"  # sends the password itself: only over SASL_SSL


class KafkaSecurityError(ValueError):
    """The security settings do not describe a usable connection; the message says why."""


class KafkaSecurity(NamedTuple):
    """One connection's security, in FastStream's and in aiokafka's form."""

    faststream: BaseSecurity | None
    client_kwargs: dict[str, Any]


_E = TypeVar("_E", bound=StrEnum)

_SECURITY_CLASSES: dict[SaslMechanism, type[SASLPlaintext | SASLScram256 | SASLScram512]] = {
    SaslMechanism.SCRAM_SHA_512: SASLScram512,
    SaslMechanism.SCRAM_SHA_256: SASLScram256,
    SaslMechanism.PLAIN: SASLPlaintext,
}


def kafka_security(
    protocol: SecurityProtocol | str = SecurityProtocol.PLAINTEXT,
    mechanism: SaslMechanism | str = SaslMechanism.SCRAM_SHA_512,
    username: str | None = None,
    password: SecretStr | str | None = None,
    cafile: Path | str | None = None,
) -> KafkaSecurity:
    """The FastStream security object and the aiokafka kwargs for these settings.

    `cafile` is the PEM file of the CA that signed the brokers' certificates (SASL_SSL only);
    without it the system's trusted CAs are used. Raises `KafkaSecurityError` when the
    values do not fit together (a SASL protocol without a user, PLAIN without TLS, ...).
    """
    protocol = _parse(SecurityProtocol, protocol, "security protocol")
    mechanism = _parse(SaslMechanism, mechanism, "SASL mechanism")
    secret = password.get_secret_value() if isinstance(password, SecretStr) else password
    if protocol is SecurityProtocol.PLAINTEXT:
        if username or secret or cafile:
            raise KafkaSecurityError(
                "a SASL user or a CA file is set but the security protocol is PLAINTEXT; "
                "set it to SASL_SSL (or SASL_PLAINTEXT on a private network)"
            )
        return KafkaSecurity(None, {})  # aiokafka's default
    if not username or not secret:
        raise KafkaSecurityError(f"{protocol.value} needs both a SASL username and a password")
    use_ssl = protocol is SecurityProtocol.SASL_SSL
    if mechanism is SaslMechanism.PLAIN and not use_ssl:
        raise KafkaSecurityError("SASL PLAIN sends the password in clear text: use SASL_SSL")
    if cafile is not None and not use_ssl:
        raise KafkaSecurityError(f"a CA file is only used with SASL_SSL, not {protocol.value}")
    context = _ssl_context(cafile) if use_ssl else None
    security = _SECURITY_CLASSES[mechanism](
        username=username, password=secret, ssl_context=context, use_ssl=use_ssl
    )
    kwargs: dict[str, Any] = {
        "security_protocol": protocol.value,
        "sasl_mechanism": mechanism.value,
        "sasl_plain_username": username,
        "sasl_plain_password": secret,
        "ssl_context": context,
    }
    return KafkaSecurity(security, kwargs)


def _ssl_context(cafile: Path | str | None) -> ssl.SSLContext:
    """Verify the brokers' certificates and host names (aiokafka requires a context)."""
    if cafile is not None and not Path(cafile).is_file():
        raise KafkaSecurityError(f"the Kafka CA file {cafile} does not exist")
    try:
        return ssl.create_default_context(cafile=None if cafile is None else str(cafile))
    except ssl.SSLError as exc:
        raise KafkaSecurityError(f"the Kafka CA file {cafile} is not a PEM certificate") from exc


def _parse(enum: type[_E], value: _E | str, what: str) -> _E:
    try:
        return enum(str(value).strip().upper())
    except ValueError:
        allowed = ", ".join(member.value for member in enum)
        raise KafkaSecurityError(f"unknown {what} {value!r}; one of: {allowed}") from None
