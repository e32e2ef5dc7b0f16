"""Stopping a run on a signal without losing it: note the signal, act on it between steps.

A signal handler that raises (``KeyboardInterrupt`` from SIGTERM) raises in whatever Python frame
runs at that moment; when that frame is a garbage-collection callback, Python prints the
exception and discards it, and the run goes on until SIGKILL. So the handler here only notes
the signal. The training loop asks :data:`STOP` after every step, the runner asks it after
training, after the evaluation and before each cell; whoever sees it saves a checkpoint and
raises :class:`StopRequested` (a ``KeyboardInterrupt``), which ends the command with exit
status 130. A second SIGINT (an impatient Ctrl-C) raises at once.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager


class StopRequested(KeyboardInterrupt):
    """A signal asked the run to stop; a checkpoint has been (or is being) saved."""


class StopFlag:
    """Which signal, if any, asked the run to stop (call it: ``True`` once one did)."""

    def __init__(self) -> None:
        self.signum: int | None = None

    def __call__(self) -> bool:
        return self.signum is not None

    def raise_if_requested(self) -> None:
        """Raise :class:`StopRequested` if a signal arrived."""
        if self.signum is not None:
            raise StopRequested(f"signal {self.signum}")


STOP = StopFlag()
"""the process's stop flag, set by :func:`stop_on_signals`' handler"""


@contextmanager
def stop_on_signals(signals: tuple[int, ...] = (signal.SIGTERM, signal.SIGINT)
                    ) -> Iterator[StopFlag]:
    """Inside, SIGTERM and SIGINT set :data:`STOP` instead of interrupting wherever Python is.

    Outside the main thread signals cannot be handled; the flag then never sets.
    """
    def note(signum, frame):
        if signum == signal.SIGINT and STOP.signum == signal.SIGINT:
            raise KeyboardInterrupt("second SIGINT")
        STOP.signum = signum

    STOP.signum = None
    try:
        previous = {signum: signal.signal(signum, note) for signum in signals}
    except ValueError:  # not the main thread: leave signals alone
        yield STOP
        return
    try:
        yield STOP
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        STOP.signum = None


__all__ = ["STOP", "StopFlag", "StopRequested", "stop_on_signals"]
