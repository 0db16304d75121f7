"""`kafka_access.security`: one set of settings, one connection for both clients."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from faststream.kafka import KafkaBroker
from faststream.kafka.security import parse_security
from faststream.security import SASLPlaintext, SASLScram256, SASLScram512
from pydantic import SecretStr

from kafka_access.security import KafkaSecurityError, kafka_security


def test_plaintext_adds_nothing() -> None:
    security, kwargs = kafka_security()
    assert security is None
    assert kwargs == {}
    assert kafka_security("plaintext") == (None, {})


def test_sasl_plaintext_with_scram_512_in_the_compose_network() -> None:
    security, kwargs = kafka_security(
        "SASL_PLAINTEXT", "SCRAM-SHA-512", "partner-cjg", SecretStr("s3cret")
    )
    assert isinstance(security, SASLScram512)
    assert (security.username, security.password, security.use_ssl) == (
        "partner-cjg",
        "s3cret",
        False,
    )
    assert kwargs == {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "partner-cjg",
        "sasl_plain_password": "s3cret",
        "ssl_context": None,
    }


def test_sasl_ssl_verifies_the_brokers_with_the_system_cas_by_default() -> None:
    security, kwargs = kafka_security("SASL_SSL", "SCRAM-SHA-512", "iaj-municipal", "pw")
    context = kwargs["ssl_context"]
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode is ssl.CERT_REQUIRED
    assert context.check_hostname
    assert security is not None
    assert security.use_ssl
    assert security.ssl_context is context


def test_sasl_ssl_with_the_clusters_own_ca(tmp_path: Path) -> None:
    certifi = pytest.importorskip("certifi")  # any PEM bundle will do
    cafile = tmp_path / "ca.pem"
    cafile.write_bytes(Path(certifi.where()).read_bytes())
    _, kwargs = kafka_security("SASL_SSL", "SCRAM-SHA-512", "u", "p", cafile)
    context = kwargs["ssl_context"]
    assert isinstance(context, ssl.SSLContext)
    assert context.cert_store_stats()["x509_ca"] > 0


@pytest.mark.parametrize(
    ("protocol", "mechanism", "cls"),
    [
        ("SASL_PLAINTEXT", "SCRAM-SHA-512", SASLScram512),
        ("SASL_SSL", "SCRAM-SHA-512", SASLScram512),
        ("SASL_PLAINTEXT", "SCRAM-SHA-256", SASLScram256),
        ("SASL_SSL", "SCRAM-SHA-256", SASLScram256),
        ("SASL_SSL", "PLAIN", SASLPlaintext),
    ],
)
def test_faststream_turns_its_object_into_exactly_our_kwargs(
    protocol: str, mechanism: str, cls: type[object]
) -> None:
    security, kwargs = kafka_security(protocol, mechanism, "u", "p")
    assert isinstance(security, cls)
    assert parse_security(security) == kwargs


async def test_the_clients_accept_the_kwargs_without_connecting() -> None:
    for protocol in ("PLAINTEXT", "SASL_PLAINTEXT", "SASL_SSL"):
        user = (None, None) if protocol == "PLAINTEXT" else ("u", "p")
        security, kwargs = kafka_security(protocol, "SCRAM-SHA-512", *user)
        AIOKafkaProducer(bootstrap_servers="127.0.0.1:1", **kwargs)
        AIOKafkaConsumer(bootstrap_servers="127.0.0.1:1", **kwargs)
        AIOKafkaAdminClient(bootstrap_servers="127.0.0.1:1", **kwargs)
        KafkaBroker("127.0.0.1:1", security=security)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("SASL_SSL", "SCRAM-SHA-512", None, "p"), "username and a password"),
        (("SASL_SSL", "SCRAM-SHA-512", "u", None), "username and a password"),
        (("SASL_PLAINTEXT", "SCRAM-SHA-512", "u", SecretStr("")), "username and a password"),
        (("PLAINTEXT", "SCRAM-SHA-512", "u", "p"), "set it to SASL_SSL"),
        (("SSL", "SCRAM-SHA-512", "u", "p"), "one of: PLAINTEXT, SASL_PLAINTEXT, SASL_SSL"),
        (("SASL_SSL", "GSSAPI", "u", "p"), "unknown SASL mechanism 'GSSAPI'"),
        (("SASL_PLAINTEXT", "PLAIN", "u", "p"), "use SASL_SSL"),
    ],
)
def test_settings_that_do_not_fit_together_are_refused(
    args: tuple[str, str, str | None, str | SecretStr | None], says: str
) -> None:
    with pytest.raises(KafkaSecurityError, match=says):
        kafka_security(*args)


def test_plain_without_tls_is_refused() -> None:
    with pytest.raises(KafkaSecurityError, match="clear text"):
        kafka_security("SASL_PLAINTEXT", "PLAIN", "u", "p")


def test_a_ca_file_is_refused_without_tls_and_must_exist(tmp_path: Path) -> None:
    with pytest.raises(KafkaSecurityError, match="only used with SASL_SSL"):
        kafka_security("SASL_PLAINTEXT", "SCRAM-SHA-512", "u", "p", tmp_path / "ca.pem")
    with pytest.raises(KafkaSecurityError, match="does not exist"):
        kafka_security("SASL_SSL", "SCRAM-SHA-512", "u", "p", tmp_path / "ca.pem")
    not_pem = tmp_path / "not.pem"
    not_pem.write_text("hello\n")
    with pytest.raises(KafkaSecurityError, match="not a PEM certificate"):
        kafka_security("SASL_SSL", "SCRAM-SHA-512", "u", "p", not_pem)


def test_the_password_is_not_in_the_error() -> None:
    with pytest.raises(KafkaSecurityError) as raised:
        kafka_security("PLAINTEXT", "SCRAM-SHA-512", "u", "hunter2")
    assert "hunter2" not in str(raised.value)
