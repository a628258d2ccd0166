"""The slow hour, made on purpose: processes spinning on the cores while a benchmark's command runs."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

BUSY_LOOPS = 2
"""As many spinning processes as the machine has cores (2 here)."""


@contextmanager
def busy_loops(n: int = BUSY_LOOPS, *, tenants: bool = False) -> Iterator[None]:
    """``n`` Python processes spinning while the block runs (a machine whose cores other work holds).

    With Linux's scheduler autogroups (``/proc/sys/kernel/sched_autogroup_enabled``, on here), the CPU is
    shared between sessions first. The benchmarks run their command in a session of its own, so loops left in
    the benchmark's session take at most half of the machine from it, however many there are. ``tenants``
    starts each loop in a session of its own too, as other users' work would be: ``n`` loops then take
    ``n / (n + 1)`` of the machine.
    """
    loops = [subprocess.Popen([sys.executable, "-c", "while True: pass"], start_new_session=tenants)
             for _ in range(n)]
    try:
        yield
    finally:
        for loop in loops:
            loop.kill()
            loop.wait()
