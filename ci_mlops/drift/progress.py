"""Progress of a long drift check on stderr: a bar on a terminal, a line now and then in CI logs.

Nothing is printed for the first ``DELAY`` seconds, so quick runs (and tests) stay quiet.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import TextIO

DELAY = 2.0  # seconds before anything is shown
BAR_EVERY = 0.25  # seconds between redraws of the terminal bar
LINE_EVERY = 15.0  # seconds between lines when stderr is not a terminal
BAR_WIDTH = 30


class Progress:
    """Counts work units (values read) and columns done; thread-safe."""

    def __init__(self, total: int, columns: int, *, unit: str | None = "values", enabled: bool = True,
                 stream: TextIO | None = None,
                 clock: Callable[[], float] | None = None) -> None:
        self.total, self.columns = max(total, 1), columns
        self.done = self.columns_done = 0
        self.enabled, self.unit = enabled, unit
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.clock = clock or time.monotonic
        self.started = self.clock()
        self.shown_at: float | None = None
        self.lock = threading.Lock()

    def advance(self, units: int, *, column_done: bool = False) -> None:
        with self.lock:
            self.done = min(self.total, self.done + units)
            self.columns_done += column_done
            if self.enabled:
                self._maybe_show()

    def finish(self) -> None:
        with self.lock:
            if self.enabled and self.shown_at is not None:
                self.done, self.columns_done = self.total, self.columns
                self._show(final=True)

    def _maybe_show(self) -> None:
        now = self.clock()
        if now - self.started < DELAY:
            return
        every = BAR_EVERY if self.tty else LINE_EVERY
        if self.shown_at is None or now - self.shown_at >= every:
            self._show(final=False)
            self.shown_at = now

    def _show(self, *, final: bool) -> None:
        share = self.done / self.total
        elapsed = _duration(self.clock() - self.started)
        counts = f"{self.columns_done}/{self.columns} columns"
        if self.tty:
            filled = int(share * BAR_WIDTH)
            bar = "#" * filled + "." * (BAR_WIDTH - filled)
            self.stream.write(f"\rci-mlops drift [{bar}] {share:4.0%}  {counts}  {elapsed}" + ("\n" if final else ""))
        else:
            amount = f", {self.done:,} of {self.total:,} {self.unit}" if self.unit else ""
            self.stream.write(f"ci-mlops: drift: {share:.0%} ({counts}{amount}) after {elapsed}\n")
        self.stream.flush()


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{seconds:.1f}s"
