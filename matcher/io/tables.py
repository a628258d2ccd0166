"""A problem as a folder of tables (CSV or Parquet), for real data exports.

A folder holds one file per table, named after SPEC.md's Problem fields:
``volunteers`` and ``demands`` (required), ``areas``, ``pinned``, ``forbidden``
and ``previous`` (optional), each either ``NAME.csv`` or ``NAME.parquet``
(not both). An optional ``settings.json`` gives the fields that are not tables:
``{"taxonomy": "builtin", "options": {...}}``.

Columns are SPEC.md's field names. Encodings:

- an empty cell (CSV) or a null (Parquet) means "not given": the field's default;
- list fields (``skills``, ``required_skills``, ``preferred_volunteers``) are codes
  separated by ``;`` (``general;nurse``); in Parquet a list-of-strings column also works;
- ``availability`` is intervals ``start/end`` separated by ``;``, each an ISO 8601
  datetime with offset (``2026-11-23T08:00:00+08:00/2026-11-23T12:00:00+08:00``);
- booleans are ``true``/``false`` (also ``1``/``0``, ``yes``/``no``);
- CSV files are UTF-8 (a byte-order mark is allowed) with a header row.

Errors name the file, the row (CSV: its line number, the header being line 1;
Parquet: the row number counting from 1), the record's id and the column.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from matcher.errors import ProblemError
from matcher.io.durable import write_atomic
from matcher.io.files import load_taxonomy_file, read_json, read_text
from matcher.model import Area, Assignment, Demand, Locator, Problem, Volunteer, shown_id

__all__ = ["COLUMNS", "problem_from_tables", "read_tables", "table_rows", "write_tables"]

COLUMNS: dict[str, tuple[str, ...]] = {
    "areas": ("id", "lat", "lon", "community", "street"),
    "volunteers": ("id", "lat", "lon", "skills", "availability", "max_tasks", "max_hours", "max_travel_km",
                   "team_id", "insured", "recent_hours"),
    "demands": ("id", "area_id", "lat", "lon", "category", "required_skills", "headcount", "start", "end",
                "priority", "requires_insured", "team_id", "preferred_volunteers"),
    "pinned": ("volunteer_id", "demand_id"),
    "forbidden": ("volunteer_id", "demand_id"),
    "previous": ("volunteer_id", "demand_id"),
}
"""The columns each table may have, in SPEC.md order."""

_REQUIRED_TABLES = ("volunteers", "demands")
_MODELS: dict[str, type[Area | Volunteer | Demand | Assignment]] = {
    "areas": Area, "volunteers": Volunteer, "demands": Demand,
    "pinned": Assignment, "forbidden": Assignment, "previous": Assignment,
}
MAX_ROW_ERRORS = 50
"""A CSV file stops being read after this many malformed lines (all are reported)."""
_LISTS = {"skills", "required_skills", "preferred_volunteers"}
_SETTINGS = "settings.json"


_MISSING = object()


def _plain(value: Any) -> Any:
    if value is None:
        return _MISSING
    if isinstance(value, str):
        value = value.strip()
        return value if value else _MISSING
    return value


def _codes(value: Any) -> Any:
    value = _plain(value)
    if isinstance(value, str):
        return [x.strip() for x in value.split(";") if x.strip()]
    return value


def _windows(value: Any, bad: list[str]) -> Any:
    """``start/end;start/end`` as window records; a malformed part is described in ``bad``."""
    if isinstance(value, list):
        value = ";".join(str(v) for v in value)
    value = _plain(value)
    if not isinstance(value, str):
        return value
    windows = []
    for n, part in enumerate((x.strip() for x in value.split(";") if x.strip()), start=1):
        start, sep, end = part.partition("/")
        if not sep or not start.strip() or not end.strip():
            bad.append(f"window {n} {part!r} is not 'start/end'")
            continue
        windows.append({"start": start.strip(), "end": end.strip()})
    return windows


def _row_label(where: str) -> Callable[[int], str]:
    """Names row ``i`` (from 0) as ``WHERE row i+1``, as Parquet and in-memory tables count rows."""
    return lambda i: f"{where} row {i + 1}"


def table_rows(name: str, columns: dict[str, list[Any]], *, label: Any = None) -> list[dict[str, Any]]:
    """Turn one table's columns into SPEC records (dicts), decoding the list encodings.

    ``label(i)`` names row ``i`` in error messages. Raises :class:`ProblemError`
    for unknown columns, ragged columns and malformed availability.
    """
    file_label = label or _row_label(name)
    unknown = [c for c in columns if c not in COLUMNS[name]]
    if unknown:
        raise ProblemError([f"{name}: unknown column {c!r} (known: {', '.join(COLUMNS[name])})" for c in unknown])
    required = [f for f, info in _MODELS[name].model_fields.items() if info.is_required()]
    missing = [f for f in required if f not in columns]
    if missing:
        raise ProblemError([f"{name}: missing column {c!r} (required: {', '.join(required)})" for c in missing])
    lengths = {len(v) for v in columns.values()}
    if len(lengths) > 1:
        raise ProblemError([f"{name}: columns have different lengths {sorted(lengths)}"])
    errors: list[str] = []
    decoded: list[list[Any]] = []
    for col, values in columns.items():
        if col in _LISTS:
            decoded.append([_codes(v) for v in values])
        elif col == "availability":
            out = []
            ids = columns.get("id")
            for i, v in enumerate(values):
                bad: list[str] = []
                out.append(_windows(v, bad))
                who = f" (id {shown_id(ids[i])})" if ids is not None and isinstance(ids[i], str) else ""
                errors.extend(f"{file_label(i)}{who}, column availability: {b}" for b in bad)
            decoded.append(out)
        else:
            decoded.append([_plain(v) for v in values])
    if errors:
        raise ProblemError(errors)
    names = list(columns)
    return [{k: v for k, v in zip(names, row, strict=True) if v is not _MISSING} for row in zip(*decoded, strict=True)]


def _table_locator(labels: dict[str, Any], source: str) -> Locator:
    """Name an error location by file, row, id and column."""

    def render(loc: tuple[str | int, ...], data: Any) -> str:
        if len(loc) >= 2 and loc[0] in labels and isinstance(loc[1], int):
            table, i = str(loc[0]), loc[1]
            where = str(labels[table](i))
            rec = data.get(table, [])[i] if i < len(data.get(table, [])) else {}
            if isinstance(rec, dict) and isinstance(rec.get("id"), str):
                where += f" (id {shown_id(rec['id'])})"
            if len(loc) >= 3:
                where += f", column {loc[2]}"
            if len(loc) >= 4 and isinstance(loc[3], int):
                where += f" (item {loc[3] + 1})"
            return where
        if loc and loc[0] in ("options", "taxonomy"):
            return f"{source}/{_SETTINGS}: " + ".".join(map(str, loc))
        return source + ("." + ".".join(map(str, loc)) if loc else "")

    return render


def problem_from_tables(
    tables: dict[str, dict[str, list[Any]]],
    *,
    taxonomy: Any = None,
    options: Any = None,
    source: str = "tables",
    labels: dict[str, Any] | None = None,
) -> Problem:
    """Validate columnar tables (table -> column -> values) into a Problem.

    Parameters
    ----------
    tables
        Columns per table, with the encodings of this module; ``None`` or ``""`` = not given.
    taxonomy, options
        The Problem's non-table fields.
    source
        Names the input in messages.
    labels
        Per table, a function naming row ``i`` (default ``"TABLE row i+1"``).

    """
    labels = dict(labels or {})
    for name in tables:
        if name not in COLUMNS:
            raise ProblemError([f"{source}: unknown table {name!r} (known: {', '.join(COLUMNS)})"])
        labels.setdefault(name, _row_label(name))
    data: dict[str, Any] = {name: table_rows(name, cols, label=labels[name]) for name, cols in tables.items()}
    if taxonomy is not None:
        data["taxonomy"] = taxonomy
    if options is not None:
        data["options"] = options
    return Problem.from_dict(data, source=source, locator=_table_locator(labels, source))


def _find(folder: Path, name: str) -> Path | None:
    found = [p for p in (folder / f"{name}.csv", folder / f"{name}.parquet") if p.exists()]
    if len(found) > 1:
        raise ProblemError([f"{folder}: both {name}.csv and {name}.parquet given; keep one"])
    return found[0] if found else None


def _read_csv(path: Path) -> dict[str, list[Any]]:
    text = read_text(path)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    bad: list[str] = []
    try:
        header = next(reader, None)
        if header is None:
            raise ProblemError([f"{path}: file is empty (expected a header row)"])
        header = [h.strip() for h in header]
        columns: dict[str, list[Any]] = {h: [] for h in header}
        if len(columns) != len(header):
            dup = sorted({h for h in header if header.count(h) > 1})
            raise ProblemError([f"{path} line 1: column {d!r} given twice" for d in dup])
        lists = list(columns.values())
        for row in reader:
            if not row:
                bad.append(f"{path} line {reader.line_num}: empty line inside the table")
            elif len(row) != len(header):
                bad.append(f"{path} line {reader.line_num}: {len(row)} cells, the header has {len(header)}")
            else:
                for target, cell in zip(lists, row, strict=True):
                    target.append(cell)
            if len(bad) >= MAX_ROW_ERRORS:
                bad.append(f"{path}: stopped reading after {MAX_ROW_ERRORS} bad lines")
                break
    except csv.Error as exc:
        raise ProblemError([*bad, f"{path} line {reader.line_num}: malformed CSV: {exc}"]) from None
    if bad:
        raise ProblemError(bad)
    return columns


def _read_parquet(path: Path) -> dict[str, list[Any]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        raise ProblemError([f"{path}: not a readable Parquet file: {exc}"]) from None
    return {name: table.column(name).to_pylist() for name in table.column_names}


def read_columns(path: str | Path) -> dict[str, list[Any]]:
    """Read one CSV or Parquet table (by suffix) as columns of raw cells; errors name the file and line."""
    path = Path(path)
    return _read_parquet(path) if path.suffix == ".parquet" else _read_csv(path)


def read_tables(folder: str | Path) -> Problem:
    """Load a problem from a folder of CSV or Parquet tables (see the module's notes)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ProblemError([f"{folder}: not a folder"])
    tables: dict[str, dict[str, list[Any]]] = {}
    labels: dict[str, Any] = {}
    for name in COLUMNS:
        path = _find(folder, name)
        if path is None:
            if name in _REQUIRED_TABLES:
                raise ProblemError([f"{folder}: missing table {name}.csv or {name}.parquet"])
            continue
        if path.suffix == ".csv":
            tables[name] = _read_csv(path)
            labels[name] = lambda i, p=path: f"{p} line {i + 2}"
        else:
            tables[name] = _read_parquet(path)
            labels[name] = _row_label(str(path))
    settings: dict[str, Any] = {}
    if (folder / _SETTINGS).exists():
        raw = read_json(folder / _SETTINGS)
        if not isinstance(raw, dict) or set(raw) - {"taxonomy", "options"}:
            raise ProblemError([f"{folder / _SETTINGS}: must be an object with only 'taxonomy' and 'options'"])
        settings = raw
    taxonomy = settings.get("taxonomy")
    if isinstance(taxonomy, str) and taxonomy != "builtin":
        taxonomy = load_taxonomy_file(folder, taxonomy, source=str(folder / _SETTINGS))
    return problem_from_tables(tables, taxonomy=taxonomy, options=settings.get("options"), source=str(folder),
                               labels=labels)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ";".join(map(str, value))
    return str(value)


def write_tables(tables: dict[str, dict[str, list[Any]]], folder: str | Path, *, fmt: str = "csv",
                 settings: dict[str, Any] | None = None) -> list[Path]:
    """Write tables to ``folder`` as ``fmt`` (``"csv"`` or ``"parquet"``), each file atomically.

    List fields are written as lists in Parquet and ``;``-joined in CSV;
    ``availability`` as ``start/end`` intervals in both. Returns the paths written.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for name, cols in tables.items():
        path = folder / f"{name}.{fmt}"
        if fmt == "csv":
            def write(tmp: str, cols: dict[str, list[Any]] = cols) -> None:
                with open(tmp, "w", encoding="utf-8", newline="") as fh:
                    w = csv.writer(fh, lineterminator="\n")
                    w.writerow(cols)
                    w.writerows(zip(*([_cell(v) for v in vals] for vals in cols.values()), strict=True))
        elif fmt == "parquet":
            def write(tmp: str, cols: dict[str, list[Any]] = cols) -> None:
                import pyarrow as pa
                import pyarrow.parquet as pq

                arrays = {c: (pa.array([";".join(v) for v in vals], pa.string()) if c == "availability"
                              else pa.array(vals)) for c, vals in cols.items()}
                pq.write_table(pa.table(arrays), tmp, compression="zstd")
        else:
            raise ValueError(f"unknown table format {fmt!r} (csv or parquet)")
        write_atomic(path, write)
        written.append(path)
    if settings is not None:
        path = folder / _SETTINGS
        write_atomic(path, lambda tmp: Path(tmp).write_text(json.dumps(settings, indent=1) + "\n", encoding="utf-8"))
        written.append(path)
    return written

