"""A problem as a folder of tables (CSV or Parquet), for real data exports.

A folder holds one file per table, named after SPEC.md's Problem fields:
``volunteers`` and ``demands`` (required), ``areas``, ``pinned``, ``forbidden``
and ``previous`` (optional), each either ``NAME.csv`` or ``NAME.parquet``
(not both). An optional ``settings.json`` gives the fields that are not tables:
``{"taxonomy": "builtin", "options": {...}, "timezone": "Asia/Shanghai"}``. Any
other file in the folder is an error with a "did you mean" (a misnamed
``pined.csv`` would otherwise be ignored, and its accepted assignments lost).

Columns are SPEC.md's field names; each cell is read strictly by its column's
kind (:mod:`matcher.io.cells`: numbers, whole numbers, ``true``/``false``,
ISO 8601 times, codes joined by ``;``, ``start/end`` intervals). CSV files are
UTF-8 (a byte-order mark is allowed) with a header row; header cells are trimmed.

Errors name the file, the row (CSV: its physical line, the header being line 1,
so a quoted cell holding a line break counts as the lines it spans; Parquet: the
row number counting from 1), the record's id and the column.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from matcher.errors import ProblemError
from matcher.io.columns import (
    COLUMNS,
    NETWORK_COLUMNS,
    RowLabel,
    did_you_mean,
    problem_from_tables,
    road_network,
    row_label,
)
from matcher.io.durable import write_atomic
from matcher.io.files import load_taxonomy_file, read_json, read_text
from matcher.model import Problem

__all__ = ["SETTINGS", "RawTable", "read_columns", "read_tables", "write_tables"]

REQUIRED_TABLES = ("volunteers", "demands")
SETTINGS = "settings.json"
SETTINGS_KEYS = ("taxonomy", "options", "timezone", "travel")
MAX_ROW_ERRORS = 50
"""A CSV file stops being read after this many malformed lines (all are reported)."""


@dataclass(frozen=True)
class RawTable:
    """One table as read: its columns of raw cells, and how to name row ``i`` in messages."""

    columns: dict[str, list[Any]]
    label: RowLabel


def _find(folder: Path, name: str) -> Path | None:
    found = [p for p in (folder / f"{name}.csv", folder / f"{name}.parquet") if p.exists()]
    if len(found) > 1:
        raise ProblemError([f"{folder}: both {name}.csv and {name}.parquet given; keep one"])
    return found[0] if found else None


def _read_csv(path: Path) -> RawTable:
    """A CSV table: read by Arrow's CSV reader when the file is clean, else line by line for exact messages."""
    fast = _read_csv_arrow(path)
    return fast if fast is not None else _read_csv_lines(path)


