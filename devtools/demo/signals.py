"""Keep a terminal's Ctrl-C away from the embedded Kafka broker, so the demo can stop in order.

Ctrl-C goes to the whole foreground process group, and Tansu is started in ours: it would die
at once, and every client would then spend its timeouts on a dead broker while shutting down
(minutes, not seconds). A child inherits the signal mask of the thread that starts it, so
Tansu started with SIGINT blocked ignores Ctrl-C; this process gets it, stops everything and
terminates Tansu last. A stopgap: starting Tansu in its own session would do this properly.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["children_ignore_ctrl_c"]


@contextmanager
def children_ignore_ctrl_c() -> Iterator[None]:
    """Block SIGINT in this thread while children are started; a Ctrl-C meanwhile is only
    postponed until the block ends."""
    if not hasattr(signal, "pthread_sigmask"):  # not on Windows; nothing to do there
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
