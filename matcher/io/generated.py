"""The folder ``matcher generate`` writes: ``csv/``, ``parquet/`` and ``problem.json``, replaced whole.

Writing a place over an earlier one table by table would leave the earlier
place's other tables behind, and a folder of tables is read whole: a v2 world's
``ratings.csv`` left in ``csv/`` went into the next (v1) problem with no
warning. So :func:`generated_files` lists what an earlier ``generate`` wrote,
for the command to remove before the new place is written, and refuses a folder
holding anything else (matcher never deletes a file it cannot have written).
"""

from __future__ import annotations

from pathlib import Path

from matcher.errors import ProblemError
from matcher.io.columns import COLUMNS, NETWORK_COLUMNS
from matcher.io.tables import SETTINGS, TABLE_SUFFIXES

__all__ = ["GENERATED_FOLDERS", "PROBLEM_FILE", "generated_files"]

GENERATED_FOLDERS = ("csv", "parquet")
"""The table folders ``generate`` writes under ``--out``, one per format."""

PROBLEM_FILE = "problem.json"
"""The SPEC JSON problem ``generate`` writes under ``--out``."""


def generated_files(out: Path) -> list[Path]:
    """The files an earlier ``matcher generate`` wrote in ``out``, to be replaced (none for a new folder).

    Raises :class:`~matcher.errors.ProblemError` naming the files when ``out`` is not a folder or holds anything
    ``generate`` does not write (other files, or unknown files in ``csv/`` and ``parquet/``).
    """
    if not out.exists():
        return []
    if not out.is_dir():
        raise ProblemError([f"--out {out}: cannot write: it is a file, not a folder"])
    tables = {f"{t}{suffix}" for t in (*COLUMNS, *NETWORK_COLUMNS) for suffix in TABLE_SUFFIXES} | {SETTINGS}
    remove: list[Path] = []
    foreign: list[Path] = []
    for p in sorted(out.iterdir()):
        if p.name == PROBLEM_FILE and p.is_file():
            remove.append(p)
        elif p.name in GENERATED_FOLDERS and p.is_dir():
            for q in sorted(p.iterdir()):
                (remove if q.name in tables and q.is_file() else foreign).append(q)
        else:
            foreign.append(p)
    if foreign:
        shown = ", ".join(str(p.relative_to(out)) for p in foreign[:5]) + (" ..." if len(foreign) > 5 else "")
        raise ProblemError([f"--out {out}: holds files matcher generate does not write ({shown}); choose an empty "
                            "folder, or one an earlier matcher generate wrote (its files are replaced)"])
    return remove
