"""The one place matcher writes files: atomic files and atomically published folders.

- :func:`write_atomic` (and :func:`write_json_atomic`) creates one file at
  once: the text goes to a temporary file beside the target, is flushed to
  disk, then renamed over it, so a reader never sees half a file and a failed
  run leaves the previous file intact.
- :func:`publish_dir` creates a whole folder at once: its files are written
  (:func:`write_csv`, :func:`write_text_synced`, each flushed to disk) into a
  hidden staging folder that is renamed to its final name in one step; a
  ``latest`` link is then switched, also by a rename. Where symbolic links are
  not allowed (Windows without the privilege, some network or FAT file
  systems), ``latest`` is a small text file naming the folder instead;
  :func:`follow_latest` reads either form.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel

__all__ = ["BOM", "INCOMPLETE", "csv_text", "follow_latest", "publish_dir", "sweep_incomplete", "write_atomic",
           "write_bytes_synced", "write_csv", "write_json_atomic", "write_text_synced"]

INCOMPLETE = ".incomplete-"
"""Prefix of a folder still being written (never a finished output)."""


def write_atomic(path: str | Path, write: Callable[[str], object]) -> None:
    """Create ``path`` atomically: ``write(tmp)`` fills a temporary file beside it, which is fsynced and renamed.

    A reader never sees half a file, and a failure leaves the previous file intact.

    Raises
    ------
    OSError
        When the folder or file cannot be written (nothing is left behind).

    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; outputs are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json_atomic(path: str | Path, value: BaseModel | Any) -> None:
    """Write JSON to ``path`` atomically (temporary file + fsync + rename).

    A model is written by pydantic; plain data by :mod:`json`, datetimes as ISO 8601 strings.
    """
    text = value.model_dump_json(indent=1) if isinstance(value, BaseModel) else json.dumps(
        value, indent=1, default=_iso)
    write_atomic(path, lambda tmp: Path(tmp).write_text(text + "\n", encoding="utf-8"))


def _iso(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """CSV text with Unix line ends: the same bytes for the same rows."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


BOM = "\ufeff"
"""The byte-order mark that starts every CSV file matcher writes: Excel then reads it as UTF-8 (Chinese text)."""


def write_csv(path: str | Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Write a UTF-8 CSV file with a byte-order mark (so that Excel reads it as UTF-8) and flush it to disk.

    Meant for a folder that :func:`publish_dir` publishes.
    """
    _write_synced(Path(path), (BOM + csv_text(header, rows)).encode("utf-8"))


def write_bytes_synced(path: str | Path, data: bytes) -> None:
    """Write a file's bytes and flush them to disk (inside a folder that :func:`publish_dir` publishes)."""
    _write_synced(Path(path), data)


def write_text_synced(path: str | Path, text: str) -> None:
    """Write a UTF-8 text file and flush it to disk (inside a folder that :func:`publish_dir` publishes)."""
    _write_synced(Path(path), text.encode("utf-8"))


def _write_synced(path: Path, data: bytes) -> None:
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def publish_dir(root: str | Path, name: str, fill: Callable[[Path], object], *, latest: str | None = None) -> Path:
    """Create ``root/name`` all at once and return its path.

    ``fill(staging)`` writes the files into a hidden ``root/.incomplete-name-PID``
    folder; once it returns, the folder is flushed and renamed to its final name
    (a single atomic rename), and the ``latest`` symbolic link, when named, is
    switched to it (also by an atomic rename): that switch is the commit. If
    ``fill`` fails, an exception (``KeyboardInterrupt`` included) arrives at any
    point before the commit, or the process dies, no folder called ``name``
    appears, ``latest`` still points at the last finished output, and the
    staging folder is removed (or swept by the next call, once its process is
    gone). An existing ``root/name`` gets a suffix
    ``-2``, ``-3``, ... rather than being overwritten.

    Raises
    ------
    OSError
        When the folder cannot be written; nothing is published.

    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    sweep_incomplete(root)
    staging = root / f"{INCOMPLETE}{name}-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    final = root / name
    try:
        fill(staging)
        _fsync_dir(staging)
        n = 1
        while final.exists() or final.is_symlink():
            n += 1
            final = root / f"{name}-{n}"
        os.rename(staging, final)
        if latest:
            _switch_latest(root, latest, final.name)  # the commit: from here on the output is published
    except BaseException:
        # nothing is published unless the whole step ran: a folder already renamed (an interrupt between
        # the rename and the link's switch) is taken back, so `latest` and the folders stay as they were
        renamed = not staging.exists()  # (the staging folder is gone only once it has its final name)
        if renamed and (not latest or _points_at(root / latest, final.name)):
            raise  # committed just before the exception: published whole
        if renamed:
            os.rename(final, staging)
        shutil.rmtree(staging, ignore_errors=True)
        if latest:
            (root / f"{INCOMPLETE}{latest}-{os.getpid()}").unlink(missing_ok=True)
        raise
    _fsync_dir(root)
    return final


def _switch_latest(root: Path, latest: str, target: str) -> None:
    """Point ``root/latest`` at ``target`` by one rename: a symbolic link, else a text file naming it."""
    link = root / latest
    tmp = root / f"{INCOMPLETE}{latest}-{os.getpid()}"
    tmp.unlink(missing_ok=True)
    try:
        os.symlink(target, tmp)
    except (OSError, NotImplementedError):  # symbolic links not allowed here: the text form
        _write_synced(tmp, (target + "\n").encode("utf-8"))
    os.replace(tmp, link)


MAX_POINTER_BYTES = 4096
"""A ``latest`` text file is at most this long (it holds one folder name)."""
MAX_NAME = 255
"""The longest folder name a ``latest`` text file may hold (one line, no path separator)."""


def _pointer(link: Path) -> str | None:
    """The folder name a ``latest`` link or text file names, or ``None``."""
    try:
        return os.readlink(link)
    except OSError:
        pass
    try:
        if not link.is_file() or link.stat().st_size > MAX_POINTER_BYTES:
            return None
        name = link.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    plain = 0 < len(name) <= MAX_NAME and not any(c in name for c in "/\\\n\r\0") and name not in (".", "..")
    return name if plain else None


def _points_at(link: Path, target: str) -> bool:
    return _pointer(link) == target


def follow_latest(path: str | Path) -> Path:
    """``path`` itself, or, for a ``latest`` text file (where links are not allowed), the folder it names.

    A text file counts only when it holds nothing but the name of a folder beside it.
    """
    path = Path(path)
    if path.is_symlink() or not path.is_file():
        return path
    name = _pointer(path)
    try:
        return path.parent / name if name and (path.parent / name).is_dir() else path
    except OSError:
        return path


def sweep_incomplete(root: Path) -> list[Path]:
    """Remove staging folders and links left by processes that died; returns what was removed."""
    removed = []
    for p in root.glob(f"{INCOMPLETE}*"):
        pid = p.name.rsplit("-", 1)[-1]
        if pid.isdigit() and _alive(int(pid)):
            continue
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)
        removed.append(p)
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # a leftover of an earlier process that had our pid
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
