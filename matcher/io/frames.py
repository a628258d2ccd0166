"""DataFrames and Arrow tables in and out: pandas, Polars, pyarrow, or anything with the Arrow C stream interface.

In: :func:`read_frames` takes one frame per SPEC table (by table name) and
reads it as a Parquet file is read: each column by its kind, strictly
(:mod:`matcher.io.cells`); a frame's row ``i`` is named ``volunteers frame row
i+1`` in messages. Any object with ``__arrow_c_stream__`` works (Polars,
pandas 2.2+, DuckDB results, pyarrow); a pandas DataFrame's index is dropped.
Timestamps with a zone are instants; timestamps without one need the
``timezone`` setting. ``settings`` takes what a folder's ``settings.json`` does
(:mod:`matcher.io.settings`): ``timezone``, ``taxonomy``, ``options``,
``columns`` (renaming), ``extra_columns`` (passed through).

Out: :func:`tables_to_frames` turns tables (header and rows) into pandas or
Polars DataFrames or Arrow tables, with numbers as numbers.

pandas and Polars are optional (``pip install 'matcher[frames]'``); pyarrow is
always there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from matcher.errors import ProblemError
from matcher.io.assemble import Loaded, RawSource, assemble
from matcher.io.columns import COLUMNS, did_you_mean, row_label
from matcher.io.settings import parse_settings
from matcher.io.xlsx import typed_value
from matcher.model import Problem

__all__ = ["FrameKind", "problem_from_frames", "read_frames", "tables_to_frames", "to_arrow"]

FrameKind = Literal["pandas", "polars", "arrow"]


def to_arrow(frame: Any, where: str) -> Any:
    """A frame as a ``pyarrow.Table``: pandas (without its index), Polars, pyarrow, or an Arrow C stream.

    Raises
    ------
    ProblemError
        For an object that is none of these, naming ``where``.

    """
    import pyarrow as pa

    if isinstance(frame, pa.Table):
        return frame
    if isinstance(frame, pa.RecordBatch):
        return pa.Table.from_batches([frame])
    if type(frame).__module__.split(".")[0] == "pandas" and hasattr(frame, "columns"):
        try:
            return pa.Table.from_pandas(frame, preserve_index=False)
        except (pa.ArrowException, TypeError, ValueError) as exc:
            raise ProblemError([f"{where}: cannot read this pandas DataFrame as Arrow: {exc}"]) from None
    if hasattr(frame, "__arrow_c_stream__"):
        try:
            return pa.RecordBatchReader.from_stream(frame).read_all()
        except (pa.ArrowException, TypeError, ValueError) as exc:
            raise ProblemError([f"{where}: cannot read its Arrow stream: {exc}"]) from None
    raise ProblemError([f"{where}: not a DataFrame or Arrow table ({type(frame).__name__}); give a pandas or Polars "
                        "DataFrame, a pyarrow Table, or an object with __arrow_c_stream__"])


def _columns(table: Any) -> dict[str, list[Any]]:
    """An Arrow table's columns as Python values; timestamps at microseconds (Python's own precision)."""
    import pyarrow as pa

    out: dict[str, list[Any]] = {}
    for name, column in zip(table.column_names, table.columns, strict=True):
        if pa.types.is_timestamp(column.type) and column.type.unit == "ns":
            column = column.cast(pa.timestamp("us", column.type.tz), safe=False)
        out[str(name)] = column.to_pylist()
    return out


def read_frames(frames: Mapping[str, Any], *, settings: Mapping[str, Any] | None = None) -> Loaded:
    """A problem (and its personal columns) from one frame per table: ``{"volunteers": df, "demands": df, ...}``.

    ``settings`` is the object a folder's ``settings.json`` holds (module notes); table names may be
    mapped by its ``tables``.

    Raises
    ------
    ProblemError
        For an unknown or missing table, an object that is not a frame, bad settings, and every bad column,
        cell or record, each naming the table, row, id and column.

    """
    parsed = parse_settings(settings, "settings")
    raw: dict[str, RawSource] = {}
    errors: list[str] = []
    for key, frame in frames.items():
        table = parsed.table_of(key)
        if table is None:
            errors.append(f"frames: unknown table {key!r}{did_you_mean(key, tuple(COLUMNS))} "
                          f"(known: {', '.join(COLUMNS)})")
            continue
        where = f"{key} frame"
        raw[table] = RawSource(_columns(to_arrow(frame, where)), row_label(where), where)
    errors += [f"frames: missing table {name!r}" for name in ("volunteers", "demands") if name not in raw]
    if errors:
        raise ProblemError(errors)
    problem, personal = assemble(raw, parsed, source="frames")
    return Loaded(problem, personal, {name: {"rows": len(next(iter(t.columns.values()), []))}
                                      for name, t in raw.items()}, "frames")


def problem_from_frames(frames: Mapping[str, Any], *, settings: Mapping[str, Any] | None = None) -> Problem:
    """A problem from one DataFrame or Arrow table per SPEC table (:func:`read_frames`, without the extras).

    Raises
    ------
    ProblemError
        As :func:`read_frames`.

    """
    return read_frames(frames, settings=settings).problem


def tables_to_frames(tables: Mapping[str, tuple[Sequence[str], Sequence[Sequence[Any]]]],
                     kind: FrameKind = "pandas") -> dict[str, Any]:
    """Tables (name -> header and rows) as pandas or Polars DataFrames, or Arrow tables; numbers as numbers.

    Raises
    ------
    ImportError
        When ``kind``'s library is not installed (``pip install 'matcher[frames]'``).
    ValueError
        For an unknown ``kind``.

    """
    import pyarrow as pa

    if kind not in ("pandas", "polars", "arrow"):
        raise ValueError(f"unknown frame kind {kind!r} (pandas, polars or arrow)")
    out: dict[str, Any] = {}
    for name, (header, rows) in tables.items():
        columns = {h: [typed_value(h, row[i]) for row in rows] for i, h in enumerate(header)}
        table = pa.table({h: pa.array(v, type=pa.string() if not v else None) for h, v in columns.items()})
        out[name] = table if kind == "arrow" else _convert(table, kind)
    return out


def _convert(table: Any, kind: FrameKind) -> Any:
    try:
        if kind == "polars":
            import polars

            return polars.from_arrow(table)
        import pandas  # noqa: F401  (to_pandas needs it)

        return table.to_pandas()
    except ImportError:
        raise ImportError(f"{kind} is not installed: pip install 'matcher[frames]'") from None
