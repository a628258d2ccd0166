"""A problem as a folder of tables (CSV, Parquet or Excel), for real data exports.

A folder holds one file per table, named after SPEC.md's Problem fields:
``volunteers`` and ``demands`` (required), ``areas``, ``pinned``, ``forbidden``
and ``previous`` (optional), each ``NAME.csv``, ``NAME.parquet`` or
``NAME.xlsx`` (one of them; a workbook's only sheet, or its sheet named after
the table). Or the folder holds one workbook (any name) with a sheet per table,
each sheet named after its table. An optional ``settings.json`` gives the
fields that are not tables and how to read the files
(:mod:`matcher.io.settings`): ``taxonomy``, ``options``, ``timezone``, the CSV
``encoding``, names of files and sheets (``tables``) and of columns
(``columns``) meaning SPEC's, and the ``extra_columns`` passed through to the
dispatcher's tables. Any other file, sheet or column is an error with a "did
you mean" (a misnamed ``pined.csv`` would otherwise be ignored, and its
accepted assignments lost).

Columns are SPEC.md's field names; each cell is read strictly by its column's
kind (:mod:`matcher.io.cells`: numbers, whole numbers, ``true``/``false``,
ISO 8601 times, codes joined by ``;``, ``start/end`` intervals). CSV files are
UTF-8 (a byte-order mark is allowed), or the encoding the settings name, with a
header row; header cells are trimmed.

Errors name the file (and sheet), the row (CSV: its physical line, the header
being line 1, so a quoted cell holding a line break counts as the lines it
spans; Parquet: the row number counting from 1; Excel: its row number), the
record's id and the column.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from matcher.errors import ProblemError
from matcher.io.assemble import Loaded, RawSource, assemble
from matcher.io.columns import COLUMNS, NETWORK_COLUMNS, RowLabel, did_you_mean, road_network, row_label
from matcher.io.durable import BOM, write_atomic
from matcher.io.files import file_digests, load_taxonomy_file, read_json, read_text
from matcher.io.settings import Settings, parse_settings
from matcher.io.xlsx import read_workbook
from matcher.model import Problem

__all__ = ["SETTINGS", "TABLE_SUFFIXES", "RawTable", "read_columns", "read_folder", "read_network", "read_tables",
           "write_tables"]

REQUIRED_TABLES = ("volunteers", "demands")
SETTINGS = "settings.json"
TABLE_SUFFIXES = (".csv", ".parquet", ".xlsx")
MAX_ROW_ERRORS = 50
"""A CSV file stops being read after this many malformed lines (all are reported)."""


@dataclass(frozen=True)
class RawTable:
    """One table as read: its columns of raw cells, and how to name row ``i`` in messages."""

    columns: dict[str, list[Any]]
    label: RowLabel


def _read_csv(path: Path, encoding: str = "utf-8") -> RawTable:
    """A CSV table: read by Arrow's CSV reader when the file is clean UTF-8, else line by line for exact messages."""
    if encoding.lower().replace("_", "-") not in ("utf-8", "utf8"):
        return _read_csv_lines(path, encoding)
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


def _read_csv_lines(path: Path, encoding: str = "utf-8") -> RawTable:
    text = read_text(path, encoding, hint=ENCODING_HINT if encoding == "utf-8" else "")
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

    try:  # (one file: ParquetFile, not read_table, which imports pyarrow.dataset and pandas: 0.4 s)
        with pq.ParquetFile(path) as file:
            table = file.read(use_pandas_metadata=False)
    except (OSError, pa.ArrowException):
        table = None
    try:
        if table is None:  # a bad file: read_table words the reason as it always has
            table = pq.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        raise ProblemError([f"{path}: not a readable Parquet file: {exc}"]) from None
    return RawTable({name: table.column(name).to_pylist() for name in table.column_names}, row_label(str(path)))


def read_columns(path: str | Path, encoding: str = "utf-8") -> RawTable:
    """Read one CSV or Parquet table (by suffix) as columns of raw cells; errors name the file and line.

    ``encoding`` is the CSV file's (``"gb18030"`` for a Chinese export; UTF-8 may start with a byte-order mark).

    Raises
    ------
    ProblemError
        For an unreadable or malformed file, naming it and the line.

    """
    path = Path(path)
    return _read_parquet(path) if path.suffix == ".parquet" else _read_csv(path, encoding)


