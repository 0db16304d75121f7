"""Settings of the municipal service: one class, read from the environment (prefix IAJ_)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.content_free_logs import LogFormat
from kafka_access.principals import MUNICIPAL_GROUP
from kafka_access.security import (
    KafkaSecurity,
    SaslMechanism,
    SecurityProtocol,
    kafka_security,
)

__all__ = ["ServiceSettings"]


class ServiceSettings(BaseSettings):
    """Everything the municipal service can be told. Nothing else reads the environment."""

    model_config = SettingsConfigDict(env_prefix="IAJ_", env_file=".env", extra="ignore")

    kafka_bootstrap: str = Field(
        default="127.0.0.1:9092", description="Kafka bootstrap servers, host:port[,host:port]"
    )
    database_url: str = Field(
        default="sqlite+aiosqlite:///iaj.db",
        description="SQLAlchemy async URL: sqlite+aiosqlite:///FILE or postgresql+asyncpg://...",
    )
    policy_file: Path | None = Field(
        default=None, description="Policy TOML; the shipped Haarlem policy when not set"
    )
    round_deadline: dt.timedelta = Field(
        default=dt.timedelta(days=10), description="How long partners have to answer a round"
    )
    relay_interval_seconds: float = Field(
        default=0.5, gt=0, description="How often the outbox relay looks for unsent messages"
    )
    relay_batch_size: int = Field(default=500, ge=1)
    # A round's answers come from up to 14 partners at different paces: the larger the
    # batch, the fewer times a round and its questions are read (measured: 6.6 reads per
    # round at 200, 2.7 at 1,000, with 1,000 rounds opened at once).
    answer_batch_size: int = Field(
        default=1000,
        ge=1,
        description="Answer messages processed in one transaction (at most)",
    )
    deadline_check_interval_seconds: float = Field(default=5.0, gt=0)
    retention_interval_seconds: float = Field(
        default=86_400.0,
        gt=0,
        description="How often the service deletes what the convenant no longer allows to "
        "keep (the same as `iaj retention purge`, which stays for a one-off run)",
    )
    database_retry_seconds: float = Field(
        default=60.0,
        gt=0,
        description="How long a transaction is retried while the database fails for reasons "
        "of its own (lost or terminated session, read-only, full, ...) before the service "
        "halts without acknowledging",
    )
    database_startup_seconds: float = Field(
        default=300.0,
        gt=0,
        description="How long `iaj serve` waits for the database at start-up",
    )
    migrate_on_start: bool = Field(
        default=True,
        description="`iaj serve` brings the schema up to date at start-up (as `iaj db "
        "upgrade`); false: it refuses to start on a schema that is not its own",
    )
    producer_idempotence: bool = Field(
        default=False,
        description="Idempotent producer: on for Apache Kafka, off for the embedded broker",
    )
    producer_acks: str = Field(default="all", pattern="^(all|1|0)$")
    producer_request_timeout_ms: int = Field(
        default=30_000,
        ge=1000,
        description="How long a publish waits for the broker before the relay tries again",
    )
    partner_keys_dir: Path | None = Field(
        default=None,
        description="Folder of the partners' public signing keys, one folder per partner "
        "code (broker/service/partner_keys.py). Without it every answer is refused "
        "(bad_signature)",
    )
    officials_file: Path | None = Field(
        default=None,
        description="TOML file of the officials who may act (handlers/officials.py), one of "
        "them the responsible official. Without it, no command that processes personal data "
        "is carried out",
    )
    retention_batch_size: int = Field(
        default=100, ge=1, description="Cases deleted per transaction by a retention pass"
    )
    age_limit_interval_seconds: float = Field(
        default=3_600.0,
        gt=0,
        description="How often the service puts into uitstroom the youths who reached their "
        "track's age limit (the uitstroom date is the birthday, whenever it is noticed)",
    )
    log_format: LogFormat = Field(
        default=LogFormat.AUTO,
        description="Log lines: json, text, or auto (JSON unless stderr is a terminal)",
    )
    # Operations (README "Operating it"): /metrics, /health/live, /health/ready over HTTP.
    ops_port: int = Field(
        default=9464,
        ge=0,
        le=65535,
        description="Port of /metrics, /health/live and /health/ready; 0: not served",
    )
    ops_host: str = Field(
        default="0.0.0.0",  # counts and health only; a scraper must reach it
        description="Address the operations endpoints listen on",
    )
    relay_stuck_seconds: float = Field(
        default=120.0,
        gt=0,
        description="Not ready when the outbox relay has had no successful pass for this long",
    )
    metrics_refresh_seconds: float = Field(
        default=15.0,
        gt=0,
        description="How often the gauges read from the database (backlog, rounds, outbox) "
        "are refreshed",
    )
    consumer_group: str = Field(default=MUNICIPAL_GROUP)
    # Kafka's defaults. The embedded broker re-admits a restarted group member only after its
    # session timed out, so the demo and tests use ~1 s here.
    consumer_session_timeout_ms: int = Field(default=10_000, ge=500)
    consumer_heartbeat_interval_ms: int = Field(default=3_000, ge=100)
    # Kafka's default. A real broker answers a waiting fetch as soon as data arrives; the
    # embedded broker (Tansu) does not, so there every hop waits this long: the demo and the
    # benchmark set 10 ms. Production keeps the default.
    consumer_fetch_max_wait_ms: int = Field(
        default=500,
        ge=0,
        description="Longest the broker may hold a fetch that has no data yet",
    )
    create_topics: bool = Field(default=True, description="Create the topics on start-up")
    topic_partitions: int = Field(default=1, ge=1)
    topic_replication_factor: int = Field(default=1, ge=1)
    # Kafka security (docs/production.md): PLAINTEXT only for tests and the embedded broker.
    kafka_security_protocol: SecurityProtocol = SecurityProtocol.PLAINTEXT
    kafka_sasl_mechanism: SaslMechanism = SaslMechanism.SCRAM_SHA_512
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_cafile: Path | None = Field(default=None, description="CA of the brokers (SASL_SSL)")
    # `iaj status` and consumer lag (README "Operating it"): the read-only monitoring user.
    monitor_sasl_username: str | None = Field(
        default=None,
        description="Kafka user `iaj status` reads consumer lag with (iaj-monitor: describe "
        "only); unset: the service's own user. Same protocol, mechanism and CA",
    )
    monitor_sasl_password: SecretStr | None = None
    partner_silent_after: dt.timedelta = Field(
        default=dt.timedelta(hours=6),
        description="`iaj status` calls a partner's adapter silent when a question has "
        "waited unconsumed on its topic for longer than this",
    )
    status_kafka_timeout_seconds: float = Field(
        default=10.0, gt=0, description="How long `iaj status` waits for Kafka"
    )

    @model_validator(mode="after")
    def _usable_security(self) -> ServiceSettings:
        self.kafka_security()  # fail at start-up with a readable message, not at connect
        self.monitor_security()
        return self

    def kafka_security(self) -> KafkaSecurity:
        return kafka_security(
            self.kafka_security_protocol,
            self.kafka_sasl_mechanism,
            self.kafka_sasl_username,
            self.kafka_sasl_password,
            self.kafka_ssl_cafile,
        )

    def monitor_security(self) -> KafkaSecurity:
        """The connection `iaj status` reads lag over: the monitoring user when one is set,
        else the service's own."""
        if self.monitor_sasl_username is None:
            return self.kafka_security()
        return kafka_security(
            self.kafka_security_protocol,
            self.kafka_sasl_mechanism,
            self.monitor_sasl_username,
            self.monitor_sasl_password,
            self.kafka_ssl_cafile,
        )
