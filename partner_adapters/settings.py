"""The adapter's settings: one class, read from the environment with the prefix IAJ_ADAPTER_."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts import Partner
from contracts.content_free_logs import LogFormat
from kafka_access.security import (
    KafkaSecurity,
    SaslMechanism,
    SecurityProtocol,
    kafka_security,
)
from partner_adapters.loading import DEFAULT_LOOKUP

__all__ = ["AdapterSettings"]


_PREFIX = "IAJ_ADAPTER_"
_OLD_BOOTSTRAP = "IAJ_ADAPTER_BOOTSTRAP_SERVERS"


class AdapterSettings(BaseSettings):
    """Everything a partner adapter can be told. Nothing else reads the environment.

    Command-line flags override these; e.g. `--partner` overrides IAJ_ADAPTER_PARTNER.
    """

    model_config = SettingsConfigDict(
        env_prefix=_PREFIX, env_file=".env", extra="ignore", populate_by_name=True
    )

    partner: Partner | None = Field(default=None, description="This partner's code, e.g. 'cjg'")
    kafka_bootstrap: str = Field(
        default="127.0.0.1:9092",
        # IAJ_ADAPTER_BOOTSTRAP_SERVERS: the name before 2026-11, still read (with a warning).
        validation_alias=AliasChoices(f"{_PREFIX}KAFKA_BOOTSTRAP", _OLD_BOOTSTRAP),
        description="Kafka bootstrap servers, host:port[,host:port]",
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
    # Kafka's default: a real broker answers a waiting fetch as soon as data arrives. The
    # embedded broker (Tansu) does not, so the demo and the benchmark set 10 ms there.
    consumer_fetch_max_wait_ms: int = Field(
        default=500,
        ge=0,
        description="Longest the broker may hold a fetch of questions that has no data yet",
    )
    consumer_batch_max_records: int = Field(
        default=100,
        ge=1,
        description="Most question-topic records handled, recorded and committed as one batch",
    )
    outbox_interval_seconds: float = Field(
        default=2.0, gt=0, description="How often recorded, unsent answers are sent"
    )
    # The state gauges count whole tables: refreshed at about a scrape interval, not at the
    # outbox's pace, so their cost does not grow with the rounds handled per second.
    metrics_interval_seconds: float = Field(
        default=15.0,
        gt=0,
        description="How often the state gauges of /metrics are recounted, and the state "
        "file's WAL (with the pages before the last purges) emptied",
    )
    redelivery_delay_seconds: float = Field(
        default=5.0,
        ge=0,
        description="Pause before a question set is read again after a local failure",
    )
    log_format: LogFormat = Field(
        default=LogFormat.AUTO,
        description="Log lines of `run`: json, text, or auto (JSON unless stderr is a terminal)",
    )
    ops_port: int = Field(
        default=9465,
        ge=0,
        le=65535,
        description="Port of /metrics, /health/live and /health/ready of `run`; 0: not served",
    )
    ops_host: str = Field(
        default="0.0.0.0",  # counts and health only; a scraper must reach it
        description="Address the operations endpoints listen on",
    )
    # Kafka security: the partner's own SASL user, which the ACLs limit to its own topics.
    security_protocol: SecurityProtocol = SecurityProtocol.PLAINTEXT
    sasl_mechanism: SaslMechanism = SaslMechanism.SCRAM_SHA_512
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: Path | None = Field(default=None, description="CA of the brokers (SASL_SSL)")

    @model_validator(mode="before")
    @classmethod
    def _old_names(cls, data: Any) -> Any:
        if isinstance(data, dict) and "bootstrap_servers" in data:  # the old Python name
            warnings.warn(
                "AdapterSettings(bootstrap_servers=...) is deprecated: kafka_bootstrap=...",
                FutureWarning,
                stacklevel=2,
            )
            data = {k: v for k, v in data.items() if k != "bootstrap_servers"} | {
                "kafka_bootstrap": data["bootstrap_servers"]
            }
        names = {name.upper() for name in os.environ}
        if _OLD_BOOTSTRAP in names and f"{_PREFIX}KAFKA_BOOTSTRAP" not in names:
            warnings.warn(
                f"{_OLD_BOOTSTRAP} is deprecated and will go: name it "
                f"{_PREFIX}KAFKA_BOOTSTRAP (as the service's IAJ_KAFKA_BOOTSTRAP)",
                FutureWarning,
                stacklevel=2,
            )
        return data

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
