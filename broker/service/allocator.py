"""Keep glibc's malloc from holding on to the service's large, short-lived buffers.

glibc gives an allocation of 128 KiB or more its own mapping and returns it to the system when
it is freed, but it raises that threshold to the size of every such block freed (up to 32
MiB). Kafka's fetch responses and the service's answer batches are such blocks: after the
first few, they are carved from the heap between longer-lived objects, and when freed their
pages stay with the process. The resident memory then grows with the backlog, not with the
work in hand (measured with `iaj bench --capacity`: 1,000 rounds opened at once, 154 MiB;
5,000, 188 to 191 MiB; with the thresholds fixed, 152 to 153 and 172 to 184 MiB).

Fixing both thresholds at glibc's initial value (what `MALLOC_MMAP_THRESHOLD_` and
`MALLOC_TRIM_THRESHOLD_` do) keeps it that way. An operator's own setting of either variable
wins; other C libraries are left as they are.
"""

from __future__ import annotations

import ctypes
import os
import platform

__all__ = ["THRESHOLD_BYTES", "keep_large_buffers_returnable"]

THRESHOLD_BYTES = 128 * 1024  # glibc's initial M_MMAP_THRESHOLD and M_TRIM_THRESHOLD

# mallopt(3) parameter numbers (malloc.h).
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_OPERATOR_VARIABLES = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")


def keep_large_buffers_returnable() -> bool:
    """Fix glibc's mmap and trim thresholds for this process; True if they were set here."""
    if any(name in os.environ for name in _OPERATOR_VARIABLES):
        return False
    if platform.libc_ver()[0] != "glibc":
        return False
    mallopt = ctypes.CDLL(None).mallopt
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    # mallopt returns 1 on success; setting either one also stops glibc moving the other.
    return all(
        mallopt(parameter, THRESHOLD_BYTES) == 1
        for parameter in (_M_MMAP_THRESHOLD, _M_TRIM_THRESHOLD)
    )
