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
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import re
import secrets
import shutil
import signal
import stat
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import NoReturn, Self

from devtools.embedded_kafka import die_with_parent, free_port, terminate
from devtools.generators.kafka_acls import acl_plan, password_variable

__all__ = [
    "ADMIN",
    "ApacheKafka",
    "ApacheKafkaError",
    "KafkaJars",
    "deployment_users",
    "kafka_jars",
]

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
POM = DEPLOY / "kafka" / "pom.xml"
LOG4J2 = DEPLOY / "kafka" / "log4j2.properties"
CACHE = ROOT / ".cache"
ADMIN = "admin"
# The KRaft cluster id of the compose file; any fixed id will do.
CLUSTER_ID = "4L6g3nShT-eMCtK--X86sw"
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
# The Kafka command-line tools the deployment scripts call, and the classes they run.
_TOOLS = {
    "kafka-storage.sh": "kafka.tools.StorageTool",
    "kafka-server-start.sh": "kafka.Kafka",
    "kafka-configs.sh": "org.apache.kafka.tools.ConfigCommand",
    "kafka-topics.sh": "org.apache.kafka.tools.TopicCommand",
    "kafka-acls.sh": "org.apache.kafka.tools.AclCommand",
    "kafka-broker-api-versions.sh": "org.apache.kafka.tools.BrokerApiVersionsCommand",
}
# A tool runs for a second: C1 only, the serial collector and a class-data archive halve it.
_TOOL_JVM_OPTS = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xlog:cds=off -Xlog:cds+dynamic=off"
_BROKER_HEAP = "-Xms256m -Xmx768m"


class ApacheKafkaError(RuntimeError):
    """Apache Kafka could not be found, started or initialised; the message says what to do."""


class KafkaJars:
    """The folder of Kafka's jars for the version pinned in the pom."""

    def __init__(self, version: str, folder: Path) -> None:
        self.version = version
        self.folder = folder

    @property
    def complete(self) -> bool:
        return (self.folder / ".complete").exists()

    def problem(self) -> str | None:
        """None when Kafka can run from here, else what is missing and what to do."""
        if not self.complete:
            return f"no Kafka jars in {self.folder}: run `make kafka-jars` (needs Maven)"
        java = shutil.which("java")
        if java is None:
            return "no `java` on PATH: Apache Kafka 4 needs Java 17 or newer"
        major = _java_major(java)
        if major is None or major < 17:
            return f"`{java}` is Java {major}: Apache Kafka 4 needs Java 17 or newer"
        return None


def kafka_jars(cache: Path = CACHE) -> KafkaJars:
    """Where `make kafka-jars` puts the jars of the version in deploy/kafka/pom.xml."""
    match = re.search(r"<kafka\.version>([^<]+)</kafka\.version>", POM.read_text())
    if match is None:
        raise ApacheKafkaError(f"{POM} names no <kafka.version>")
    version = match.group(1).strip()
    return KafkaJars(version, cache / f"kafka-{version}" / "libs")


def deployment_users() -> list[str]:
    """Every Kafka user the deployment scripts create (kafka-users.sh is generated from it)."""
    return [principal.user for principal in acl_plan()]


class ApacheKafka:
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
        _write_tool_wrappers(bin_dir)
        tmp = folder / "tmp"
        tmp.mkdir(exist_ok=True)
        archive = self.jars.folder.parent / "tools.jsa"
        tool_opts = _TOOL_JVM_OPTS
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
        env["KAFKA_TOOL_OPTS"] = f"{_TOOL_JVM_OPTS} -XX:ArchiveClassesAtExit={archive}"
        await _run(
            [str(folder / "bin" / "kafka-topics.sh"), "--bootstrap-server", self._internal(),
             "--command-config", str(admin_config), "--list"],
            env,
            "recording the Kafka tools' class archive",
        )  # fmt: skip

    async def _run_init(self, folder: Path) -> None:
        env = self._tool_env(folder)
        env["KAFKA_BOOTSTRAP"] = self._internal()
        await _run(
            ["/bin/sh", str(DEPLOY / "kafka-init.sh")], env, "deploy/kafka-init.sh", log=folder
        )

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


def _write_tool_wrappers(bin_dir: Path) -> None:
    bin_dir.mkdir(parents=True, exist_ok=True)
    for name, main_class in _TOOLS.items():
        opts = "${KAFKA_HEAP_OPTS:-}" if main_class == "kafka.Kafka" else "${KAFKA_TOOL_OPTS:-}"
        wrapper = bin_dir / name
        wrapper.write_text(
            "#!/bin/sh\n"
            f"# {name} from the Maven jars (devtools/apache_kafka.py)\n"
            f'exec java {opts} -Dlog4j2.configurationFile="$KAFKA_LOG4J2" '
            f'-cp "$KAFKA_LIBS/*" {main_class} "$@"\n'
        )
        wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def _admin_client_properties(password: str) -> str:
    return (
        "security.protocol=SASL_PLAINTEXT\n"
        "sasl.mechanism=SCRAM-SHA-512\n"
        "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required "
        f'username="{ADMIN}" password="{password}";\n'
    )


async def _run(
    command: list[str], env: Mapping[str, str], what: str, log: Path | None = None
) -> None:
    process = await asyncio.create_subprocess_exec(
        *command,
        env=dict(env),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    if log is not None:
        with (log / "init.log").open("ab") as out:
            out.write(output)
    if process.returncode != 0:
        tail = output.decode(errors="replace").splitlines()[-25:]
        raise ApacheKafkaError("\n".join([f"{what} failed ({process.returncode}):", *tail]))


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


def _java_major(java: str) -> int | None:
    try:
        result = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', result.stderr)
    if match is None:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major


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
