"""Small helpers for the servers the dev tools start as child processes."""

from __future__ import annotations

import shutil
import socket

__all__ = ["die_with_parent", "free_port"]


def die_with_parent(command: list[str], signal_name: str = "TERM") -> list[str]:
    """`command` run so that it gets `signal_name` when this process dies, even by SIGKILL,
    so a killed test run leaves no server behind. Linux's parent-death signal, set by
    util-linux's `setpriv` (not a preexec_fn: that is unsafe in a process with threads);
    where there is no setpriv, the command as it is."""
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return command
    return [setpriv, "--pdeathsig", signal_name, "--", *command]


def free_port(host: str = "127.0.0.1") -> int:
    """Ask the OS for a port that is free right now (another process may still take it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port
