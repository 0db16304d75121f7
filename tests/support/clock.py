"""Today's date as the CLI and the service read it.

Read when a test needs it, never once at import: a suite started before midnight runs its
later tests on the next day, and the CLI under test reads the clock then.
"""

from __future__ import annotations

import datetime as dt

from contracts.messages import utc_now

__all__ = ["today"]


def today() -> dt.date:
    return utc_now().date()
