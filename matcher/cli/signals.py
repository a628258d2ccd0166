"""Ctrl-C and SIGTERM on the command line: stop at once, publish nothing, exit 130 or 143.

The library installs no signal handler (a caller of :func:`matcher.solve` gets
``KeyboardInterrupt`` as usual); the command line does, for one command, with
:func:`stop_on_signals`:

- the handler sets a cancellation event and raises :class:`Interrupted` in the
  main thread, which unwinds the command: a run folder being written is
  removed, the ``latest`` link keeps its target (:mod:`matcher.io.durable`);
- while the main thread is inside a solver's C++ code, Python cannot run that
  handler until the solver returns. A wake-up file descriptor
  (:func:`signal.set_wakeup_fd`), which the interpreter writes to the moment a
  signal arrives, is watched by a thread that sets the same event at once; the
  solver polls it and stops its search (see ``cancel`` of :func:`matcher.solve`);
- where a library turns the handler's exception into its own, the command
  still stops as interrupted (:func:`interrupted_in`).
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

__all__ = ["SIGNALS", "Interrupted", "interrupted_in", "stop_on_signals"]

SIGNALS = (signal.SIGINT, signal.SIGTERM)
"""The signals a command stops on."""


class Interrupted(BaseException):  # like KeyboardInterrupt: not an Exception, so no handler swallows it
    """The command was interrupted by a signal; ``signum`` is the signal's number."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        """The shell's convention: 128 + the signal's number (130 for SIGINT, 143 for SIGTERM)."""
        return 128 + self.signum


def interrupted_in(exc: BaseException) -> Interrupted | None:
    """The :class:`Interrupted` that ``exc`` was raised from or during, if any (its cause and context chain).

    A library can turn the handler's exception into one of its own (pybind11 turns an exception raised
    while an extension initialises into ``ImportError``); the command still stops as interrupted.
    """
    seen: set[int] = set()
    link: BaseException | None = exc
    while link is not None and id(link) not in seen:
        if isinstance(link, Interrupted):
            return link
        seen.add(id(link))
        link = link.__cause__ or link.__context__
    return None


@contextmanager
def stop_on_signals() -> Iterator[threading.Event]:
    """For one command: SIGINT and SIGTERM set the yielded event and raise :class:`Interrupted`.

    Must be entered from the main thread. The previous handlers and wake-up
    descriptor are restored on exit.
    """
    cancel = threading.Event()

    def handler(signum: int, frame: FrameType | None) -> None:
        cancel.set()
        raise Interrupted(signum)

    read_fd, write_fd = os.pipe()
    os.set_blocking(write_fd, False)

    def watch() -> None:
        try:
            while os.read(read_fd, 64):  # a byte per signal; b"" once the write end is closed
                cancel.set()
        except OSError:
            pass

    old_handlers = {s: signal.signal(s, handler) for s in SIGNALS}
    old_fd = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
    watcher = threading.Thread(target=watch, name="matcher-signal-watch", daemon=True)
    watcher.start()
    try:
        yield cancel
    finally:
        signal.set_wakeup_fd(old_fd)
        for s, h in old_handlers.items():
            signal.signal(s, h)
        os.close(write_fd)
        watcher.join(timeout=1.0)
        os.close(read_fd)
