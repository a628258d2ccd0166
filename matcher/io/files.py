"""Reading text and JSON files (and a taxonomy file), naming the file in every error."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from matcher.errors import ProblemError
from matcher.model import Taxonomy

__all__ = ["load_taxonomy_file", "read_json", "read_text"]


def read_text(path: str | Path) -> str:
    """Read a UTF-8 text file (a byte-order mark is allowed).

    Raises
    ------
    ProblemError
        Naming the file when it cannot be read or is not UTF-8.

    """
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
