"""Apache Kafka itself, from Maven Central's jars, configured as the deployment configures it.

One KRaft node (broker and controller) started by `deploy/kafka/start.sh` with
`deploy/kafka/server.properties` — SASL/SCRAM on every listener, the StandardAuthorizer,
`allow.everyone.if.no.acl.found=false` — then given its users, topics and ACLs by
`deploy/kafka-init.sh` and the scripts generated from the contracts. These are the files the
compose deployment runs; only the listeners, ports and data folder differ (appended through
`KAFKA_EXTRA_PROPERTIES`), and the Kafka command-line tools are small wrappers around the
jars instead of the image's `/opt/kafka/bin`.

The jars come from `deploy/kafka/pom.xml` (`make kafka-jars`). Running the init scripts
starts the JVM about a hundred times, so a formatted and initialised data folder is kept in
the cache, keyed by the content of every file that shaped it, and copied for each start.

This module holds that data folder, the life cycle and `make kafka`; the node's process and
what clients need to reach it are in `devtools.kafka_node`, the jars and the tool wrappers in
`devtools.kafka_jars`.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import secrets
import shutil
import signal
import subprocess
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Self

from devtools.embedded_kafka import free_port
from devtools.generators.kafka_acls import acl_plan, password_variable
from devtools.kafka_jars import (
    CACHE,
    DEPLOY,
    POM,
    ROOT,
    TOOL_JVM_OPTS,
    ApacheKafkaError,
    KafkaJars,
    kafka_jars,
    run_tool,
)
from devtools.kafka_node import ADMIN, KafkaNode

__all__ = ["ApacheKafka", "deployment_users"]

# Every file that decides what a formatted, initialised data folder holds.
_SHAPING_FILES = (
    DEPLOY / "kafka" / "server.properties",
    DEPLOY / "kafka" / "start.sh",
    DEPLOY / "kafka-init.sh",
    DEPLOY / "kafka-users.sh",
    DEPLOY / "kafka-topics.sh",
    DEPLOY / "kafka-acls.sh",
    POM,
)


def deployment_users() -> list[str]:
    """Every Kafka user the deployment scripts create (kafka-users.sh is generated from it)."""
    return [principal.user for principal in acl_plan()]


class ApacheKafka(KafkaNode):
    """`async with ApacheKafka(jars, workdir) as kafka:` — one node, users, topics and ACLs.

    Clients connect to `bootstrap` with SASL_PLAINTEXT and SCRAM-SHA-512 as one of the
    deployment's users (`password(user)`). `kill()` and `start()` again restart on the same
    data folder and ports, as a crashed broker coming back would.
    """

    def __init__(
        self,
        jars: KafkaJars,
        workdir: Path,
        *,
        port: int | None = None,
        topic_partitions: int = 3,
        seed_cache: Path | None = None,
        advertised_port: int | None = None,
        startup_timeout: float = 180.0,
    ) -> None:
        """`advertised_port`: the port clients are told to use for the EXTERNAL listener
        instead of its own, for a test that puts a proxy in front of the broker."""
        self.jars = jars
        self.workdir = workdir
        self._requested_port = port
        self._partitions = topic_partitions
        self._seed_cache = seed_cache if seed_cache is not None else jars.folder.parent / "seeds"
        self._startup_timeout = startup_timeout
        self._advertised_port = advertised_port
        self._ports: tuple[int, int, int] | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._passwords: dict[str, str] = {}

    # --- life cycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the node; the first start lays down an initialised data folder."""
        if self._process is not None:
            raise ApacheKafkaError(f"already running at {self.bootstrap}")
        problem = self.jars.problem()
        if problem is not None:
            raise ApacheKafkaError(problem)
        self.workdir.mkdir(parents=True, exist_ok=True)
        if not (self.workdir / "data").exists():
            seed = await self._seed()
            shutil.copytree(seed / "data", self.workdir / "data")
            shutil.copy2(seed / "passwords.env", self.workdir / "passwords.env")
        self._passwords = _read_passwords(self.workdir / "passwords.env")
        if self._ports is None:
            self._ports = (free_port(), self._requested_port or free_port(), free_port())
        await self._run_node(self.workdir)

    async def __aenter__(self) -> Self:
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

    # --- the initialised data folder -------------------------------------------------------

    async def _seed(self) -> Path:
        """A formatted data folder with the deployment's users, topics and ACLs in it."""
        seed = self._seed_cache / self._seed_key()
        if (seed / ".complete").exists():
            return seed
        # Seeds of files as they were before, and half-built ones of killed runs, go.
        shutil.rmtree(self._seed_cache, ignore_errors=True)
        building = self._seed_cache / f"{seed.name}.building-{os.getpid()}"
        building.mkdir(parents=True)
        self._passwords = {user: secrets.token_urlsafe(18) for user in [ADMIN, *deployment_users()]}
        _write_passwords(building / "passwords.env", self._passwords)
        self._ports = (free_port(), free_port(), free_port())
        try:
            await self._run_node(building)
            await self._make_tool_archive(building)
            await self._run_init(building)
            await self.stop()
        except BaseException:
            await self.kill()
            raise
        finally:
            self._ports = None
        for scratch in ("bin", "tmp", "local.properties"):
            target = building / scratch
            shutil.rmtree(target) if target.is_dir() else target.unlink(missing_ok=True)
        (building / ".complete").touch()
        shutil.rmtree(seed, ignore_errors=True)
        building.rename(seed)
        return seed

    def _seed_key(self) -> str:
        digest = hashlib.sha256()
        for path in _SHAPING_FILES:
            digest.update(path.read_bytes())
        digest.update(f"partitions={self._partitions}".encode())
        return digest.hexdigest()[:16]

    async def _make_tool_archive(self, folder: Path) -> None:
        """Record the classes a tool loads once, so later tool runs map them (Java's CDS)."""
        archive = self.jars.folder.parent / "tools.jsa"
        if archive.exists():
            return
        env = self._tool_env(folder)
        admin_config = folder / "tmp" / "admin.properties"
        admin_config.write_text(_admin_client_properties(self.password(ADMIN)))
        env["KAFKA_TOOL_OPTS"] = f"{TOOL_JVM_OPTS} -XX:ArchiveClassesAtExit={archive}"
        await run_tool(
            [str(folder / "bin" / "kafka-topics.sh"), "--bootstrap-server", self._internal(),
             "--command-config", str(admin_config), "--list"],
            env,
            "recording the Kafka tools' class archive",
        )  # fmt: skip

    async def _run_init(self, folder: Path) -> None:
        env = self._tool_env(folder)
        env["KAFKA_BOOTSTRAP"] = self._internal()
        await run_tool(
            ["/bin/sh", str(DEPLOY / "kafka-init.sh")], env, "deploy/kafka-init.sh", log=folder
        )