ENCODING_HINT = ', or name its encoding in settings.json ("encoding": "gb18030")'
"""Added to the message for a CSV file that is not UTF-8."""


def _settings(folder: Path) -> Settings:
    path = folder / SETTINGS
    return parse_settings(read_json(path), str(path)) if path.exists() else Settings()


def _classify(folder: Path, settings: Settings) -> tuple[dict[str, list[Path]], list[Path]]:
    """The folder's table files by SPEC table, and its workbooks of several tables; unknown files are errors."""
    taxonomy = settings.taxonomy
    allowed = {SETTINGS} | ({Path(taxonomy).parts[0]} if isinstance(taxonomy, str) and taxonomy != "builtin"
                            else set())
    network = settings.travel.get("network") if isinstance(settings.travel, dict) else None
    if isinstance(network, str):  # a road network named by path (SPEC v2), read by read_network
        allowed.add(Path(network).parts[0])
    known = [f"{t}{fmt}" for t in (*COLUMNS, *NETWORK_COLUMNS) for fmt in TABLE_SUFFIXES] + [SETTINGS]
    files: dict[str, list[Path]] = {}
    workbooks: list[Path] = []
    errors: list[str] = []
    for p in sorted(folder.iterdir()):
        if p.name.startswith(".") or p.name in allowed:
            continue
        table = settings.table_of(p.stem) if p.suffix in TABLE_SUFFIXES else None
        if table is not None:
            files.setdefault(table, []).append(p)
        elif p.suffix == ".xlsx":
            workbooks.append(p)
        else:
            errors.append(f"{folder}: unknown file {p.name!r}{did_you_mean(p.name, known)} (a folder of tables holds "
                          f"{', '.join(f'{t}.csv' for t in COLUMNS)}, or .parquet or .xlsx, a workbook with a "
                          f"sheet per table, and {SETTINGS})")
    errors += [f"{folder}: both {' and '.join(p.name for p in ps)} given; keep one"
               for ps in files.values() if len(ps) > 1]
    if errors:
        raise ProblemError(errors)
    return files, workbooks


def _one_sheet(path: Path, table: str, settings: Settings) -> RawSource:
    """The table of a workbook named after it: its only sheet, or the sheet named after the table."""
    sheets = read_workbook(path)
    named = [s for s in sheets if settings.table_of(s) == table]
    if len(sheets) != 1 and len(named) != 1:
        raise ProblemError([f"{path}: {len(sheets)} sheets ({', '.join(map(repr, sheets))}); name the sheet that "
                            f"holds the table {table!r}, or keep one sheet"])
    title = named[0] if len(named) == 1 else next(iter(sheets))
    columns, label = sheets[title]
    return RawSource(columns, label, f"{path} sheet {title!r}")


def _read_folder(folder: Path, settings: Settings) -> tuple[dict[str, RawSource], set[str], list[Path]]:
    """Every table of the folder as raw columns; which came from Excel; the files read."""
    files, workbooks = _classify(folder, settings)
    raw: dict[str, RawSource] = {}
    excel: set[str] = set()
    errors: list[str] = []
    for table, (path,) in files.items():
        if path.suffix == ".xlsx":
            raw[table] = _one_sheet(path, table, settings)
            excel.add(table)
        else:
            t = read_columns(path, encoding=settings.encoding)
            raw[table] = RawSource(t.columns, t.label, str(path))
    for book in workbooks:
        sheets = read_workbook(book)
        of_sheet = {title: settings.table_of(title) for title in sheets}
        if not any(of_sheet.values()):
            errors.append(f"{folder}: unknown file {book.name!r}{did_you_mean(book.stem, tuple(COLUMNS))} (a workbook "
                          f"of several tables names each sheet after its table: {', '.join(COLUMNS)}; or map the "
                          "sheet names in settings.json \"tables\")")
            continue
        for title, sheet_table in of_sheet.items():
            if sheet_table is None:
                errors.append(f"{book} sheet {title!r}: not a table{did_you_mean(title, tuple(COLUMNS))} (known: "
                              f"{', '.join(COLUMNS)}; other names are mapped in settings.json \"tables\")")
            elif sheet_table in raw:
                errors.append(f"{folder}: table {sheet_table} given twice: {raw[sheet_table].where} and {book} "
                              f"sheet {title!r}; keep one")
            else:
                columns, label = sheets[title]
                raw[sheet_table] = RawSource(columns, label, f"{book} sheet {title!r}")
                excel.add(sheet_table)
    if errors:
        raise ProblemError(errors)
    return raw, excel, [p for ps in files.values() for p in ps] + workbooks


