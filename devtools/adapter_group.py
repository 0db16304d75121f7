"""The reference partner adapters of the embedded stack, in this process or in one of their own.

In production every partner runs its adapter on its own premises. On one machine (demo,
benchmark, tests) they run together: in this process, where tests and the demo can look into
their state, or in a child process, so that the municipal service and the partners do not
share one interpreter and one core (`python -m devtools.adapter_group SPEC_JSON`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from pydantic import SecretStr

from contracts.enums import Partner
from devtools.signing_keys import private_key
from kafka_access.principals import partner_user
from kafka_access.security import SaslMechanism, SecurityProtocol
from partner_adapters.lookup import Lookup
from partner_adapters.reference import OversharingLookup, ReferenceLookup
from partner_adapters.runtime import AdapterRuntime, build_adapter
from partner_adapters.settings import AdapterSettings

__all__ = [
    "EMBEDDED_FETCH_MAX_WAIT_MS",
    "KAFKA_FETCH_MAX_WAIT_MS",
    "AdapterGroup",
    "AdapterGroupSpec",
    "AdapterProcess",
    "AdapterStartError",
]

# Tansu's first group join takes about a third of the session timeout, so it is kept short;
# but 16 groups in one process on a busy machine miss 1 s sessions and rebalance for ever.
GROUP_TIMING = {"session_timeout_ms": 3000, "heartbeat_interval_ms": 500}
# Tansu does not answer a waiting fetch when data arrives: every consumer waits out its
# `fetch_max_wait_ms` (Kafka's default 500 ms) at each hop. Real Kafka wakes it; keep the
# default there (`KAFKA_FETCH_MAX_WAIT_MS`). Shorter is not faster: an idle consumer fetches
# 1000/wait times a second, and the 16 of the stack at 10 ms cost a whole core at rest (50 ms:
# half of one; `iaj bench` reports it as idle CPU), which the rounds then wait for.
EMBEDDED_FETCH_MAX_WAIT_MS = 50
KAFKA_FETCH_MAX_WAIT_MS = 500
_START_TIMEOUT_SECONDS = 90
_READY = "adapters ready"


class AdapterStartError(RuntimeError):
    """The adapters did not start (or their process died before it said it was ready)."""


@dataclass(frozen=True)
class AdapterGroupSpec:
    """Which adapters run, against which broker, with which data: plain values only, so a
    spec crosses into a child process as JSON."""

    bootstrap: str
    workdir: Path
    partners: frozenset[Partner] = frozenset(Partner)
    reference_data: Path | None = None  # reference lookups' data dir; the shipped data if None
    oversharing: frozenset[Partner] = frozenset()  # partners whose system over-shares
    # Apache Kafka with ACLs: each adapter logs in as its own user (SCRAM-SHA-512), with the
    # idempotent producer. Keyed by user name (`partner-<code>`); None on the embedded broker.
    kafka_passwords: Mapping[str, str] | None = None
    fetch_max_wait_ms: int = EMBEDDED_FETCH_MAX_WAIT_MS

    def to_json(self) -> str:
        return json.dumps(
            {
                "bootstrap": self.bootstrap,
                "workdir": str(self.workdir),
                "partners": sorted(p.value for p in self.partners),
                "reference_data": None if self.reference_data is None else str(self.reference_data),
                "oversharing": sorted(p.value for p in self.oversharing),
                "kafka_passwords": None
                if self.kafka_passwords is None
                else dict(self.kafka_passwords),
                "fetch_max_wait_ms": self.fetch_max_wait_ms,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> AdapterGroupSpec:
        data: dict[str, Any] = json.loads(text)
        return cls(
            bootstrap=data["bootstrap"],
            workdir=Path(data["workdir"]),
            partners=frozenset(Partner(p) for p in data["partners"]),
            reference_data=None if data["reference_data"] is None else Path(data["reference_data"]),
            oversharing=frozenset(Partner(p) for p in data["oversharing"]),
            kafka_passwords=data.get("kafka_passwords"),
            fetch_max_wait_ms=data.get("fetch_max_wait_ms", EMBEDDED_FETCH_MAX_WAIT_MS),
        )

    def adapter_settings(self, partner: Partner) -> AdapterSettings:
        common = AdapterSettings(
            partner=partner,
            kafka_bootstrap=self.bootstrap,
            state_db=self.workdir / f"adapter-{partner.value}.db",
            signing_key=private_key(self.workdir, partner),
            consumer_session_timeout_ms=GROUP_TIMING["session_timeout_ms"],
            consumer_heartbeat_interval_ms=GROUP_TIMING["heartbeat_interval_ms"],
            consumer_fetch_max_wait_ms=self.fetch_max_wait_ms,
            outbox_interval_seconds=0.5,
            lookup_wait_initial_seconds=0.05,
            lookup_wait_max_seconds=0.2,
            redelivery_delay_seconds=0.5,
        )
        if self.kafka_passwords is None:
            return common
        user = partner_user(partner)
        return common.model_copy(
            update={
                "security_protocol": SecurityProtocol.SASL_PLAINTEXT,
                "sasl_mechanism": SaslMechanism.SCRAM_SHA_512,
                "sasl_username": user,
                "sasl_password": SecretStr(self.kafka_passwords[user]),
                "enable_idempotence": True,
                # Apache Kafka refuses sessions under 6 s (group.min.session.timeout.ms).
                "consumer_session_timeout_ms": 10_000,
                "consumer_heartbeat_interval_ms": 1_000,
            }
        )

    def lookup(self, partner: Partner) -> Lookup:
        if partner in self.oversharing:
            return OversharingLookup(self.reference_data)
        return ReferenceLookup(self.reference_data)


@dataclass
class AdapterGroup:
    """The adapters of `spec` in this process; `lookups` overrides per partner (tests)."""

    spec: AdapterGroupSpec
    lookups: Mapping[Partner, Lookup] = field(default_factory=dict)
    runtimes: dict[Partner, AdapterRuntime] = field(default_factory=dict)

    async def start(self) -> None:
        self.spec.workdir.mkdir(parents=True, exist_ok=True)
        for partner in sorted(self.spec.partners):
            lookup = self.lookups.get(partner) or self.spec.lookup(partner)
            self.runtimes[partner] = build_adapter(
                self.spec.adapter_settings(partner), lookup=lookup
            )
        # Joining 14 consumer groups one after the other would take 14 join rounds.
        try:
            await asyncio.wait_for(
                asyncio.gather(*(a.app.start() for a in self.runtimes.values())),
                _START_TIMEOUT_SECONDS,
            )
        except TimeoutError:
            raise AdapterStartError(
                f"the partner adapters did not join their consumer groups within "
                f"{_START_TIMEOUT_SECONDS} s; is the machine overloaded?"
            ) from None

    async def stop(self) -> None:
        for runtime in self.runtimes.values():
            with contextlib.suppress(Exception):
                await runtime.app.stop()
        self.runtimes = {}


class AdapterProcess:
    """The adapters of `spec` in a child Python process; started when it says it is ready."""

    def __init__(self, spec: AdapterGroupSpec) -> None:
        self.spec = spec
        self._process: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    async def start(self) -> None:
        self._process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "devtools.adapter_group",
            self.spec.to_json(),
            # The child stops when this pipe closes: also when this process dies unannounced.
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        assert self._process.stdout is not None
        try:
            line = await asyncio.wait_for(
                self._process.stdout.readline(), _START_TIMEOUT_SECONDS + 10
            )
        except TimeoutError:
            line = b""
        if line.decode().strip() != _READY:
            await self.stop()
            raise AdapterStartError(
                "the adapter process did not start; its error output is above this message"
            )

    async def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.returncode is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), 30)
        except TimeoutError:
            process.kill()
            await process.wait()

    async def __aenter__(self) -> AdapterProcess:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()


async def _serve(spec: AdapterGroupSpec) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    # The parent holds our stdin open; end of file means it is gone (even if it was killed).
    parent = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(parent), sys.stdin)
    watch = asyncio.create_task(_set_at_eof(parent, stop))
    group = AdapterGroup(spec)
    try:
        await group.start()
        print(_READY, flush=True)
        await stop.wait()
    finally:
        watch.cancel()
        await group.stop()


async def _set_at_eof(reader: asyncio.StreamReader, event: asyncio.Event) -> None:
    while await reader.read(4096):
        pass
    event.set()


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m devtools.adapter_group SPEC_JSON", file=sys.stderr)
        return 2
    # As in the parent's benchmark and demo: per-message access logs would cost more than
    # the answering itself; warnings and errors still reach stderr.
    logging.basicConfig(level=logging.WARNING)
    logging.disable(logging.INFO)
    asyncio.run(_serve(AdapterGroupSpec.from_json(argv[0])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
