"""When a command's time limit starts counting: the process start, or the moment matcher began importing.

:mod:`matcher` imports this module before anything heavy, so
:data:`IMPORT_STARTED` is taken before the package's own imports run.
"""

from __future__ import annotations

import os
import time

__all__ = ["IMPORT_STARTED", "START_SLACK_S", "command_started", "process_age_s"]

IMPORT_STARTED = time.perf_counter()
"""``time.perf_counter()`` when matcher began importing: a command's time limit counts from here at the latest."""

START_SLACK_S = 2.0
"""More than this between process start and importing matcher means the process did other work first."""


def process_age_s() -> float:
    """Seconds since this process started (Linux; 0 elsewhere), so that ``--time-limit`` counts start-up too."""
    try:
        with open("/proc/self/stat", encoding="ascii") as fh:
            start_ticks = int(fh.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime", encoding="ascii") as fh:
            uptime = float(fh.read().split()[0])
        return max(0.0, uptime - start_ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return 0.0


def command_started() -> float:
    """The ``time.perf_counter()`` value the command's time limit counts from.

    The process start, so that interpreter start-up counts too, unless the
    process ran something else before becoming ``matcher`` (``sh -c "pip
    install ... && matcher run ..."`` may exec into it): then the moment
    matcher began importing.
    """
    process_start = time.perf_counter() - process_age_s()
    return process_start if IMPORT_STARTED - process_start < START_SLACK_S else IMPORT_STARTED