def _admin_client_properties(password: str) -> str:
    return (
        "security.protocol=SASL_PLAINTEXT\n"
        "sasl.mechanism=SCRAM-SHA-512\n"
        "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required "
        f'username="{ADMIN}" password="{password}";\n'
    )


def _write_passwords(path: Path, passwords: Mapping[str, str]) -> None:
    path.touch(mode=0o600)
    path.write_text("".join(f"{password_variable(u)}={p}\n" for u, p in passwords.items()))


def _read_passwords(path: Path) -> dict[str, str]:
    users = {password_variable(user): user for user in [ADMIN, *deployment_users()]}
    passwords = {}
    for line in path.read_text().splitlines():
        variable, _, value = line.partition("=")
        passwords[users[variable]] = value
    return passwords


# --- `make kafka`: the broker in the foreground for local development -------------------------

ENV_FILE = ROOT / ".kafka-local.env"
LOCAL_DATA = CACHE / "kafka-local"


def main(port: int = 9092, fresh: bool = False) -> None:
    """Run Apache Kafka as deployed until Ctrl-C; its address and passwords go to ENV_FILE."""
    if fresh:
        shutil.rmtree(LOCAL_DATA, ignore_errors=True)
    asyncio.run(_serve(port))


async def _serve(port: int) -> None:
    jars = kafka_jars()
    print(f"starting Apache Kafka {jars.version} (first start: about two minutes) ...", flush=True)
    kafka = ApacheKafka(jars, LOCAL_DATA, port=port)
    try:
        await kafka.start()
    except ApacheKafkaError as exc:
        raise SystemExit(str(exc)) from None
    try:
        ENV_FILE.touch(mode=0o600)
        ENV_FILE.write_text(
            "# Written by `make kafka`: the local Apache Kafka and every user's password.\n"
            "# Load it into your shell with:  set -a; . ./.kafka-local.env; set +a\n"
            + "\n".join(kafka.env_lines())
            + "\n"
        )
        print(
            f"Apache Kafka is up at {kafka.bootstrap} (SASL_PLAINTEXT, SCRAM-SHA-512, ACLs).\n"
            f"Settings and passwords: {ENV_FILE.name}; data: {LOCAL_DATA}; log: "
            f"{kafka.log_path}.\nCtrl-C stops it.",
            flush=True,
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        exited = asyncio.create_task(asyncio.to_thread(_wait_for_exit, kafka))
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({exited, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if exited.done():
            raise SystemExit(f"Apache Kafka exited; see {kafka.log_path}")
        stopping.cancel()
    finally:
        print("stopping Apache Kafka ...", flush=True)
        await kafka.stop()
        print("stopped; the data stays for the next `make kafka`", flush=True)


def _wait_for_exit(kafka: ApacheKafka) -> None:
    process = kafka._process
    if process is not None:
        process.wait()


if __name__ == "__main__":
    import typer

    typer.run(main)