def _read_csv_arrow(path: Path) -> RawTable | None:
    """The clean case, read in C++ as text columns (cells exactly as the line reader gives them), or None."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh, strict=True)
            header = next(reader, None)
            if not header or len(set(header)) != len(header) or reader.line_num != 1:
                return None
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(column_names=header, skip_rows=1, encoding="utf8"),
            parse_options=pacsv.ParseOptions(newlines_in_values=True, ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(header, pa.string()),
                                                 strings_can_be_null=False, quoted_strings_can_be_null=False))
    except (OSError, UnicodeDecodeError, csv.Error, pa.ArrowException):
        return None
    columns = {h.strip(): table.column(h).to_pylist() for h in header}
    if len(columns) != len(header):
        return None

    def label(i: int) -> str:  # physical lines are counted only when a message needs one
        return _read_csv_lines(path).label(i)

    return RawTable(columns, label)


def _read_csv_lines(path: Path) -> RawTable:
    text = read_text(path)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    bad: list[str] = []
    lines: list[int] = []
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
        last = reader.line_num
        for row in reader:
            first, last = last + 1, reader.line_num  # a quoted cell may hold line breaks: count physical lines
            where = f"{path} line {first}" if first == last else f"{path} lines {first}-{last}"
            if not row:
                bad.append(f"{where}: empty line inside the table")
            elif len(row) != len(header):
                bad.append(f"{where}: {len(row)} cells, the header has {len(header)}")
            else:
                for target, cell in zip(lists, row, strict=True):
                    target.append(cell)
                lines.append(first)
            if len(bad) >= MAX_ROW_ERRORS:
                bad.append(f"{path}: stopped reading after {MAX_ROW_ERRORS} bad lines")
                break
    except csv.Error as exc:
        raise ProblemError([*bad, f"{path} line {reader.line_num}: malformed CSV: {exc}"]) from None
    if bad:
        raise ProblemError(bad)
    return RawTable(columns, lambda i: f"{path} line {lines[i]}")


def _read_parquet(path: Path) -> RawTable:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        raise ProblemError([f"{path}: not a readable Parquet file: {exc}"]) from None
    return RawTable({name: table.column(name).to_pylist() for name in table.column_names}, row_label(str(path)))


def read_columns(path: str | Path) -> RawTable:
    """Read one CSV or Parquet table (by suffix) as columns of raw cells; errors name the file and line.

    Raises
    ------
    ProblemError
        For an unreadable or malformed file, naming it and the line.

    """
    path = Path(path)
    return _read_parquet(path) if path.suffix == ".parquet" else _read_csv(path)


def _settings(folder: Path) -> dict[str, Any]:
    path = folder / SETTINGS
    if not path.exists():
        return {}
    raw = read_json(path)
    if not isinstance(raw, dict):
        raise ProblemError([f"{path}: must be an object with the keys {', '.join(SETTINGS_KEYS)}"])
    unknown = [k for k in raw if k not in SETTINGS_KEYS]
    if unknown:
        raise ProblemError([f"{path}: unknown key {k!r}{did_you_mean(k, SETTINGS_KEYS)} "
                            f"(known: {', '.join(SETTINGS_KEYS)})" for k in unknown])
    if raw.get("timezone") is not None and not isinstance(raw["timezone"], str):
        raise ProblemError([f"{path}: timezone: must be an IANA name such as 'Asia/Shanghai'"])
    return raw


def _check_files(folder: Path, settings: dict[str, Any]) -> None:
    """Every file in the folder is a table, the settings, or the taxonomy they name; else an error."""
    known = [f"{t}.{fmt}" for t in (*COLUMNS, *NETWORK_COLUMNS) for fmt in ("csv", "parquet")] + [SETTINGS]
    taxonomy = settings.get("taxonomy")
    allowed = set(known) | ({Path(taxonomy).parts[0]} if isinstance(taxonomy, str) and taxonomy != "builtin"
                            else set())
    errors = [f"{folder}: unknown file {p.name!r}{did_you_mean(p.name, known)} (a folder of tables holds "
              f"{', '.join(f'{t}.csv' for t in COLUMNS)} or .parquet, and {SETTINGS})"
              for p in sorted(folder.iterdir()) if not p.name.startswith(".") and p.name not in allowed]
    if errors:
        raise ProblemError(errors)


def read_tables(folder: str | Path) -> Problem:
    """Load a problem from a folder of CSV or Parquet tables (see the module's notes).

    Raises
    ------
    ProblemError
        For a missing or unknown file, a malformed table, or any bad cell or record, each named by file,
        line, id and column.

    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ProblemError([f"{folder}: not a folder"])
    settings = _settings(folder)
    _check_files(folder, settings)
    tables: dict[str, dict[str, list[Any]]] = {}
    labels: dict[str, RowLabel] = {}
    for name in COLUMNS:
        path = _find(folder, name)
        if path is None:
            if name in REQUIRED_TABLES:
                raise ProblemError([f"{folder}: missing table {name}.csv or {name}.parquet"])
            continue
        raw = read_columns(path)
        tables[name], labels[name] = raw.columns, raw.label
    taxonomy = settings.get("taxonomy")
    if isinstance(taxonomy, str) and taxonomy != "builtin":
        taxonomy = load_taxonomy_file(folder, taxonomy, source=str(folder / SETTINGS))
    return problem_from_tables(tables, taxonomy=taxonomy, options=settings.get("options"),
                               timezone=settings.get("timezone"), travel=_travel(folder, settings),
                               source=str(folder), labels=labels)


def _travel(folder: Path, settings: dict[str, Any]) -> Any:
    """``settings.json``'s ``travel``, with the folder's road network (``nodes`` and ``edges`` tables) in it."""
    travel = settings.get("travel")
    found = {name: _find(folder, name) for name in NETWORK_COLUMNS}
    if not any(found.values()):
        return travel
    if found["nodes"] is None:
        raise ProblemError([f"{folder}: an edges table needs a nodes table (nodes.csv or nodes.parquet)"])
    if travel is not None and not isinstance(travel, dict):
        raise ProblemError([f"{folder / SETTINGS}: travel: must be an object (speed_kmh, detour)"])
    raws = {name: read_columns(path) for name, path in found.items() if path is not None}
    network = road_network({n: r.columns for n, r in raws.items()}, {n: r.label for n, r in raws.items()})
    return {**(travel or {}), "network": {**(travel or {}).get("network", {}), **network}}


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
        path = folder / SETTINGS
        write_atomic(path, lambda tmp: Path(tmp).write_text(json.dumps(settings, indent=1) + "\n", encoding="utf-8"))
        written.append(path)
    return written

