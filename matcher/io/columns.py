"""Columnar tables (table → column → cells) into a validated :class:`~matcher.model.Problem`.

Every reader of tables (CSV and Parquet folders, and any other source of
columns) comes through :func:`problem_from_tables`: the columns are checked
(unknown ones named, with a "did you mean"; required ones present), each cell
is read strictly by its column's kind (:mod:`matcher.io.cells`), and the
records are validated by the contract's models. Errors name the file, the row
(CSV: its physical line, the header being line 1; Parquet: the row number
counting from 1), the record's id and the column.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Callable
from typing import Any

from matcher.errors import ProblemError
from matcher.io.cells import KINDS, MISSING, CellError, parse_cell, parse_column
from matcher.model import Area, Assignment, Demand, Edge, Locator, Node, Problem, Rating, Volunteer, shown_id, zone
from matcher.model.bulk import fast_problem_columns

__all__ = ["COLUMNS", "NETWORK_COLUMNS", "RowLabel", "column_name", "decode_columns", "did_you_mean",
           "problem_from_tables", "road_network", "row_label", "table_rows"]

log = logging.getLogger(__name__)

COLUMNS: dict[str, tuple[str, ...]] = {
    "areas": ("id", "lat", "lon", "community", "street"),
    "volunteers": ("id", "lat", "lon", "skills", "availability", "max_tasks", "max_hours", "max_travel_km",
                   "team_id", "insured", "recent_hours", "max_travel_minutes", "speed_kmh", "preferred_categories"),
    "demands": ("id", "area_id", "lat", "lon", "category", "required_skills", "headcount", "start", "end",
                "priority", "requires_insured", "team_id", "preferred_volunteers", "series_id", "min_headcount"),
    "pinned": ("volunteer_id", "demand_id"),
    "forbidden": ("volunteer_id", "demand_id"),
    "previous": ("volunteer_id", "demand_id"),
    "ratings": ("volunteer_id", "demand_id", "series_id", "stars", "at"),
}
"""The columns each table of a problem may have, in SPEC.md order (v2 columns last)."""

NETWORK_COLUMNS: dict[str, tuple[str, ...]] = {"nodes": ("id", "lat", "lon"), "edges": ("source", "target", "minutes")}
"""The tables of an optional road network (``Problem.travel.network``)."""

_MODELS: dict[str, type[Area | Volunteer | Demand | Assignment | Rating | Node | Edge]] = {
    "areas": Area, "volunteers": Volunteer, "demands": Demand,
    "pinned": Assignment, "forbidden": Assignment, "previous": Assignment, "ratings": Rating,
    "nodes": Node, "edges": Edge,
}
MAX_CELL_ERRORS = 200
"""A table stops being read after this many bad cells (all are reported, up to this many)."""

RowLabel = Callable[[int], str]
"""Names row ``i`` (from 0) of a table in messages: ``file line 5``, ``file row 4``."""


def row_label(where: str) -> RowLabel:
    """Names row ``i`` (from 0) as ``WHERE row i+1``, as Parquet and in-memory tables count rows."""
    return lambda i: f"{where} row {i + 1}"


def record_who(cell: Callable[[str], Any]) -> str:
    """How a message names a record after its row: `` (id 'v7')``, or `` (volunteer 'a', demand 'D1')``.

    The second for a table of pairs (pinned, forbidden, previous, ratings); ``""`` when its cells do not say.
    ``cell(column)`` is the record's raw cell in that column, or None.
    """
    def text(key: str) -> str | None:
        value = cell(key)
        return value if isinstance(value, str) and value.strip() else None

    if (rid := text("id")) is not None:
        return f" (id {shown_id(rid)})"
    vid, did = text("volunteer_id"), text("demand_id")
    if vid is not None and did is not None:
        return f" (volunteer {shown_id(vid)}, demand {shown_id(did)})"
    return ""


def did_you_mean(name: str, known: list[str] | tuple[str, ...]) -> str:
    """`` (did you mean 'x'?)`` for the known name closest to ``name`` (case aside), else ``""``."""
    lower = {k.lower(): k for k in known}
    close = difflib.get_close_matches(name.lower(), list(lower), n=1, cutoff=0.6)
    return f" (did you mean {lower[close[0]]!r}?)" if close else ""


def table_rows(name: str, columns: dict[str, list[Any]], *, label: RowLabel | None = None,
               timezone: str | None = None, warnings: list[str] | None = None) -> list[dict[str, Any]]:
    """One table's columns as SPEC records (dicts of JSON values), each cell read by its column's kind.

    ``label(i)`` names row ``i`` in messages; ``timezone`` (an IANA name) reads times written without an
    offset; ``warnings`` collects notes on cells read with a doubt (a list cell holding another separator).

    Raises
    ------
    ProblemError
        For unknown or missing columns, columns of different lengths, and every bad cell (up to
        :data:`MAX_CELL_ERRORS`), each naming file, row, id and column.

    """
    decoded = decode_columns(name, columns, label=label, timezone=timezone, warnings=warnings)
    names = list(decoded)
    return [{k: v for k, v in zip(names, row, strict=True) if v is not MISSING}
            for row in zip(*decoded.values(), strict=True)]


def decode_columns(name: str, columns: dict[str, list[Any]], *, label: RowLabel | None = None,
                   timezone: str | None = None, warnings: list[str] | None = None,
                   headers: dict[str, str] | None = None) -> dict[str, list[Any]]:
    """:func:`table_rows`'s cells by column: each column's values, ``MISSING`` where a cell is empty.

    ``label(i)`` names row ``i`` in messages; ``timezone`` (an IANA name) reads times written without an
    offset; ``warnings`` collects notes on cells read with a doubt (a list cell holding another separator);
    ``headers`` names a column renamed by the settings as written (``column 志愿者编号 (id)``).

    Raises
    ------
    ProblemError
        For unknown or missing columns, columns of different lengths, and every bad cell (up to
        :data:`MAX_CELL_ERRORS`), each naming file, row, id and column.

    """
    name_row = label or row_label(name)
    known = COLUMNS.get(name) or NETWORK_COLUMNS[name]
    unknown = [c for c in columns if c not in known]
    if unknown:
        raise ProblemError([f"{name}: unknown column {c!r}{did_you_mean(c, known)} "
                            f"(known: {', '.join(known)})" for c in unknown])
    required = [f for f, info in _MODELS[name].model_fields.items() if info.is_required()]
    missing = [f for f in required if f not in columns]
    if missing:
        raise ProblemError([f"{name}: missing column {c!r} (required: {', '.join(required)})" for c in missing])
    lengths = {len(v) for v in columns.values()}
    if len(lengths) > 1:
        raise ProblemError([f"{name}: columns have different lengths {sorted(lengths)}"])
    tz = zone(timezone) if timezone else None
    def where(i: int, col: str) -> str:
        return f"{name_row(i)}{record_who(lambda key: columns[key][i] if key in columns else None)}, " \
               f"column {column_name(col, headers)}"

    bad: list[tuple[int, str]] = []  # (row, message): given in row order, a row's columns in the table's order
    decoded: dict[str, list[Any]] = {}
    for col, values in columns.items():
        kind = KINDS[col]
        fast = parse_column(kind, values, tz)
        if fast is not None:
            decoded[col] = fast
            continue
        out: list[Any] = []
        for i, cell in enumerate(values):
            def warn(note: str, i: int = i, col: str = col) -> None:
                _warn(warnings, where(i, col), note)

            try:
                out.append(parse_cell(kind, cell, tz, warn))
            except CellError as exc:
                bad.append((i, f"{where(i, col)}: {exc}"))
                out.append(MISSING)
                if len(bad) >= MAX_CELL_ERRORS:
                    raise ProblemError([*_by_row(bad), f"{name}: stopped after {MAX_CELL_ERRORS} bad cells"]) from None
        decoded[col] = out
    if bad:
        raise ProblemError(_by_row(bad))
    return decoded


def _by_row(bad: list[tuple[int, str]]) -> list[str]:
    return [message for _, message in sorted(bad, key=lambda b: b[0])]


def column_name(col: str, headers: dict[str, str] | None) -> str:
    """A column in messages: ``id``, or ``志愿者编号 (id)`` where the settings renamed it."""
    return f"{headers[col]} ({col})" if headers and col in headers else col


def _warn(sink: list[str] | None, where: str, note: str) -> None:
    line = f"{where}: {note}"
    log.warning("%s", line)
    if sink is not None:
        sink.append(line)


def _table_locator(labels: dict[str, RowLabel], source: str, headers: dict[str, dict[str, str]]) -> Locator:
    """Name an error location by file, row, id and column."""

    def render(loc: tuple[str | int, ...], data: Any) -> str:
        if len(loc) >= 2 and loc[0] in labels and isinstance(loc[1], int):
            table, i = str(loc[0]), loc[1]
            where = str(labels[table](i))
            rows = data.get(table, []) if isinstance(data, dict) else []
            rec = rows[i] if i < len(rows) else {}
            if isinstance(rec, dict):
                where += record_who(rec.get)
            if len(loc) >= 3:
                where += f", column {column_name(str(loc[2]), headers.get(table))}"
            if len(loc) >= 4 and isinstance(loc[3], int):
                where += f" (item {loc[3] + 1})"
            return where
        if loc and loc[0] in ("options", "taxonomy", "timezone", "travel"):
            return f"{source}/settings.json: " + ".".join(map(str, loc))
        return source + ("." + ".".join(map(str, loc)) if loc else "")

    return render


def problem_from_tables(
    tables: dict[str, dict[str, list[Any]]],
    *,
    taxonomy: Any = None,
    options: Any = None,
    timezone: str | None = None,
    travel: Any = None,
    source: str = "tables",
    labels: dict[str, RowLabel] | None = None,
    headers: dict[str, dict[str, str]] | None = None,
) -> Problem:
    """Validate columnar tables (table -> column -> cells) into a Problem.

    Parameters
    ----------
    tables
        Cells per column per table (:mod:`matcher.io.cells` says what each column accepts); ``None`` or
        ``""`` = not given.
    taxonomy, options, timezone, travel
        The Problem's non-table fields; ``timezone`` (an IANA name) also reads the tables' times written
        without an offset.
    source
        Names the input in messages.
    labels
        Per table, a function naming row ``i`` (default ``"TABLE row i+1"``).
    headers
        Per table, the columns the settings renamed, as written (named so in messages).

    Raises
    ------
    ProblemError
        Naming file, row, id and column of every problem found.

    """
    labels = dict(labels or {})
    for name in tables:
        if name not in COLUMNS:
            raise ProblemError([f"{source}: unknown table {name!r}{did_you_mean(name, tuple(COLUMNS))} "
                                f"(known: {', '.join(COLUMNS)})"])
        labels.setdefault(name, row_label(name))
    if timezone is not None:
        try:
            zone(timezone)
        except ValueError as exc:
            raise ProblemError([f"{source}/settings.json: timezone: {exc}"]) from None
    warnings: list[str] = []
    headers = headers or {}
    decoded: dict[str, dict[str, list[Any]]] = {}
    errors: list[str] = []
    for name, cols in tables.items():  # every table's bad cells in one error, not the first table's alone
        try:
            decoded[name] = decode_columns(name, cols, label=labels[name], timezone=timezone, warnings=warnings,
                                           headers=headers.get(name))
        except ProblemError as exc:
            errors += exc.errors
    if errors:
        raise ProblemError(errors)
    rest = {key: value for key, value in (("taxonomy", taxonomy), ("options", options), ("timezone", timezone),
                                          ("travel", travel)) if value is not None}
    fast = None if warnings else fast_problem_columns(decoded, rest)
    if fast is not None:
        return fast
    data: dict[str, Any] = {name: [{k: v for k, v in zip(cols, row, strict=True) if v is not MISSING}
                                   for row in zip(*cols.values(), strict=True)] for name, cols in decoded.items()}
    data.update(rest)
    if warnings:
        data["warnings"] = warnings
    problem = Problem.from_dict(data, source=source, locator=_table_locator(labels, source, headers))
    for w in problem.warnings[len(warnings):]:  # (the cells' own warnings were logged as they were found)
        log.warning("%s", w)
    return problem


def road_network(tables: dict[str, dict[str, list[Any]]], labels: dict[str, RowLabel]) -> dict[str, Any]:
    """A road network's nodes and edges tables as the data of :class:`~matcher.model.RoadNetwork`.

    Raises
    ------
    ProblemError
        For a bad column or cell, naming file, row and column.

    """
    return {name: table_rows(name, tables[name], label=labels.get(name)) for name in NETWORK_COLUMNS
            if name in tables}