def read_folder(folder: str | Path) -> Loaded:
    """Load a folder of tables (see the module's notes): the problem, its personal columns, the files read.

    Raises
    ------
    ProblemError
        For a missing or unknown file or sheet, bad settings, a malformed table, or any bad cell or record,
        each named by file (and sheet), line or row, id and column.

    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ProblemError([f"{folder}: not a folder"])
    settings = _settings(folder)
    raw, excel, paths = _read_folder(folder, settings)
    missing = [name for name in REQUIRED_TABLES if name not in raw]
    if missing:
        raise ProblemError([f"{folder}: missing table {name}.csv or {name}.parquet (or .xlsx, or a sheet "
                            f"{name!r} of a workbook)" for name in missing])
    taxonomy = settings.taxonomy
    if isinstance(taxonomy, str) and taxonomy != "builtin":
        taxonomy = load_taxonomy_file(folder, taxonomy, source=str(folder / SETTINGS))
        paths.append(folder / str(settings.taxonomy))
    if (folder / SETTINGS).exists():
        paths.append(folder / SETTINGS)
    travel = settings.travel
    if isinstance(travel, dict) and isinstance(travel.get("network"), str):
        if any(t in raw for t in NETWORK_COLUMNS):
            raise ProblemError([f"{folder / SETTINGS}: travel.network names {travel['network']!r}, and the folder "
                                "has nodes or edges tables too; keep one"])
        settings = replace(settings, travel={**travel, "network": read_network(folder, travel["network"],
                                                                                source=str(folder / SETTINGS))})
    problem, personal = assemble(raw, settings, source=str(folder), taxonomy=taxonomy,
                                 whole_numbers_are_text=frozenset(excel))
    return Loaded(problem, personal, file_digests(sorted(paths)), str(folder))


def read_network(base: Path, name: str, *, source: str) -> dict[str, Any]:
    """A road network named by path (SPEC v2's ``travel.network`` as a string), relative to ``base``.

    The path is a JSON file holding ``nodes``, ``edges`` (and optionally ``speed_kmh``), or a folder holding
    ``nodes`` and ``edges`` tables (CSV or Parquet, the columns of a table folder's). It must stay inside
    ``base``. Returns the network's data for :class:`~matcher.model.RoadNetwork`.

    Raises
    ------
    ProblemError
        When the path leaves ``base`` or does not exist, or a table or cell is bad (naming file and line).

    """
    target = (base / name).resolve()
    if not target.is_relative_to(base.resolve()):
        raise ProblemError([f"{source}: travel.network: path {name!r} leaves the problem's folder"])
    if target.is_file():
        data = read_json(target)
        if not isinstance(data, dict):
            raise ProblemError([f"{target}: a road network is an object with nodes and edges"])
        return data
    if not target.is_dir():
        raise ProblemError([f"{source}: travel.network: no file or folder {name!r} next to it"])
    found = {t: next((target / f"{t}{s}" for s in (".csv", ".parquet") if (target / f"{t}{s}").exists()), None)
             for t in NETWORK_COLUMNS}
    missing = [t for t, p in found.items() if p is None]
    if missing:
        raise ProblemError([f"{target}: missing table {t}.csv or {t}.parquet (a road network)" for t in missing])
    raws = {t: read_columns(p) for t, p in found.items() if p is not None}
    return road_network({t: r.columns for t, r in raws.items()}, {t: r.label for t, r in raws.items()})


def read_tables(folder: str | Path) -> Problem:
    """Load a problem from a folder of CSV, Parquet or Excel tables (see the module's notes).

    Raises
    ------
    ProblemError
        For a missing or unknown file, a malformed table, or any bad cell or record, each named by file,
        line, id and column.

    """
    return read_folder(folder).problem


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
                    fh.write(BOM)  # (so that Excel reads it as UTF-8)
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

