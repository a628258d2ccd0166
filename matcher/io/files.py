"""Reading text and JSON files (and a taxonomy file), naming the file in every error."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from matcher.errors import ProblemError
from matcher.model import Taxonomy

__all__ = ["file_digests", "load_taxonomy_file", "read_json", "read_text", "sha256_file"]


def read_text(path: str | Path, encoding: str = "utf-8", *, hint: str = "") -> str:
    """Read a text file, UTF-8 by default (a byte-order mark is allowed), or in ``encoding`` (``"gb18030"``).

    ``hint`` is added to the message for a file that is not in the encoding (how else to name it).

    Raises
    ------
    ProblemError
        Naming the file when it cannot be read or is not in the encoding.

    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ProblemError([f"{path}: cannot read: {exc.strerror or exc}"]) from None
    utf8 = encoding.lower().replace("_", "-") in ("utf-8", "utf8")
    try:
        return raw.decode("utf-8-sig" if utf8 else encoding)
    except UnicodeDecodeError as exc:
        what = "UTF-8" if utf8 else encoding.upper()
        raise ProblemError([f"{path}: not {what} text (byte {exc.start}); save the file as UTF-8{hint}"]) from None


def read_json(path: str | Path) -> Any:
    """Parse a UTF-8 JSON file (``NaN`` and ``Infinity`` are refused).

    Raises
    ------
    ProblemError
        Naming the file (and the line and column of a syntax error).

    """
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


def load_taxonomy_file(base: Path, name: str, *, source: str) -> Taxonomy:
    """Read a taxonomy file named relative to ``base``; it must stay inside that folder.

    Raises
    ------
    ProblemError
        When the path leaves ``base``, or the file is unreadable or not a taxonomy.

    """
    target = (base / name).resolve()
    if not target.is_relative_to(base.resolve()):
        raise ProblemError([f"{source}.taxonomy: path {name!r} leaves the problem's folder"])
    raw = read_json(target)
    try:
        return Taxonomy.model_validate(raw)
    except Exception as exc:  # pydantic ValidationError
        raise ProblemError([f"{target}: not a valid taxonomy: {exc}"]) from None


def sha256_file(path: str | Path) -> str:
    """The SHA-256 of a file's bytes, as hex."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def file_digests(paths: Iterable[Path]) -> dict[str, dict[str, str | int]]:
    """For a run's manifest: each file's name -> its ``sha256`` and size in ``bytes``."""
    return {p.name: {"sha256": sha256_file(p), "bytes": p.stat().st_size} for p in paths}
