"""Loading a problem, options or a plan from a path: the entry points of file input.

- :func:`load_problem`: a SPEC JSON file; :func:`load_input`: a JSON file, a
  folder of tables (:mod:`matcher.io.tables`) or a database;
  :func:`read_input`: the same, with the personal columns passed through and
  what a run's manifest records of the input;
- :func:`load_options`: :class:`~matcher.model.SolveOptions` from TOML, YAML or JSON;
- :func:`read_assignments`: ``volunteer_id, demand_id`` pairs from a run folder,
  a table or a JSON file (a previous plan).

Every failure is a :class:`~matcher.errors.ProblemError` naming the file, and
the line or record and field where there is one.
"""

from __future__ import annotations

import json
import logging
import tomllib
from collections.abc import Mapping
from pathlib import Path

from pydantic import ValidationError

from matcher.errors import ProblemError
from matcher.io.assemble import Loaded
from matcher.io.database import is_database_url, read_database, redact
from matcher.io.durable import follow_latest
from matcher.io.files import file_digests, load_taxonomy_file, read_json
from matcher.io.gcpause import paused_gc
from matcher.io.rundb import read_run_assignments
from matcher.io.tables import TABLE_SUFFIXES, read_columns, read_folder, read_network
from matcher.io.yamlfile import read_yaml
from matcher.model import Locator, Problem, SolveOptions, format_validation_error
from matcher.model.bulk import fast_problem

__all__ = ["load_input", "load_options", "load_problem", "read_assignments", "read_input", "shown_source"]

log = logging.getLogger(__name__)


def load_problem(path: str | Path) -> Problem:
    """Load and validate a SPEC JSON problem.

    A ``taxonomy`` given as a file path (other than ``"builtin"``), and a
    ``travel.network`` given as a path (a JSON file, or a folder of ``nodes``
    and ``edges`` tables), are read relative to the problem file and must stay
    inside its folder.

    Soft references that went stale are dropped with a warning (logged, and kept in ``warnings``).

    Raises
    ------
    ProblemError
        Naming the file, record and field of every problem found (a folder is named as one).

    """
    path = Path(path)
    if path.is_dir():
        raise ProblemError([f"{path}: is a folder; load_problem reads a SPEC JSON file (a folder of tables: "
                            "matcher.read_tables)"])
    data = read_json(path)
    if isinstance(data, dict) and isinstance(data.get("taxonomy"), str) and data["taxonomy"] != "builtin":
        data = dict(data)
        data["taxonomy"] = load_taxonomy_file(path.parent, data["taxonomy"], source=str(path))
    travel = data.get("travel") if isinstance(data, dict) else None
    if isinstance(travel, dict) and isinstance(travel.get("network"), str):  # SPEC v2: a network named by path
        data = {**data, "travel": {**travel, "network": read_network(path.parent, travel["network"],
                                                                     source=str(path))}}
    fast = fast_problem(data)
    if fast is not None:
        return fast
    problem = Problem.from_dict(data, source=str(path))
    for w in problem.warnings:
        log.warning("%s", w)
    return problem


def load_input(path: str | Path) -> Problem:
    """Load a problem from a folder of tables, a SPEC JSON file or a database URL (:func:`read_input`).

    Raises
    ------
    ProblemError
        When the path does not exist, or the input breaks the contract.

    """
    return read_input(path).problem


def read_input(source: str | Path) -> Loaded:
    """Load an input with what a run records of it: a folder of tables, a SPEC JSON file, or a database URL.

    A folder's extra columns come back in :attr:`Loaded.personal`; :attr:`Loaded.files` has each input
    file's hash and size for the manifest.

    Raises
    ------
    ProblemError
        When the path does not exist, or the input breaks the contract.

    """
    with paused_gc():  # (a district's records: a million objects and no cycles)
        return _read_input(source)


def _read_input(source: str | Path) -> Loaded:
    if is_database_url(source):
        return read_database(str(source))
    path = Path(source)
    if not path.exists():
        hint = "; a table file is read with the others in its folder: give the folder" \
            if path.suffix in TABLE_SUFFIXES else ""
        raise ProblemError([f"{path}: no such file or folder{hint}"])
    if path.is_dir():
        loaded = read_folder(path)
        return Loaded(loaded.problem, loaded.personal, loaded.files, str(path.resolve()))
    if path.suffix in TABLE_SUFFIXES:
        raise ProblemError([f"{path}: a table file is read with the others in its folder (and its settings.json): "
                            f"give the folder {path.parent}"])
    return Loaded(load_problem(path), files=file_digests([path]), where=str(path.resolve()))


def shown_source(source: str | Path) -> str:
    """An input or output as a run records it: a database URL with its password hidden, else the full path."""
    return redact(str(source)) if is_database_url(source) else str(Path(source).resolve())


def load_options(path: str | Path) -> SolveOptions:
    """Load options from a TOML, YAML or JSON file, by its suffix (unknown keys are an error).

    Raises
    ------
    ProblemError
        YAML errors name the line of the bad key; TOML and JSON errors name the key.

    """
    path = Path(path)
    locator: Locator | None = None
    if path.suffix in (".yaml", ".yml"):
        doc = read_yaml(path)
        raw, locator = doc.data, doc.render
    else:
        try:
            text = path.read_text(encoding="utf-8")
            raw = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise ProblemError([f"{path}: cannot read options: {exc}"]) from None
    if not isinstance(raw, Mapping):
        raise ProblemError([f"{path}: options must be a mapping of names to values"])
    try:
        return SolveOptions.model_validate(raw)
    except ValidationError as exc:
        raise ProblemError(format_validation_error(exc, raw, source=str(path), locator=locator)) from None


def read_assignments(path: str | Path) -> list[tuple[str, str]]:
    """Read assignments (``volunteer_id``, ``demand_id``) from a run folder, a CSV/Parquet table or a JSON file.

    A database URL means its latest run's assignments (:mod:`matcher.io.rundb`). A run folder means its
    ``assignments.csv`` (``RUNS/latest`` may be a link or, where links are not
    allowed, a text file naming the folder); JSON may be a list of assignments or a solution with an
    ``assignments`` list.

    Raises
    ------
    ProblemError
        Naming the file and the line or item that is not an assignment.

    """
    if is_database_url(path):
        return read_run_assignments(str(path))
    path = follow_latest(path)
    if path.is_dir():
        path = path / "assignments.csv"
    if path.suffix == ".json":
        data = read_json(path)
        items = data.get("assignments") if isinstance(data, Mapping) else data
        if not isinstance(items, list):
            raise ProblemError([f"{path}: expected a list of assignments or a solution with 'assignments'"])
        out = []
        for i, a in enumerate(items):
            if not (isinstance(a, Mapping) and isinstance(a.get("volunteer_id"), str)
                    and isinstance(a.get("demand_id"), str)):
                raise ProblemError([f"{path}: assignments[{i}]: needs text fields volunteer_id and demand_id"])
            out.append((a["volunteer_id"], a["demand_id"]))
        return out
    table = read_columns(path)
    cols = table.columns
    missing = [c for c in ("volunteer_id", "demand_id") if c not in cols]
    if missing:
        raise ProblemError([f"{path}: missing column {', '.join(missing)}"])
    out = []
    for i, (vid, did) in enumerate(zip(cols["volunteer_id"], cols["demand_id"])):
        if not isinstance(vid, str) or not isinstance(did, str) or not vid.strip() or not did.strip():
            raise ProblemError([f"{table.label(i)}: needs a volunteer_id and a demand_id (text)"])
        out.append((vid.strip(), did.strip()))
    return out
