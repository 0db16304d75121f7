"""Measuring a benchmark run: percentiles, process memory, the Python heap, CPU, the machine."""

from __future__ import annotations

import gc
import math
import os
import platform
import resource
import statistics
import sys
import threading
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

__all__ = [
    "CpuClock",
    "HeapMeter",
    "HeapReading",
    "MemorySampler",
    "ObjectCount",
    "machine",
    "parent_pid",
    "percentiles",
    "proc_status_kib",
    "process_cpu_seconds",
    "process_tree_cpu_seconds",
    "ru_maxrss_kib",
    "summarize",
]


def percentiles(values: Sequence[float], points: Sequence[int] = (50, 95, 99)) -> dict[str, float]:
    """Nearest-rank percentiles (`p50`, ...) and the maximum; empty input gives no keys."""
    if not values:
        return {}
    ordered = sorted(values)
    result = {f"p{p}": ordered[max(math.ceil(p / 100 * len(ordered)) - 1, 0)] for p in points}
    result["max"] = ordered[-1]
    return result


def proc_status_kib(pid: int | str = "self") -> dict[str, int]:
    """The `Vm*` lines of /proc/<pid>/status in KiB (VmRSS, VmHWM, ...); empty if unreadable."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return {}
    values = {}
    for line in text.splitlines():
        name, _, rest = line.partition(":")
        if name.startswith("Vm") and rest.strip().endswith("kB"):
            values[name] = int(rest.split()[0])
    return values


def ru_maxrss_kib() -> int:
    """Peak resident memory of this process over its whole life (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


class MemorySampler:
    """Samples VmRSS of some processes in a thread and keeps each one's peak (KiB).

    A thread rather than a task: a busy event loop would sample exactly when memory is low.
    """

    def __init__(self, pids: Mapping[str, int | str], interval_seconds: float = 0.25) -> None:
        self._pids = dict(pids)
        self._interval = interval_seconds
        self.peaks: dict[str, int] = dict.fromkeys(self._pids, 0)
        self.first: dict[str, int] = {}  # at the first sample: what the rounds start from
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-memory", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self._interval)

    def sample(self) -> None:
        for name, pid in self._pids.items():
            rss = proc_status_kib(pid).get("VmRSS", 0)
            self.peaks[name] = max(self.peaks[name], rss)
            self.first.setdefault(name, rss)
        self.samples += 1

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()


@dataclass
class HeapReading:
    """Bytes of Python heap traced by tracemalloc over `rounds`, and the top growth by line."""

    before: int = 0
    after: int = 0
    peak: int = 0
    rounds: int = 0
    repeated_results: int = 0
    top_growth: list[str] = field(default_factory=list)

    @property
    def growth(self) -> int:
        return self.after - self.before


class HeapMeter:
    """tracemalloc from `start()` to `stop()`: heap before vs after (both after a full gc).

    Only blocks allocated while tracing are counted, so `after - before` is what the traced
    stretch left alive. Tracing slows allocation-heavy code 2-3x: never time under it.
    """

    def __init__(self, top: int = 8) -> None:
        self.reading = HeapReading()
        self._top = top
        self._snapshot: tracemalloc.Snapshot | None = None

    def start(self) -> None:
        gc.collect()
        tracemalloc.start()
        self.reading.before = tracemalloc.get_traced_memory()[0]
        self._snapshot = tracemalloc.take_snapshot()
        tracemalloc.reset_peak()

    def stop(self) -> HeapReading:
        if not tracemalloc.is_tracing():
            return self.reading
        gc.collect()
        self.reading.after, self.reading.peak = tracemalloc.get_traced_memory()
        if self._snapshot is not None:
            diff = tracemalloc.take_snapshot().compare_to(self._snapshot, "lineno")
            self.reading.top_growth = [str(stat) for stat in diff[: self._top]]
        tracemalloc.stop()
        return self.reading


class ObjectCount:
    """Objects the garbage collector tracks (in all, and per type) and pymalloc blocks in use,
    before vs after. Free to read (no tracing), so it can watch the timed rounds themselves.
    """

    def __init__(self, top: int = 10) -> None:
        self._top = top
        self.objects_before = self.objects_after = 0
        self.blocks_before = self.blocks_after = 0
        self._types_before: Counter[str] = Counter()
        self.top_growth: dict[str, int] = {}

    @staticmethod
    def _read() -> tuple[Counter[str], int]:
        gc.collect()
        types = Counter(type(o).__qualname__ for o in gc.get_objects())
        return types, sys.getallocatedblocks()

    def start(self) -> None:
        self._types_before, self.blocks_before = self._read()
        self.objects_before = self._types_before.total()

    def stop(self) -> None:
        types, self.blocks_after = self._read()
        self.objects_after = types.total()
        types.subtract(self._types_before)
        self.top_growth = dict(types.most_common(self._top))


class CpuClock:
    """Wall time and CPU time between `start()` and `stop()`: this process (all threads),
    its main thread (the event loop), and other processes by name: a pid (the broker, the
    adapters), or a function that reads the CPU seconds of several (a PostgreSQL server)."""

    def __init__(self, others: Mapping[str, int | Callable[[], float]] | None = None) -> None:
        self._others = {
            name: (source if callable(source) else _reader(source))
            for name, source in (others or {}).items()
        }
        self._start: tuple[float, float, float] = (0.0, 0.0, 0.0)
        self._others_start: dict[str, float] = {}
        self.wall_seconds = self.cpu_seconds = self.main_thread_cpu_seconds = 0.0
        self.other_cpu_seconds: dict[str, float] = {}

    def _now(self) -> tuple[tuple[float, float, float], dict[str, float]]:
        others = {name: read() for name, read in self._others.items()}
        return (time.perf_counter(), time.process_time(), time.thread_time()), others

    def start(self) -> None:
        self._start, self._others_start = self._now()

    def stop(self) -> None:
        now, others = self._now()
        self.wall_seconds, self.cpu_seconds, self.main_thread_cpu_seconds = (
            now[i] - self._start[i] for i in range(3)
        )
        self.other_cpu_seconds = {
            name: seconds - self._others_start.get(name, 0.0) for name, seconds in others.items()
        }


def _reader(pid: int) -> Callable[[], float]:
    return lambda: process_cpu_seconds(pid)


def _stat_fields(pid: int | str) -> list[str] | None:
    """/proc/<pid>/stat from field 3 (state) on: the command name may hold spaces."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def process_cpu_seconds(pid: int) -> float:
    """CPU time (user + system) another process used so far, from /proc/<pid>/stat."""
    fields = _stat_fields(pid)
    if fields is None:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])  # utime and stime: fields 14 and 15 of stat
    return ticks / os.sysconf("SC_CLK_TCK")


def parent_pid(pid: int) -> int | None:
    fields = _stat_fields(pid)
    return None if fields is None else int(fields[1])


def process_tree_cpu_seconds(pid: int) -> float:
    """CPU time of `pid` and its children so far: its own, that of the children it has reaped
    (cutime, cstime) and that of the children alive now. For a server that forks a process
    per connection (PostgreSQL): the difference between two readings is what the server
    used in between, connections that ended in between included."""
    fields = _stat_fields(pid)
    if fields is None:
        return 0.0
    ticks = sum(int(fields[i]) for i in (11, 12, 13, 14))  # utime stime cutime cstime
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        child = _stat_fields(entry.name)
        if child is not None and child[1] == str(pid):
            ticks += sum(int(child[i]) for i in (11, 12, 13, 14))
    return ticks / os.sysconf("SC_CLK_TCK")


def summarize(values: Sequence[float]) -> dict[str, float]:
    """min, median and max of interleaved runs (empty input: no keys)."""
    if not values:
        return {}
    return {
        "min": min(values),
        "median": statistics.median(values),
        "max": max(values),
        "n": len(values),
    }


def machine() -> dict[str, object]:
    """What the figures were measured on."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model or platform.processor(),
        "memory_kib": proc_meminfo_total_kib(),
        "platform": platform.platform(),
        "python": platform.python_version(),
    }


def proc_meminfo_total_kib() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None
