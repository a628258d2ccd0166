"""A table source's settings, and how its headers become SPEC columns or personal columns passed through.

The settings of a folder of tables (``settings.json``), of a database (its
``settings`` table) or of DataFrames (a ``settings`` argument) are one JSON object:

=================  ===========================================================================
``taxonomy``       ``"builtin"``, or a taxonomy file in the folder
``options``        SolveOptions fields
``timezone``       the IANA zone of times written without an offset (``"Asia/Shanghai"``)
``travel``         SPEC v2's travel: ``{"speed_kmh": 4.5, "detour": 1.3}`` (a folder's ``nodes`` and
                   ``edges`` tables add its road network)
``encoding``       of CSV files: ``"utf-8"`` (the default; a byte-order mark is fine),
                   ``"gb18030"``, ``"gbk"`` or ``"gb2312"`` (Chinese exports)
``tables``         file, sheet or database-table names meaning SPEC tables: ``{"志愿者": "volunteers"}``
``columns``        headers meaning SPEC columns: ``{"志愿者编号": "id"}`` for every table, or per
                   table ``{"demands": {"编号": "id"}}``; both may be given
``extra_columns``  columns passed through to the dispatcher's tables (assignments, roster,
                   dropped): ``["name", "phone"]`` for volunteers and demands alike, or per table
                   ``{"volunteers": ["name", "phone"], "demands": ["contact", "address"]}``
=================  ===========================================================================

Any other column is still an error with a "did you mean", so a misspelled SPEC column is never
silently passed through. Extra columns are treated as personal data: they reach the dispatcher's
tables and nothing else (no log, manifest, solution or KPI table).
"""

from __future__ import annotations

import codecs
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from matcher.errors import ProblemError
from matcher.io.columns import COLUMNS, NETWORK_COLUMNS, did_you_mean

__all__ = ["ENCODINGS", "PERSONAL_TABLES", "SETTINGS_KEYS", "Personal", "Settings", "parse_settings",
           "split_columns"]

SETTINGS_KEYS = ("taxonomy", "options", "timezone", "travel", "encoding", "tables", "columns", "extra_columns")
ENCODINGS = ("utf-8", "gb18030", "gbk", "gb2312")
"""CSV encodings a settings file may name (GBK and GB2312 are read as GB18030, which contains both)."""
PERSONAL_TABLES = ("volunteers", "demands")
"""Tables whose extra columns are passed through (each record has an id to carry them by)."""


@dataclass(frozen=True)
class Settings:
    """A table source's settings (the module's table); the defaults mean none were given."""

    taxonomy: Any = None
    options: Any = None
    timezone: str | None = None
    travel: Any = None
    encoding: str = "utf-8"
    tables: Mapping[str, str] = field(default_factory=dict)
    columns: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """Per SPEC table (or ``"*"`` for every table): header as written -> SPEC column."""
    extra_columns: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def table_of(self, name: str) -> str | None:
        """The SPEC table a file stem, sheet or database table ``name`` holds, or ``None``."""
        if name in self.tables:
            return self.tables[name]
        return name if name in COLUMNS or name in NETWORK_COLUMNS else None


@dataclass(frozen=True)
class Personal:
    """Columns passed through, per table: their names, and each record's values (by id) as text."""

    columns: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    values: Mapping[str, Mapping[str, tuple[str, ...]]] = field(default_factory=dict)

    def of(self, table: str, record_id: str) -> tuple[str, ...]:
        """A record's values, one per :attr:`columns` of its table (empty text where it has none)."""
        names = self.columns.get(table, ())
        return tuple(self.values.get(table, {}).get(record_id, ("",) * len(names)))


def _strings(value: Any) -> bool:
    return isinstance(value, Mapping) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())


