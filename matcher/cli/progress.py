"""Progress on the command line (the library itself only logs).

On a terminal, :class:`LiveStatus` keeps one status line up to date in place:
a spinner, the seconds spent against the time limit as a bar, and the latest
step (``flow round 1: ...``). Elsewhere (a log file, cron, CI) the same steps
come out as plain time-stamped lines. ``--quiet`` shows warnings only;
``--verbose`` adds the engine's debug lines.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

__all__ = ["LiveStatus", "cli_logging"]

_SPIN = "|/-\\"


class LiveStatus(logging.Handler):
    """A logging handler that rewrites one terminal line: spinner, elapsed / limit bar, last message."""

    def __init__(self, stream: TextIO, started: float, budget_s: float | None, *, tick_s: float = 0.25) -> None:
        super().__init__(logging.INFO)
        self.stream = stream
        self.started = started
        self.budget_s = budget_s
        self.status = "starting"
        self._n = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._tick, args=(tick_s,), name="matcher-progress", daemon=True)
        self._thread.start()

    def _tick(self, tick_s: float) -> None:
        while not self._stop.wait(tick_s):
            self._draw()

    def _line(self) -> str:
        elapsed = time.perf_counter() - self.started
        self._n += 1
        head = f"{_SPIN[self._n % len(_SPIN)]} {elapsed:6.1f} s"
        if self.budget_s:
            filled = min(20, int(20 * elapsed / self.budget_s))
            head += f" / {self.budget_s:g} s [{'#' * filled}{'.' * (20 - filled)}]"
        width = shutil.get_terminal_size((100, 20)).columns - 1
        return f"{head} {self.status}"[:width]

    def _draw(self) -> None:
        with self._lock:
            self.stream.write("\r\x1b[2K" + self._line())
            self.stream.flush()

    def emit(self, record: logging.LogRecord) -> None:
        """Show the record as the new status; warnings and errors also stay on screen as a line."""
        try:
            msg = record.getMessage()
            with self._lock:
                if record.levelno >= logging.WARNING:
                    self.stream.write(f"\r\x1b[2Kmatcher: {msg}\n")
                self.status = msg
            self._draw()
        except Exception:  # a broken terminal must not break the run
            self.handleError(record)

    def close(self) -> None:
        """Stop the ticker and clear the status line."""
        self._stop.set()
        self._thread.join(timeout=1.0)
        with self._lock:
            self.stream.write("\r\x1b[2K")
            self.stream.flush()
        super().close()


@contextmanager
def cli_logging(stream: TextIO, *, quiet: bool, verbose: bool, started: float,
                budget_s: float | None) -> Iterator[None]:
    """Route the ``matcher`` loggers to ``stream`` for one command: live status on a terminal, lines elsewhere."""
    root = logging.getLogger("matcher")
    handlers: list[logging.Handler] = []
    level = logging.WARNING if quiet else (logging.DEBUG if verbose else logging.INFO)
    if not quiet and stream.isatty() and not verbose:
        handlers.append(LiveStatus(stream, started, budget_s))
    else:
        plain = logging.StreamHandler(stream)
        plain.setFormatter(logging.Formatter("%(asctime)s matcher: %(message)s", "%H:%M:%S"))
        handlers.append(plain)
    old_level = root.level
    root.setLevel(level)
    for h in handlers:
        root.addHandler(h)
    try:
        yield
    finally:
        for h in handlers:
            root.removeHandler(h)
            h.close()
        root.setLevel(old_level)
