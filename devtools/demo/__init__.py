"""`iaj demo`: the whole system on one machine, run once over a synthetic focus list.

`run` orchestrates (inputs, embedded stack, import, rounds, results), `progress` polls what the
live view shows, `view` and `results_view` render, `report` is the JSON, `command` the CLI.
"""

from devtools.demo.run import DemoOptions, DemoReport, run_demo

__all__ = ["DemoOptions", "DemoReport", "run_demo"]
