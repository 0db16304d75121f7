"""`iaj bench`: rounds through the whole system, measured against plain aiokafka.

`pipeline` runs N rounds through the embedded stack, `baseline` moves the same messages with
plain aiokafka through the same broker, `measure` reads time and memory, `profile` runs
cProfile, `report` writes the JSON and the tables, `runner` ties them together per run.
"""

from devtools.bench.databases import Database
from devtools.bench.runner import BenchSettings, Progress, run_bench

__all__ = ["BenchSettings", "Database", "Progress", "run_bench"]
