"""The adapter's settings: one class, read from the environment with the prefix IAJ_ADAPTER_."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts import Partner
from kafka_access.security import (
    KafkaSecurity,
    SaslMechanism,
    SecurityProtocol,
    kafka_security,
)
from partner_adapters.loading import DEFAULT_LOOKUP

__all__ = ["AdapterSettings"]


class AdapterSettings(BaseSettings):
    """Everything a partner adapter can be told. Nothing else reads the environment.

    Command-line flags override these; e.g. `--partner` overrides IAJ_ADAPTER_PARTNER.
    """

    model_config = SettingsConfigDict(env_prefix="IAJ_ADAPTER_", env_file=".env", extra="ignore")

    partner: Partner | None = Field(default=None, description="This partner's code, e.g. 'cjg'")
    bootstrap_servers: str = Field(
        default="127.0.0.1:9092", description="Kafka bootstrap servers, host:port[,host:port]"
    )
    lookup: str = Field(
        default=DEFAULT_LOOKUP,
        description="The lookup answering from your own system, as 'package.module:attribute'",
    )
    state_db: Path | None = Field(
        default=None,
        description="Local SQLite state file; default ./iaj-adapter-<partner>.db",
    )
    policy_file: Path | None = Field(
        default=None,
        description="Policy TOML the questions are checked against; the shipped one when unset",
    )
    signing_key: Path | None = Field(
        default=None,
        description="The private key that signs every answer (`iaj-adapter keys generate`)",
    )
    enable_idempotence: bool = Field(
        default=False,
        description="Idempotent producer: on for Apache Kafka, off for the embedded broker",
    )
    lookup_attempts: int = Field(default=3, ge=1, description="Tries per lookup")
    lookup_wait_initial_seconds: float = Field(default=0.5, ge=0)
    lookup_wait_max_seconds: float = Field(default=5.0, ge=0)
    lookup_timeout_seconds: float = Field(
        default=30.0, gt=0, description="One try longer than this counts as unavailable"
    )
    consumer_session_timeout_ms: int = Field(
        default=10_000, ge=1, description="Kafka group session timeout of the question consumer"
    )
    consumer_heartbeat_interval_ms: int = Field(default=3_000, ge=1)
    outbox_interval_seconds: float = Field(
        default=2.0, gt=0, description="How often recorded, unsent answers are sent"
    )
    redelivery_delay_seconds: float = Field(
        default=5.0,
        ge=0,
        description="Pause before a question set is read again after a local failure",
    )
    # Kafka security: the partner's own SASL user, which the ACLs limit to its own topics.
    security_protocol: SecurityProtocol = SecurityProtocol.PLAINTEXT
    sasl_mechanism: SaslMechanism = SaslMechanism.SCRAM_SHA_512
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: Path | None = Field(default=None, description="CA of the brokers (SASL_SSL)")

    @model_validator(mode="after")
    def _usable_security(self) -> AdapterSettings:
        self.kafka_security()  # fail at start-up with a readable message, not at connect
        return self

    def kafka_security(self) -> KafkaSecurity:
        return kafka_security(
            self.security_protocol,
            self.sasl_mechanism,
            self.sasl_username,
            self.sasl_password,
            self.ssl_cafile,
        )

    def require_partner(self) -> Partner:
        if self.partner is None:
            raise ValueError("no partner given: pass --partner or set IAJ_ADAPTER_PARTNER")
        return self.partner

    def state_path(self) -> Path:
        return self.state_db or Path(f"iaj-adapter-{self.require_partner().value}.db")
