"""The pipeline under cProfile: the functions that take the event loop's time, as text and JSON.

cProfile sees the thread it was enabled in, the event loop: SQLite statements run in
aiosqlite's worker threads and show here only as the awaits that wait for them.
"""

from __future__ import annotations

import cProfile
import io
import pstats
import site
import sysconfig
from pathlib import Path
from typing import Any

__all__ = ["write_profile"]

_STDLIB = sysconfig.get_paths()["stdlib"]
_PREFIXES = sorted({*site.getsitepackages(), _STDLIB, str(Path.cwd())}, key=len, reverse=True)


def write_profile(profiler: cProfile.Profile, path: Path, top: int = 40) -> dict[str, Any]:
    """Write the top `top` functions by cumulative and by own time to `path` (and the raw
    stats next to it, `.prof`); return them, with own time summed per package."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text)
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)
    path.write_text(text.getvalue(), encoding="utf-8")
    profiler.dump_stats(path.with_suffix(".prof"))  # for pstats, snakeviz and the like
    entries: dict[tuple[str, int, str], tuple[int, int, float, float, Any]] = stats.stats  # type: ignore[attr-defined]
    rows: list[dict[str, Any]] = [
        {
            "function": f"{_short(file)}:{line}({name})",
            "calls": calls,
            "tottime_s": round(own, 3),
            "cumtime_s": round(cumulative, 3),
        }
        for (file, line, name), (_, calls, own, cumulative, _) in entries.items()
    ]
    by_package: dict[str, float] = {}
    for (file, _, _), (_, _, own, _, _) in entries.items():
        package = _package(file)
        by_package[package] = by_package.get(package, 0.0) + own
    return {
        "file": str(path),
        "profiled_seconds": round(stats.total_tt, 3),  # type: ignore[attr-defined]
        "own_time_by_package_s": {
            k: round(v, 3) for k, v in sorted(by_package.items(), key=lambda kv: -kv[1])
        },
        "top_cumulative": sorted(rows, key=lambda r: r["cumtime_s"], reverse=True)[:top],
        "top_tottime": sorted(rows, key=lambda r: r["tottime_s"], reverse=True)[:top],
    }


def _short(file: str) -> str:
    for prefix in _PREFIXES:
        if file.startswith(prefix):
            return file[len(prefix) :].lstrip("/")
    return file


def _package(file: str) -> str:
    """Whose code: a site or project package, a stdlib module, or C functions."""
    if file == "~":
        return "(C functions: builtins, socket and select calls)"
    top = _short(file).split("/", 1)[0].removesuffix(".py")
    return f"stdlib:{top}" if file.startswith(_STDLIB) else top
