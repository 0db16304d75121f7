"""The whole system on one machine: embedded Kafka, the municipal service, 14 partner adapters.

Used by `iaj demo`, `iaj bench` and the end-to-end tests. The Kafka-compatible broker (Tansu)
is a child process; the adapters run in this process, or in a child process of their own
(`adapters_in_own_process`, the benchmark); state lives in files under `workdir`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from pydantic import SecretStr

from broker.service.kafka_admin import create_topics
from broker.service.municipal import MunicipalService
from broker.settings import ServiceSettings
from contracts.enums import Partner
from contracts.topics import all_topics
from devtools.adapter_group import (
    EMBEDDED_FETCH_MAX_WAIT_MS,
    GROUP_TIMING,
    KAFKA_FETCH_MAX_WAIT_MS,
    AdapterGroup,
    AdapterGroupSpec,
    AdapterProcess,
)
from devtools.embedded_kafka import EmbeddedKafka
from devtools.signing_keys import ensure_partner_keys
from kafka_access.principals import MUNICIPAL
from kafka_access.security import SaslMechanism, SecurityProtocol
from partner_adapters.lookup import Lookup
from partner_adapters.runtime import AdapterRuntime

__all__ = ["EmbeddedStack", "StackOptions"]


@dataclass(frozen=True)
class StackOptions:
    workdir: Path
    round_deadline: dt.timedelta = dt.timedelta(days=10)
    deadline_check_interval_seconds: float = 1.0
    reference_data: Path | None = None  # reference lookups' data dir; the shipped data if None
    oversharing: frozenset[Partner] = frozenset()  # partners whose system over-shares
    lookups: Mapping[Partner, Lookup] = field(default_factory=dict)  # explicit overrides
    adapters: frozenset[Partner] = frozenset(Partner)  # partners that run an adapter
    database_url: str | None = None  # SQLite in workdir when None
    # A child process for the adapters: the municipal service gets this interpreter to itself.
    adapters_in_own_process: bool = False
    # Apache Kafka with the deployment's users and ACLs: every client logs in as its own user
    # (password by user name) with the idempotent producer. None: the embedded broker.
    kafka_passwords: Mapping[str, str] | None = None
    # How long every consumer's fetch may wait for data: short on the embedded broker, which
    # does not wake a waiting fetch (else each hop waits ~0.5 s); None: Kafka's default.
    fetch_max_wait_ms: int | None = None

    def consumer_fetch_max_wait_ms(self) -> int:
        if self.fetch_max_wait_ms is not None:
            return self.fetch_max_wait_ms
        # Apache Kafka answers a waiting fetch as soon as data arrives: keep its default.
        if self.kafka_passwords is not None:
            return KAFKA_FETCH_MAX_WAIT_MS
        return EMBEDDED_FETCH_MAX_WAIT_MS

    def __post_init__(self) -> None:
        if self.adapters_in_own_process and self.lookups:
            raise ValueError(
                "lookup objects cannot be passed to the adapters' own process; "
                "use reference_data/oversharing, or run the adapters in this process"
            )


class EmbeddedStack:
    def __init__(self, options: StackOptions, kafka_bootstrap: str | None = None) -> None:
        self.options = options
        self._external_kafka = kafka_bootstrap
        self.kafka: EmbeddedKafka | None = None
        self.service: MunicipalService | None = None
        self._group: AdapterGroup | None = None
        self.adapter_process: AdapterProcess | None = None

    @property
    def bootstrap(self) -> str:
        if self._external_kafka is not None:
            return self._external_kafka
        if self.kafka is None:
            raise RuntimeError("the stack is not running")
        return self.kafka.bootstrap

    @property
    def adapters(self) -> Mapping[Partner, AdapterRuntime]:
        """The adapters running in this process (none when they have their own process)."""
        return {} if self._group is None else self._group.runtimes

    def service_settings(self) -> ServiceSettings:
        workdir = self.options.workdir
        settings = ServiceSettings(
            kafka_bootstrap=self.bootstrap,
            database_url=self.options.database_url or f"sqlite+aiosqlite:///{workdir / 'iaj.db'}",
            round_deadline=self.options.round_deadline,
            relay_interval_seconds=0.05,
            deadline_check_interval_seconds=self.options.deadline_check_interval_seconds,
            consumer_session_timeout_ms=GROUP_TIMING["session_timeout_ms"],
            consumer_heartbeat_interval_ms=GROUP_TIMING["heartbeat_interval_ms"],
            consumer_fetch_max_wait_ms=self.options.consumer_fetch_max_wait_ms(),
            create_topics=False,  # done once by the stack, before anyone subscribes
            # Every partner's key: the adapters sign with the private halves.
            partner_keys_dir=ensure_partner_keys(workdir),
        )
        passwords = self.options.kafka_passwords
        if passwords is None:
            return settings
        return settings.model_copy(
            update={
                "kafka_security_protocol": SecurityProtocol.SASL_PLAINTEXT,
                "kafka_sasl_mechanism": SaslMechanism.SCRAM_SHA_512,
                "kafka_sasl_username": MUNICIPAL,
                "kafka_sasl_password": SecretStr(passwords[MUNICIPAL]),
                "producer_idempotence": True,
                "producer_acks": "all",
                # Apache Kafka refuses sessions under 6 s (group.min.session.timeout.ms).
                "consumer_session_timeout_ms": 10_000,
                "consumer_heartbeat_interval_ms": 1_000,
            }
        )

    def adapter_spec(self) -> AdapterGroupSpec:
        return AdapterGroupSpec(
            bootstrap=self.bootstrap,
            workdir=self.options.workdir,
            partners=self.options.adapters,
            reference_data=self.options.reference_data,
            oversharing=self.options.oversharing,
            kafka_passwords=self.options.kafka_passwords,
            fetch_max_wait_ms=self.options.consumer_fetch_max_wait_ms(),
        )

    async def start(self) -> None:
        self.options.workdir.mkdir(parents=True, exist_ok=True)
        ensure_partner_keys(self.options.workdir)  # before an adapter process looks for its key
        if self._external_kafka is None:
            self.kafka = EmbeddedKafka()
            await self.kafka.start()
        settings = self.service_settings()
        # As the service would at start-up, with its own login (on Apache Kafka the topics
        # exist already and the municipal user's Create ACL is what is exercised).
        await create_topics(self.bootstrap, all_topics(), **settings.kafka_security().client_kwargs)
        self.service = MunicipalService(settings)
        await self.service.start()
        if self.options.adapters_in_own_process:
            self.adapter_process = AdapterProcess(self.adapter_spec())
            await self.adapter_process.start()
        else:
            self._group = AdapterGroup(self.adapter_spec(), self.options.lookups)
            await self._group.start()

    async def stop(self) -> None:
        if self._group is not None:
            await self._group.stop()
            self._group = None
        if self.adapter_process is not None:
            await self.adapter_process.stop()
            self.adapter_process = None
        if self.service is not None:
            await self.service.stop()
            self.service = None
        if self.kafka is not None:
            await self.kafka.stop()
            self.kafka = None

    async def __aenter__(self) -> EmbeddedStack:
        try:
            await self.start()
        except BaseException:
            await self.stop()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
