"""The whole system on one machine: embedded Kafka, the municipal service, 14 partner adapters.

Used by `iaj demo`, `iaj bench` and the end-to-end tests. Everything runs in this process
except the Kafka-compatible broker (Tansu); state lives in files under `workdir`.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from broker.embedded_kafka import EmbeddedKafka
from broker.kafka_admin import create_topics
from broker.service import MunicipalService
from broker.settings import ServiceSettings
from contracts.enums import Partner
from contracts.topics import all_topics
from partner_adapters.lookup import Lookup
from partner_adapters.reference import OversharingLookup, ReferenceLookup
from partner_adapters.runtime import AdapterRuntime, build_adapter
from partner_adapters.settings import AdapterSettings

__all__ = ["EmbeddedStack", "StackOptions"]

# Tansu's first group join takes about a third of the session timeout, so it is kept short;
# but 16 groups in one process on a busy machine miss 1 s sessions and rebalance for ever.
_GROUP = {"session_timeout_ms": 3000, "heartbeat_interval_ms": 500}
_START_TIMEOUT_SECONDS = 90


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


class EmbeddedStack:
    def __init__(self, options: StackOptions, kafka_bootstrap: str | None = None) -> None:
        self.options = options
        self._external_kafka = kafka_bootstrap
        self.kafka: EmbeddedKafka | None = None
        self.service: MunicipalService | None = None
        self.adapters: dict[Partner, AdapterRuntime] = {}

    @property
    def bootstrap(self) -> str:
        if self._external_kafka is not None:
            return self._external_kafka
        if self.kafka is None:
            raise RuntimeError("the stack is not running")
        return self.kafka.bootstrap

    def service_settings(self) -> ServiceSettings:
        workdir = self.options.workdir
        return ServiceSettings(
            kafka_bootstrap=self.bootstrap,
            database_url=self.options.database_url or f"sqlite+aiosqlite:///{workdir / 'iaj.db'}",
            round_deadline=self.options.round_deadline,
            relay_interval_seconds=0.05,
            deadline_check_interval_seconds=self.options.deadline_check_interval_seconds,
            consumer_session_timeout_ms=_GROUP["session_timeout_ms"],
            consumer_heartbeat_interval_ms=_GROUP["heartbeat_interval_ms"],
            create_topics=False,  # done once by the stack, before anyone subscribes
        )

    def adapter_settings(self, partner: Partner) -> AdapterSettings:
        return AdapterSettings(
            partner=partner,
            bootstrap_servers=self.bootstrap,
            state_db=self.options.workdir / f"adapter-{partner.value}.db",
            consumer_session_timeout_ms=_GROUP["session_timeout_ms"],
            consumer_heartbeat_interval_ms=_GROUP["heartbeat_interval_ms"],
            outbox_interval_seconds=0.5,
            lookup_wait_initial_seconds=0.05,
            lookup_wait_max_seconds=0.2,
            redelivery_delay_seconds=0.5,
        )

    def _lookup(self, partner: Partner) -> Lookup:
        if partner in self.options.lookups:
            return self.options.lookups[partner]
        if partner in self.options.oversharing:
            return OversharingLookup(self.options.reference_data)
        return ReferenceLookup(self.options.reference_data)

    async def start(self) -> None:
        self.options.workdir.mkdir(parents=True, exist_ok=True)
        if self._external_kafka is None:
            self.kafka = EmbeddedKafka()
            await self.kafka.start()
        await create_topics(self.bootstrap, all_topics())
        self.service = MunicipalService(self.service_settings())
        await self.service.start()
        for partner in sorted(self.options.adapters):
            runtime = build_adapter(self.adapter_settings(partner), lookup=self._lookup(partner))
            self.adapters[partner] = runtime
        # Joining 14 consumer groups one after the other would take 14 join rounds.
        try:
            await asyncio.wait_for(
                asyncio.gather(*(a.app.start() for a in self.adapters.values())),
                _START_TIMEOUT_SECONDS,
            )
        except TimeoutError:
            raise RuntimeError(
                f"the partner adapters did not join their consumer groups within "
                f"{_START_TIMEOUT_SECONDS} s; is the machine overloaded?"
            ) from None

    async def stop(self) -> None:
        for runtime in self.adapters.values():
            with contextlib.suppress(Exception):
                await runtime.app.stop()
        self.adapters = {}
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
