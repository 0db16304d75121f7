"""The running node of `devtools.apache_kafka.ApacheKafka`: what clients need to reach it, and
its process — deploy/kafka/start.sh on a data folder, with local listeners and ports, until
the admin can log in — started, stopped and killed.

Separate from `devtools.apache_kafka`, which decides what the node runs on (a data folder
initialised with the deployment's users, topics and ACLs, kept in the cache) and when.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path
from typing import NoReturn

from devtools.embedded_kafka import die_with_parent, terminate
from devtools.generators.kafka_acls import password_variable
from devtools.kafka_jars import (
    DEPLOY,
    TOOL_JVM_OPTS,
    ApacheKafkaError,
    KafkaJars,
    write_tool_wrappers,
)

__all__ = ["ADMIN", "KafkaNode"]

LOG4J2 = DEPLOY / "kafka" / "log4j2.properties"
# The super user of deploy/kafka/server.properties: the node is ready once it can log in.
ADMIN = "admin"
# The KRaft cluster id of the compose file; any fixed id will do.
CLUSTER_ID = "4L6g3nShT-eMCtK--X86sw"
_BROKER_HEAP = "-Xms256m -Xmx768m"


class KafkaNode:
    """The part of `ApacheKafka` that runs and reaches the node; `ApacheKafka.__init__` sets
    the attributes declared here."""

    jars: KafkaJars
    workdir: Path
    _partitions: int
    _startup_timeout: float
    _advertised_port: int | None
    _ports: tuple[int, int, int] | None
    _process: subprocess.Popen[bytes] | None
    _passwords: dict[str, str]

    # --- what clients need -----------------------------------------------------------------

    @property
    def bootstrap(self) -> str:
        """The EXTERNAL listener, as the compose file publishes it to the host."""
        if self._ports is None:
            raise ApacheKafkaError("Apache Kafka is not running")
        return f"127.0.0.1:{self._advertised_port or self._ports[1]}"

    @property
    def listener_port(self) -> int:
        """The port the EXTERNAL listener binds (differs from `bootstrap`'s behind a proxy)."""
        if self._ports is None:
            raise ApacheKafkaError("Apache Kafka is not running")
        return self._ports[1]

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    @property
    def log_path(self) -> Path:
        return self.workdir / "kafka.log"

    @property
    def users(self) -> list[str]:
        """Every user of the deployment, the super user `admin` first."""
        return list(self._passwords)

    def password(self, user: str) -> str:
        try:
            return self._passwords[user]
        except KeyError:
            raise ApacheKafkaError(f"no Kafka user {user!r} in this deployment") from None

    def client_kwargs(self, user: str) -> dict[str, str]:
        """aiokafka keyword arguments that log in as `user`."""
        return {
            "bootstrap_servers": self.bootstrap,
            "security_protocol": "SASL_PLAINTEXT",
            "sasl_mechanism": "SCRAM-SHA-512",
            "sasl_plain_username": user,
            "sasl_plain_password": self.password(user),
        }

    def env_lines(self) -> list[str]:
        """Settings for `iaj serve` (as the municipal user) and every user's password."""
        lines = [
            f"IAJ_KAFKA_BOOTSTRAP={self.bootstrap}",
            "IAJ_KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT",
            "IAJ_KAFKA_SASL_MECHANISM=SCRAM-SHA-512",
            "IAJ_KAFKA_SASL_USERNAME=iaj-municipal",
            f"IAJ_KAFKA_SASL_PASSWORD={self.password('iaj-municipal')}",
            "IAJ_PRODUCER_IDEMPOTENCE=true",
            "IAJ_PRODUCER_ACKS=all",
            f"IAJ_TOPIC_PARTITIONS={self._partitions}",
        ]
        lines += [f"{password_variable(u)}={p}" for u, p in sorted(self._passwords.items())]
        return lines

    # --- life cycle ------------------------------------------------------------------------

    async def stop(self) -> None:
        """Controlled shutdown (SIGTERM): what the node has acknowledged stays on disk."""
        process, self._process = self._process, None
        await terminate(process, grace_seconds=60)

    async def kill(self) -> None:
        """`kill -9`: no shutdown, no flush; `start()` brings it back on the same data."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGKILL)
            await asyncio.to_thread(process.wait)

    # --- the node --------------------------------------------------------------------------

    async def _run_node(self, folder: Path) -> None:
        assert self._ports is not None
        internal, external, controller = self._ports
        extra = folder / "local.properties"
        extra.write_text(
            "# Appended by devtools/apache_kafka.py: this machine instead of the compose network\n"
            f"listeners=INTERNAL://127.0.0.1:{internal},EXTERNAL://127.0.0.1:{external},"
            f"CONTROLLER://127.0.0.1:{controller}\n"
            f"advertised.listeners=INTERNAL://127.0.0.1:{internal},"
            f"EXTERNAL://127.0.0.1:{self._advertised_port or external}\n"
            f"controller.quorum.voters=1@127.0.0.1:{controller}\n"
            f"log.dirs={folder / 'data'}\n"
        )
        env = self._tool_env(folder)
        env["KAFKA_EXTRA_PROPERTIES"] = str(extra)
        env["KAFKA_HEAP_OPTS"] = _BROKER_HEAP
        self._process = _spawn_node(env, folder / "kafka.log")
        await self._wait_until_ready(folder)

    def _tool_env(self, folder: Path) -> dict[str, str]:
        """The environment of start.sh and kafka-init.sh: wrappers instead of /opt/kafka/bin."""
        bin_dir = folder / "bin"
        write_tool_wrappers(bin_dir)
        tmp = folder / "tmp"
        tmp.mkdir(exist_ok=True)
        archive = self.jars.folder.parent / "tools.jsa"
        tool_opts = TOOL_JVM_OPTS
        if archive.exists():
            tool_opts += f" -XX:SharedArchiveFile={archive}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("KAFKA_")}
        env.update(
            {
                "KAFKA_BIN": str(bin_dir),
                "KAFKA_LIBS": str(self.jars.folder),
                "KAFKA_LOG4J2": str(LOG4J2),
                "KAFKA_TOOL_OPTS": tool_opts,
                "CLUSTER_ID": CLUSTER_ID,
                "TMPDIR": str(tmp),  # start.sh's temporary properties hold the admin password
                "IAJ_TOPIC_PARTITIONS": str(self._partitions),
                "IAJ_TOPIC_REPLICATION_FACTOR": "1",
            }
        )
        env.update({password_variable(u): p for u, p in self._passwords.items()})
        return env

    async def _wait_until_ready(self, folder: Path) -> None:
        deadline = time.monotonic() + self._startup_timeout
        while True:
            if self._process is None or self._process.poll() is not None:
                self._fail(folder, "Kafka exited")
            if await self._admin_answers():
                return
            if time.monotonic() > deadline:
                self._fail(folder, f"no admin login within {self._startup_timeout:.0f} s")
            await asyncio.sleep(0.25)

    async def _admin_answers(self) -> bool:
        from aiokafka.admin import AIOKafkaAdminClient

        if not await _port_open(self.bootstrap):
            return False
        admin = AIOKafkaAdminClient(**self.client_kwargs(ADMIN), request_timeout_ms=3000)
        try:
            await asyncio.wait_for(admin.start(), 5)
            await asyncio.wait_for(admin.describe_cluster(), 5)
        except Exception:  # not up yet: refused connection, auth not ready, timeout
            return False
        finally:
            await admin.close()
        return True

    def _fail(self, folder: Path, reason: str) -> NoReturn:
        log = folder / "kafka.log"
        tail = log.read_text(errors="replace").splitlines()[-25:] if log.exists() else []
        raise ApacheKafkaError("\n".join([f"Apache Kafka did not start: {reason}", *tail]))

    def _internal(self) -> str:
        assert self._ports is not None
        return f"127.0.0.1:{self._ports[0]}"


def _spawn_node(env: Mapping[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    with log_path.open("ab") as log:
        # start.sh formats the storage if needed and then becomes the JVM (exec), so this
        # process is the broker itself: SIGKILL reaches Kafka, not a shell.
        return subprocess.Popen(
            die_with_parent(["/bin/sh", str(DEPLOY / "kafka" / "start.sh")]),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(env),
            start_new_session=True,
        )


async def _port_open(address: str) -> bool:
    host, _, port = address.rpartition(":")
    try:
        _, writer = await asyncio.open_connection(host, int(port))
    except OSError:
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True
