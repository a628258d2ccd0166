"""Excel workbooks (``.xlsx``): sheets read as tables (openpyxl), a run's tables written as a workbook (XlsxWriter).

Reading: the first row of a sheet is its header; each row below is a record,
named in messages as ``FILE sheet 'NAME' row N`` with Excel's own row number.
Trailing empty rows and columns (formatting left by Excel) are ignored; an
empty row inside the table, or a column with data and no header, is an error.
Cells keep Excel's types (numbers, true/false, date-times), and each is read
strictly by its column's kind like a Parquet cell (:mod:`matcher.io.cells`),
with one exception: a whole number in a text column (an id typed as 10023) is
read as its digits, as Excel shows it. A date-time cell carries no offset, so
times need the ``timezone`` setting (or ISO 8601 text with an offset).

Writing (:func:`workbook_bytes`, written by :mod:`matcher.io.durable`): one sheet per table, the header row frozen,
numbers as numbers; the same tables give the same bytes (the file's dates are
fixed).
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from matcher.errors import ProblemError
from matcher.io.cells import KINDS
from matcher.io.columns import RowLabel

__all__ = ["NUMERIC_COLUMNS", "WORKBOOK_MAX_CELLS", "read_workbook", "typed_value", "whole_numbers_as_text",
           "workbook_bytes", "workbook_cells"]

NUMERIC_COLUMNS = frozenset({"priority", "travel_km", "missing", "demanded", "filled", "fill_rate", "hours",
                             "headcount", "tasks", "value"})
"""Output columns holding numbers (also any ``unmet_*`` column): numbers in a workbook and in frames."""
FIXED_TIME = datetime(2000, 1, 1)
"""The creation time written into every workbook, so that its bytes depend on its tables only."""
WORKBOOK_MAX_CELLS = 200_000
"""A run writes ``run.xlsx`` only up to this many cells (about 20,000 assignments with their roster): Python
writes a workbook at 5-20 µs a cell, which a district's tables (over two million cells) cannot afford within
its time limit. The CSV files always hold the same tables."""
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


def typed_value(column: str, value: Any) -> Any:
    """An output cell as a number where its column holds numbers (``"0.8125"`` -> 0.8125), else as given."""
    if isinstance(value, str) and (column in NUMERIC_COLUMNS or column.startswith("unmet_")) and _NUMBER.match(value):
        return float(value) if "." in value else int(value)
    return value


def read_workbook(path: Path) -> dict[str, tuple[dict[str, list[Any]], RowLabel]]:
    """Every sheet of a workbook as columns of raw cells, with a function naming row ``i``, by sheet name.

    Raises
    ------
    ProblemError
        For a file that is not an ``.xlsx`` workbook, a sheet without a header, a header given twice, a
        column with data and no header, or an empty row inside a table.

    """
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # zipfile.BadZipFile, KeyError, openpyxl's InvalidFileException, ...
        raise ProblemError([f"{path}: not a readable Excel workbook (.xlsx; save an .xls file as .xlsx): "
                            f"{type(exc).__name__}"]) from None
    try:
        return {ws.title: _sheet(path, ws.title, ws.iter_rows(min_row=1, values_only=True)) for ws in book.worksheets}
    finally:
        book.close()


def _sheet(path: Path, title: str, rows: Any) -> tuple[dict[str, list[Any]], RowLabel]:
    where = f"{path} sheet {title!r}"
    header_row = next(rows, None)
    raw_header = list(header_row or ())
    while raw_header and (raw_header[-1] is None or str(raw_header[-1]).strip() == ""):
        raw_header.pop()
    if not raw_header:
        raise ProblemError([f"{where}: row 1 is empty (expected a header row)"])
    header = ["" if h is None else str(h).strip() for h in raw_header]
    errors = [f"{where} row 1: column {i + 1} has no header" for i, h in enumerate(header) if not h]
    errors += [f"{where} row 1: column {h!r} given twice" for h in sorted({h for h in header if h and
                                                                           header.count(h) > 1})]
    if errors:
        raise ProblemError(errors)
    data: list[tuple[int, tuple[Any, ...]]] = []
    blank: int | None = None
    for number, row in enumerate(rows, start=2):
        cells = tuple(row)
        if all(c is None or (isinstance(c, str) and not c.strip()) for c in cells):
            blank = number if blank is None else blank
            continue
        if blank is not None:
            raise ProblemError([f"{where} row {blank}: empty row inside the table"])
        extra = [c for c in cells[len(header):] if c is not None and str(c).strip()]
        if extra:
            raise ProblemError([f"{where} row {number}: a cell right of the last column "
                                f"({len(header)} columns have a header)"])
        data.append((number, cells[:len(header)] + (None,) * (len(header) - len(cells))))
    columns: dict[str, list[Any]] = {h: [] for h in header}
    lists = list(columns.values())
    for _, cells in data:
        for target, cell in zip(lists, cells, strict=True):
            target.append(cell)
    numbers = [n for n, _ in data]
    return columns, lambda i: f"{where} row {numbers[i]}"


def whole_numbers_as_text(columns: dict[str, list[Any]]) -> dict[str, list[Any]]:
    """Excel's whole numbers in text columns (an id typed as 10023) as their digits; other cells unchanged."""
    out = dict(columns)
    for col, values in columns.items():
        if KINDS.get(col) == "text" and any(type(v) is int for v in values):
            out[col] = [str(v) if type(v) is int else v for v in values]
    return out


def workbook_cells(tables: Mapping[str, tuple[Sequence[str], Sequence[Sequence[Any]]]]) -> int:
    """How many cells :func:`workbook_bytes` would write for ``tables``."""
    return sum(len(header) * (1 + len(rows)) for header, rows in tables.values())


def workbook_bytes(tables: Mapping[str, tuple[Sequence[str], Sequence[Sequence[Any]]]]) -> bytes:
    """``tables`` (sheet name -> header and rows) as the bytes of one ``.xlsx`` workbook (XlsxWriter).

    Numbers stay numbers (also text cells of :data:`NUMERIC_COLUMNS`), and text stays text (a cell
    starting with ``=`` is not a formula); the header row is frozen; the same tables give the same bytes.
    Writing takes about 5-20 µs a cell (:data:`WORKBOOK_MAX_CELLS`).
    """
    import xlsxwriter

    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"constant_memory": True, "strings_to_numbers": False,
                                     "strings_to_formulas": False, "strings_to_urls": False})
    book.set_properties({"author": "matcher", "created": FIXED_TIME})
    bold = book.add_format({"bold": True})
    for name, (header, rows) in tables.items():
        sheet = book.add_worksheet(name[:31])  # (Excel's limit on a sheet's name)
        sheet.freeze_panes(1, 0)
        for i, h in enumerate(header):
            sheet.set_column(i, i, max(10, min(40, len(str(h)) + 4)))
        sheet.write_row(0, 0, list(header), bold)
        numeric = [i for i, h in enumerate(header) if h in NUMERIC_COLUMNS or h.startswith("unmet_")]
        for r, row in enumerate(rows, start=1):
            if numeric:
                row = list(row)
                for i in numeric:
                    row[i] = typed_value(header[i], row[i])
            sheet.write_row(r, 0, row)
    book.close()
    return buf.getvalue()