def parse_settings(raw: Any, source: str) -> Settings:
    """Check a settings object (the module's table); errors name ``source`` and the key.

    Raises
    ------
    ProblemError
        For a non-object, an unknown key (with a "did you mean"), or a value of the wrong shape.

    """
    if raw is None:
        return Settings()
    if not isinstance(raw, Mapping):
        raise ProblemError([f"{source}: must be an object with the keys {', '.join(SETTINGS_KEYS)}"])
    errors = [f"{source}: unknown key {k!r}{did_you_mean(k, SETTINGS_KEYS)} (known: {', '.join(SETTINGS_KEYS)})"
              for k in raw if k not in SETTINGS_KEYS]
    tz = raw.get("timezone")
    if tz is not None and not isinstance(tz, str):
        errors.append(f"{source}: timezone: must be an IANA name such as 'Asia/Shanghai'")
    travel = raw.get("travel")
    if travel is not None and not isinstance(travel, Mapping):
        errors.append(f"{source}: travel: must be an object, like {{\"speed_kmh\": 4.5, \"detour\": 1.3}}")
    encoding = raw.get("encoding", "utf-8")
    if not isinstance(encoding, str) or encoding.lower().replace("_", "-") not in (*ENCODINGS, "utf8"):
        errors.append(f"{source}: encoding: must be one of {', '.join(ENCODINGS)}, not {encoding!r}")
    tables = raw.get("tables", {})
    if not _strings(tables):
        errors.append(f"{source}: tables: must map names to table names, like {{\"志愿者\": \"volunteers\"}}")
    else:
        errors += [f"{source}: tables: {k!r} -> {v!r}: no such table{did_you_mean(v, tuple(COLUMNS))} "
                   f"(known: {', '.join(COLUMNS)})" for k, v in tables.items() if v not in COLUMNS]
    columns: dict[str, dict[str, str]] = {}
    for key, value in (raw.get("columns") or {}).items() if isinstance(raw.get("columns", {}), Mapping) else ():
        if isinstance(value, str):
            columns.setdefault("*", {})[key] = value
        elif key in COLUMNS and _strings(value):
            columns[key] = dict(value)
        else:
            errors.append(f"{source}: columns: {key!r}: must map a header to a column name (\"志愿者编号\": \"id\"), "
                          f"or a table name to such a mapping{did_you_mean(key, tuple(COLUMNS))}")
    if not isinstance(raw.get("columns", {}), Mapping):
        errors.append(f"{source}: columns: must be an object, like {{\"志愿者编号\": \"id\"}}")
    extra = _extra_columns(raw.get("extra_columns"), source, errors)
    if errors:
        raise ProblemError(errors)
    name = encoding.lower().replace("_", "-")
    return Settings(taxonomy=raw.get("taxonomy"), options=raw.get("options"), timezone=tz, travel=travel,
                    encoding=codecs.lookup("gb18030" if name in ("gbk", "gb2312") else name).name,
                    tables=dict(tables), columns=columns, extra_columns=extra)


def _extra_columns(value: Any, source: str, errors: list[str]) -> dict[str, tuple[str, ...]]:
    if value is None:
        return {}
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return dict.fromkeys(PERSONAL_TABLES, tuple(value))
    if isinstance(value, Mapping) and all(isinstance(v, list) and all(isinstance(c, str) for c in v)
                                          for v in value.values()):
        bad = [k for k in value if k not in PERSONAL_TABLES]
        errors += [f"{source}: extra_columns: {k!r}: only {' and '.join(PERSONAL_TABLES)} carry extra columns"
                   for k in bad]
        return {k: tuple(v) for k, v in value.items() if k in PERSONAL_TABLES}
    errors.append(f"{source}: extra_columns: must be a list of column names, or one per table "
                  "({\"volunteers\": [\"name\", \"phone\"]})")
    return {}


def split_columns(table: str, columns: dict[str, list[Any]], settings: Settings, where: str
                  ) -> tuple[dict[str, list[Any]], dict[str, list[Any]], dict[str, str]]:
    """Rename a table's headers by the settings and set its extra columns aside.

    Returns the SPEC columns (by SPEC name), the extra columns (by name, after renaming) and, for each
    renamed SPEC column, the header as written (for messages).

    Raises
    ------
    ProblemError
        For a header that is neither a SPEC column of ``table`` nor a declared extra column (with a
        "did you mean"), and for two headers meaning the same column.

    """
    mapping = {**settings.columns.get("*", {}), **settings.columns.get(table, {})}
    extras = settings.extra_columns.get(table, ())
    spec: dict[str, list[Any]] = {}
    kept: dict[str, list[Any]] = {}
    written: dict[str, str] = {}
    errors: list[str] = []
    for header, values in columns.items():
        name = mapping.get(header, header)
        shown = repr(header) if name == header else f"{header!r} (mapped to {name!r})"
        if name in COLUMNS[table]:
            if name in spec:
                errors.append(f"{where}: columns {written.get(name, name)!r} and {header!r} both mean {name!r}")
            spec[name] = values
            written[name] = header
        elif name in extras or header in extras:
            kept[name if name in extras else header] = values
        else:
            hint = (" (a column to pass through to the dispatcher's tables, such as a name or a phone, is listed in "
                    "the settings' extra_columns)") if table in PERSONAL_TABLES else ""
            errors.append(f"{where}: unknown column {shown}{did_you_mean(name, COLUMNS[table])} "
                          f"(known: {', '.join(COLUMNS[table])}){hint}")
    if errors:
        raise ProblemError(errors)
    return spec, kept, {k: v for k, v in written.items() if k != v}


def personal_values(ids: list[Any], kept: dict[str, list[Any]]) -> dict[str, tuple[str, ...]]:
    """Each record's extra values as text, by its id (records without a text id are left out)."""
    names = list(kept)
    out: dict[str, tuple[str, ...]] = {}
    for i, rid in enumerate(ids):
        if isinstance(rid, str | int) and not isinstance(rid, bool):
            out[str(rid).strip()] = tuple(_text(kept[n][i]) for n in names)
    return out


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a phone number stored as a number in Excel
    return str(value).strip()
