"""The slow hour, made on purpose: processes spinning on the cores while a benchmark's command runs."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

BUSY_LOOPS = 2
"""As many spinning processes as the machine has cores (2 here)."""


@contextmanager
def busy_loops(n: int = BUSY_LOOPS) -> Iterator[None]:
    """``n`` Python processes spinning while the block runs (a machine whose cores other work holds)."""
    loops = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]
    try:
        yield
    finally:
        for loop in loops:
            loop.kill()
            loop.wait()
