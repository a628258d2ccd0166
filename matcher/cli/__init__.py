"""The ``matcher`` command line: commands, progress display, exit codes.

:mod:`~matcher.cli.clock` is imported first (by :mod:`matcher` itself), so that
a command's time limit can count matcher's own import time.
"""

from matcher.cli.clock import IMPORT_STARTED
from matcher.cli.main import main, run

__all__ = ["IMPORT_STARTED", "main", "run"]
