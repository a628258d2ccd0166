"""Reading problems and writing solutions.

Writes are atomic: the text goes to a temporary file in the destination folder,
is flushed to disk, then renamed over the target, so a reader never sees half a
file and a failed run leaves the previous file intact.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from matcher.errors import ProblemError
from matcher.model import Problem, Taxonomy

__all__ = ["load_problem", "load_taxonomy_file", "read_json", "read_text", "write_atomic", "write_json_atomic"]


def read_text(path: str | Path) -> str:
    """Read a UTF-8 text file (a byte-order mark is allowed), naming the file in any error."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ProblemError([f"{path}: cannot read: {exc.strerror or exc}"]) from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ProblemError([f"{path}: not UTF-8 text (byte {exc.start}); save the file as UTF-8"]) from None


def read_json(path: str | Path) -> Any:
    """Parse a UTF-8 JSON file, turning every failure into a :class:`ProblemError` naming the file."""
    path = Path(path)
    text = read_text(path)
    if not text.strip():
        raise ProblemError([f"{path}: file is empty"])
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise ProblemError([f"{path}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"]) from None
    except ValueError as exc:
        raise ProblemError([f"{path}: {exc}"]) from None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a valid number")


def load_problem(path: str | Path) -> Problem:
    """Load and validate a SPEC JSON problem.

    A ``taxonomy`` given as a file path (other than ``"builtin"``) is read
    relative to the problem file and must stay inside its folder.
    """
    path = Path(path)
    data = read_json(path)
    if isinstance(data, dict) and isinstance(data.get("taxonomy"), str) and data["taxonomy"] != "builtin":
        data = dict(data)
        data["taxonomy"] = load_taxonomy_file(path.parent, data["taxonomy"], source=str(path))
    return Problem.from_dict(data, source=str(path))


def load_taxonomy_file(base: Path, name: str, *, source: str) -> Taxonomy:
    """Read a taxonomy file named relative to ``base``; it must stay inside that folder."""
    target = (base / name).resolve()
    if not target.is_relative_to(base.resolve()):
        raise ProblemError([f"{source}.taxonomy: path {name!r} leaves the problem's folder"])
    raw = read_json(target)
    try:
        return Taxonomy.model_validate(raw)
    except Exception as exc:  # pydantic ValidationError
        raise ProblemError([f"{target}: not a valid taxonomy: {exc}"]) from None


def write_atomic(path: str | Path, write: Callable[[str], object]) -> None:
    """Create ``path`` atomically: ``write(tmp)`` fills a temporary file beside it, which is fsynced and renamed.

    A reader never sees half a file, and a failure leaves the previous file intact.
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
    """Write JSON to ``path`` atomically (temporary file + fsync + rename)."""
    text = value.model_dump_json(indent=1) if isinstance(value, BaseModel) else json.dumps(value, indent=1)
    write_atomic(path, lambda tmp: Path(tmp).write_text(text + "\n", encoding="utf-8"))
