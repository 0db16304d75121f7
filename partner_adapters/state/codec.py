"""How values are written to the state file: timestamps as fixed-width UTC text, so that
comparing the text compares the times."""

from __future__ import annotations

import datetime as dt

__all__ = ["parse_ts", "ts"]

_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def ts(moment: dt.datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("naive datetime: the state file keeps UTC times only")
    return moment.astimezone(dt.UTC).strftime(_FORMAT)


def parse_ts(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, _FORMAT).replace(tzinfo=dt.UTC)
