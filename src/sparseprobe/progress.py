"""Progress lines with an ETA for long jobs, readable by ``tail -f`` on a job's log.

Low in the import order (standard library only, like :mod:`sparseprobe.errors`), so the ladder
training, the extraction and the probe sweep can all use it without importing the workflow.

A :class:`Progress` logs at most one line every ``every_s`` seconds (and always the last
step), e.g. ``extract ladder-3 on code_language: 512/1200 examples (43%), 3.1 s elapsed,
ETA 4.1 s``. The ETA is a linear extrapolation of the rate so far: it says how long the rest
takes if it goes as fast as what is done, not a promise (a block of long texts is slower).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

_IMPORTED = time.time()


def process_seconds() -> float:
    """Seconds since this Python process started (its start time from the OS through psutil;
    without psutil, since this module was first imported, which undercounts the imports
    before it)."""
    try:
        import psutil

        started = psutil.Process().create_time()
    except (ImportError, OSError):  # pragma: no cover - psutil ships with snakemake
        started = _IMPORTED
    return max(0.0, time.time() - started)


def format_seconds(seconds: float) -> str:
    """``42.0 s``, ``3 min 05 s`` or ``2 h 03 min``: short enough for a log line."""
    if seconds < 120:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 120:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


class Progress:
    """Counts ``done`` out of ``total`` steps of one piece of work and logs the rate and ETA.

    ``clock`` (seconds, monotonic) is injectable for tests; lines go to ``logger`` at INFO.
    """

    def __init__(self, logger: logging.Logger, what: str, total: int, unit: str = "steps",
                 every_s: float = 10.0, clock: Callable[[], float] = time.monotonic):
        self.logger, self.what, self.total, self.unit = logger, what, total, unit
        self.every_s, self.clock = every_s, clock
        self.started = clock()
        self._last_logged: float | None = None

    def line(self, done: int) -> str:
        """The progress line for ``done`` steps (no logging)."""
        elapsed = self.clock() - self.started
        share = done / self.total if self.total else 1.0
        text = (f"{self.what}: {done}/{self.total} {self.unit} ({100 * share:.0f}%), "
                f"{format_seconds(elapsed)} elapsed")
        if 0 < done < self.total:
            text += f", ETA {format_seconds(elapsed * (self.total - done) / done)}"
        elif done >= self.total:
            text += ", done"
        return text

    def update(self, done: int) -> bool:
        """Log the line for ``done`` steps if ``every_s`` passed since the last one or the work
        is complete; True when a line was logged."""
        now = self.clock()
        due = self._last_logged is None or now - self._last_logged >= self.every_s
        if not (due or done >= self.total):
            return False
        self._last_logged = now
        self.logger.info("%s", self.line(done))
        return True
