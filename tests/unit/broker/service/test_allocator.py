"""The service gives the memory of its large, short-lived buffers back to the system.

Each probe runs in a fresh interpreter: the thresholds are process-wide and one-way.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.skipif(
    platform.libc_ver()[0] != "glibc" or not os.path.exists("/proc/self/statm"),
    reason="glibc's malloc thresholds, measured through /proc",
)

MIB = 1 << 20

# A large buffer freed raises glibc's threshold; buffers of a fetch-response size then come
# from the heap between longer-lived objects (the 64 KiB `pins`). Prints whether the service's
# setting was applied, and the resident bytes still held after every buffer is freed.
PROBE = textwrap.dedent(
    """
    import os, sys
    from broker.service.allocator import keep_large_buffers_returnable

    def resident() -> int:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    applied = sys.argv[1] == "service" and keep_large_buffers_returnable()
    first = bytearray(8 << 20)
    del first
    before = resident()
    buffers, pins = [], []
    for _ in range(24):
        buffers.append(bytearray(2 << 20))
        pins.append(bytes(64 * 1024))
    del buffers
    print(applied, resident() - before)
    """
)


def _probe(mode: str, **env: str) -> tuple[bool, int]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, mode],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **env},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    applied, held = done.stdout.split()
    return applied == "True", int(held)


def test_freed_buffers_are_given_back_once_the_service_fixed_the_thresholds() -> None:
    applied, held = _probe("service")
    assert applied
    # 48 MiB of buffers were freed; the 1.5 MiB of pins are still in use.
    assert held < 8 * MIB


def test_without_fixed_thresholds_the_same_buffers_stay_resident() -> None:
    # The control: what the service did before, so the probe above can tell the difference.
    applied, held = _probe("untouched")
    assert not applied
    assert held > 32 * MIB


def test_an_operators_own_malloc_setting_wins() -> None:
    # A threshold above the buffers' size keeps them on the heap, as the operator asked.
    applied, held = _probe("service", MALLOC_MMAP_THRESHOLD_=str(16 * MIB))
    assert not applied
    assert held > 32 * MIB
