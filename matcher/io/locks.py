"""One run at a time per output: a lock on a runs folder or a database, held for the whole run.

- A runs folder or a SQLite database file: an OS file lock (filelock) on a
  file in the system's temporary folder named after the output's full path
  (``matcher-<hash>.lock``), so that a run refused for bad input has still
  written nothing where its output goes. Runs on one machine are kept apart.
- A PostgreSQL database: a session advisory lock (``pg_try_advisory_lock``),
  which keeps apart runs from any machine.

The OS (or the server) releases every one of them when the process dies, so a
killed run never leaves a stale lock. A second run on the same output is
refused at once with :class:`~matcher.errors.OutputBusyError`.
"""

from __future__ import annotations

import contextlib
import hashlib
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from matcher.errors import OutputBusyError, ProblemError
from matcher.io.database import database_error, engine_for, is_database_url, redact

__all__ = ["ADVISORY_KEY", "lock_path", "output_lock"]

ADVISORY_KEY = 0x6D61_7463_6872_756E  # "matchrun"
"""PostgreSQL advisory lock key of a database's nightly run."""


def lock_path(target: Path) -> Path:
    """The lock file of an output folder or database file: in the temporary folder, named after its full path."""
    key = hashlib.sha256(str(target.resolve()).encode("utf-8")).hexdigest()[:20]
    return Path(tempfile.gettempdir()) / f"matcher-{key}.lock"


@contextlib.contextmanager
def _file_lock(target: Path, what: str) -> Iterator[None]:
    from filelock import FileLock, Timeout

    path = lock_path(target)
    lock = FileLock(str(path), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise OutputBusyError(f"{what}: another run is writing to it (it holds the lock {path}); this run did "
                              "nothing") from None
    except OSError as exc:
        raise ProblemError([f"{path}: cannot take the lock: {exc.strerror or exc}"]) from None
    try:
        yield
    finally:
        lock.release()


@contextlib.contextmanager
def _advisory_lock(url: str) -> Iterator[None]:
    import sqlalchemy as sa

    engine = engine_for(url)
    conn: Any = None
    try:
        conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        got = conn.execute(sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_KEY}).scalar()
    except sa.exc.SQLAlchemyError as exc:
        if conn is not None:
            conn.close()
        engine.dispose()
        raise database_error(url, exc, "cannot reach the database") from None
    if not got:
        conn.close()
        engine.dispose()
        raise OutputBusyError(f"{redact(url)}: another run is writing to this database; this run did nothing")
    try:
        yield
    finally:
        with contextlib.suppress(sa.exc.SQLAlchemyError):
            conn.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_KEY})
        conn.close()
        engine.dispose()


@contextlib.contextmanager
def output_lock(out: str | Path) -> Iterator[None]:
    """Hold the lock of a runs folder or an output database for the ``with`` block (module notes).

    Raises
    ------
    OutputBusyError
        When another run holds it.
    ProblemError
        When the folder or database cannot be reached (password hidden).

    """
    if is_database_url(out):
        url = str(out)
        engine = engine_for(url)
        dialect, database = engine.dialect.name, engine.url.database
        engine.dispose()
        if dialect == "postgresql":
            with _advisory_lock(url):
                yield
        elif dialect == "sqlite" and database and database != ":memory:":
            with _file_lock(Path(database), redact(url)):
                yield
        else:
            yield
        return
    with _file_lock(Path(out), str(out)):
        yield
