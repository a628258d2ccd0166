"""Raw tables from any source (files, a workbook, DataFrames, a database) into a problem and its personal columns.

Every table source ends here: its headers are renamed by the settings, its
extra columns set aside (:func:`matcher.io.settings.split_columns`), and the
SPEC columns go through :func:`matcher.io.columns.problem_from_tables`, so that
errors name the file, sheet or table, the row, the record's id and the column
whatever the source.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from matcher.errors import ProblemError
from matcher.io.columns import COLUMNS, NETWORK_COLUMNS, RowLabel, problem_from_tables, road_network
from matcher.io.gcpause import paused_gc
from matcher.io.settings import PERSONAL_TABLES, Personal, Settings, personal_values, split_columns
from matcher.io.xlsx import whole_numbers_as_text
from matcher.model import Problem

__all__ = ["Loaded", "RawSource", "assemble"]


@dataclass(frozen=True)
class RawSource:
    """One table as read from its source: columns of raw cells, how to name row ``i``, and where it came from."""

    columns: dict[str, list[Any]]
    label: RowLabel
    where: str


@dataclass(frozen=True)
class Loaded:
    """An input as loaded: the problem, the personal columns passed through, and what it was read from.

    ``files`` describes the input for a run's manifest (file name -> ``sha256`` and ``bytes``, or for a
    database, table -> ``rows``); ``where`` names it in logs and manifests (a database URL without its
    password).
    """

    problem: Problem
    personal: Personal = field(default_factory=Personal)
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    where: str = ""


def assemble(raw: dict[str, RawSource], settings: Settings, *, source: str, taxonomy: Any = None,
             whole_numbers_are_text: frozenset[str] = frozenset()) -> tuple[Problem, Personal]:
    """Validate raw tables (by SPEC table name) into a problem, and keep their extra columns aside.

    ``taxonomy`` replaces the settings' taxonomy (a file the caller has read); tables named in
    ``whole_numbers_are_text`` (an Excel sheet's) read whole numbers in text columns as their digits.

    Raises
    ------
    ProblemError
        For unknown or doubly mapped columns, extra columns declared but found in no table, and every bad
        cell or record, each named by source, row, id and column.

    """
    raw = dict(raw)
    network = {name: raw.pop(name) for name in NETWORK_COLUMNS if name in raw}
    travel = _travel(network, settings, source)
    tables: dict[str, dict[str, list[Any]]] = {}
    labels: dict[str, RowLabel] = {}
    headers: dict[str, dict[str, str]] = {}
    columns: dict[str, tuple[str, ...]] = {}
    values: dict[str, dict[str, tuple[str, ...]]] = {}
    errors: list[str] = []
    for name, table in raw.items():
        try:
            spec, kept, written = split_columns(name, table.columns, settings, table.where)
        except ProblemError as exc:
            errors += exc.errors
            continue
        tables[name] = whole_numbers_as_text(spec) if name in whole_numbers_are_text else spec
        labels[name], headers[name] = table.label, written
        if kept and name in PERSONAL_TABLES:
            ids = tables[name].get("id", [])
            columns[name], values[name] = tuple(kept), personal_values(ids, kept)
    declared = {c for names in settings.extra_columns.values() for c in names}
    found = {c for names in columns.values() for c in names}
    errors += [f"{source}: extra_columns: {c!r} is in none of the tables" for c in sorted(declared - found)]
    if errors:
        raise ProblemError(errors)
    unknown = [n for n in tables if n not in COLUMNS]
    if unknown:  # (a caller's bug: sources name SPEC tables)
        raise ValueError(f"not SPEC tables: {unknown}")
    with paused_gc():  # (a district's records: a million objects and no cycles)
        problem = problem_from_tables(tables, taxonomy=settings.taxonomy if taxonomy is None else taxonomy,
                                      options=settings.options, timezone=settings.timezone, travel=travel,
                                      source=source, labels=labels, headers=headers)
    return problem, Personal(columns, values)


def _travel(network: dict[str, RawSource], settings: Settings, source: str) -> Any:
    """The settings' ``travel``, with the road network of the ``nodes`` and ``edges`` tables in it (SPEC v2).

    Raises
    ------
    ProblemError
        For an edges table without a nodes table, and every bad cell of either.

    """
    if not network:
        return settings.travel
    if "nodes" not in network:
        raise ProblemError([f"{network['edges'].where}: an edges table needs a nodes table (nodes.csv, "
                            f"nodes.parquet or a sheet 'nodes')"])
    roads = road_network({n: t.columns for n, t in network.items()}, {n: t.label for n, t in network.items()})
    travel = dict(settings.travel or {})
    return {**travel, "network": {**travel.get("network", {}), **roads}}
