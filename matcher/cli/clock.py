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
    """Seconds since this process started (psutil; 0 where unknown), so that ``--time-limit`` counts start-up too."""
    try:
        import psutil

        return max(0.0, time.time() - psutil.Process(os.getpid()).create_time())
    except Exception:  # psutil cannot tell on this platform
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
