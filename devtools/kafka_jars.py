"""Kafka's jars from Maven Central and the Java that runs them: where `make kafka-jars` puts
the jars of the version in deploy/kafka/pom.xml, and the Kafka command-line tools the
deployment scripts call, as small wrappers around the jars instead of the image's
`/opt/kafka/bin`.

Separate from `devtools.apache_kafka` (the node as deployed) and `devtools.kafka_node` (its
process): this is what they run, and it needs no broker.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import stat
import subprocess
from collections.abc import Mapping
from pathlib import Path

__all__ = [
    "CACHE",
    "DEPLOY",
    "POM",
    "ROOT",
    "TOOL_JVM_OPTS",
    "ApacheKafkaError",
    "KafkaJars",
    "kafka_jars",
    "run_tool",
    "write_tool_wrappers",
]

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
POM = DEPLOY / "kafka" / "pom.xml"
CACHE = ROOT / ".cache"

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
TOOL_JVM_OPTS = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xlog:cds=off -Xlog:cds+dynamic=off"


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


def write_tool_wrappers(bin_dir: Path) -> None:
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


async def run_tool(
    command: list[str], env: Mapping[str, str], what: str, log: Path | None = None
) -> None:
    """Run a Kafka tool or a deployment script to its end (output to `log`/init.log, if
    given); if it fails, the error names `what` and ends with the tail of its output."""
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
