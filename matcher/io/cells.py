"""Table cells read strictly, one column at a time: the documented spellings of each kind of value.

A CSV cell is text; a Parquet cell is typed. Each column of SPEC's tables has a
kind (:data:`KINDS`), and a cell becomes the value the contract's JSON would
hold, or an error naming what it holds. No value silently takes another
meaning (RELIABILITY.md has the table of what each kind accepts):

=========  ===============================================================  =====================================
kind       CSV text                                                         Parquet value
=========  ===============================================================  =====================================
text       the text, trimmed                                                a string (a number is refused)
real       a decimal number: ``4.1``, ``-3``, ``1e3`` (not ``nan``, ``inf``,   an int or float (not a bool)
           ``1,5``, ``true``)
count      a whole number: ``3`` (also ``3.0``; not ``2.5``)                 an int, or a whole float (not a bool)
flag       ``true``/``false``, ``yes``/``no``, ``1``/``0``, ``是``/``否``      a bool, or the ints 1 and 0
           (any case)
time       ISO 8601 date-time, with an offset unless the folder names a     a timestamp (one without a zone is read
           ``timezone``: ``2026-11-23T08:00:00+08:00``; never a number      in ``timezone``); an ISO string
codes      codes joined by ``;``: ``general;nurse``                         a list of strings, or a ``;`` string
windows    ``start/end`` intervals joined by ``;``, each end a time          the same text, or a list of them
=========  ===============================================================  =====================================

An empty cell (CSV) or a null (Parquet) means "not given": the field's default.
A list cell that holds another separator (``，``, ``、``, ``；``, ``,`` or a
line break) is read as documented, with a warning: it is probably meant as
several codes.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import datetime
from itertools import chain
from typing import Any, Literal
from zoneinfo import ZoneInfo

import numpy as np

from matcher.model.bulk import MISSING, plain_moment
from matcher.model.values import localize_naive, parse_time

__all__ = ["FALSE", "KINDS", "MISSING", "TRUE", "CellError", "Kind", "NoOffsetError", "parse_cell", "parse_column"]

Kind = Literal["text", "real", "count", "flag", "time", "codes", "windows"]

KINDS: dict[str, Kind] = {
    "id": "text", "community": "text", "street": "text", "category": "text", "team_id": "text",
    "area_id": "text", "volunteer_id": "text", "demand_id": "text", "series_id": "text", "source": "text",
    "target": "text",
    "lat": "real", "lon": "real", "max_hours": "real", "max_travel_km": "real", "recent_hours": "real",
    "max_travel_minutes": "real", "speed_kmh": "real", "minutes": "real",
    "max_tasks": "count", "headcount": "count", "priority": "count", "min_headcount": "count", "stars": "count",
    "insured": "flag", "requires_insured": "flag",
    "skills": "codes", "required_skills": "codes", "preferred_volunteers": "codes", "preferred_categories": "codes",
    "start": "time", "end": "time", "at": "time",
    "availability": "windows",
}
"""The kind of each column of SPEC's tables."""

TRUE = frozenset({"true", "yes", "1", "是"})
FALSE = frozenset({"false", "no", "0", "否"})
OTHER_SEPARATORS = ("，", "、", "；", ",", "\n")
_REAL = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_COUNT = re.compile(r"^[+-]?\d+(\.0*)?$")


class CellError(ValueError):
    """A cell that is not a value of its column's kind; the message says what it holds."""


class NoOffsetError(CellError):
    """A time written without a UTC offset where no timezone was named to read it in.

    Its message points to a folder's settings.json; a reader whose timezone comes from elsewhere (``matcher rate``'s
    ``--timezone``) catches it and says so.
    """


def parse_cell(kind: Kind, value: Any, tz: ZoneInfo | None, warn: Callable[[str], None]) -> Any:
    """The JSON value of one cell of ``kind`` (``MISSING`` when empty).

    Raises
    ------
    CellError
        When the cell is not a value of its kind.

    """
    if value is None:
        return MISSING
    if isinstance(value, str):
        value = value.strip()
        if not value:
            return MISSING
    return _PARSERS[kind](value, tz, warn)


class _NotSure(Exception):
    """A cell the fast column reader leaves to :func:`parse_cell`."""


_NUMBER_CHARS = frozenset("0123456789.+-eE")


def parse_column(kind: Kind, values: list[Any], tz: ZoneInfo | None) -> list[Any] | None:
    """Every cell of a column at once, as :func:`parse_cell` reads them; ``None`` when any cell needs it.

    The fast path of reading a table: tight loops over the plain spellings, with no error to name and no
    warning to give. A column that holds anything else (a bad cell, another separator in a list) returns
    ``None``, and the caller reads it cell by cell for the exact messages.
    """
    try:
        return _COLUMNS[kind](values, tz)
    except (_NotSure, ValueError, TypeError, OverflowError):
        return None


def _strip_all(values: list[Any], types: set[type] | None = None) -> list[Any]:
    """The cells trimmed, ``MISSING`` for empty ones (``types``: the set of the cells' types, if known)."""
    types = set(map(type, values)) if types is None else types
    if str not in types:  # a typed (Parquet) column: nothing to trim
        return [MISSING if v is None else v for v in values] if type(None) in types else values
    if types == {str}:
        return [v.strip() or MISSING for v in values]
    return [MISSING if v is None else (v.strip() or MISSING) if type(v) is str else v for v in values]


def _text_column(values: list[Any], tz: ZoneInfo | None) -> list[Any]:
    types = set(map(type, values))
    if not types <= {str, type(None)}:
        raise _NotSure
    return _strip_all(values, types)


def _typed(values: list[Any], types: set[type], kind: type) -> list[Any] | None:
    """The cells as a new list (``MISSING`` for empty ones) when each is a ``kind`` or empty, else ``None``.

    Such a column is typed (as Parquet gives it): there is nothing to parse.
    """
    if not types <= {kind, type(None)}:
        return None
    out = _strip_all(values, types)
    return out if out is not values else list(values)


def _finite(numbers: list[Any], gaps: bool) -> None:
    """Raise :class:`_NotSure` unless every number (``MISSING`` aside, where ``gaps``) is finite."""
    plain = [v for v in numbers if v is not MISSING] if gaps else numbers
    if plain and not np.isfinite(np.array(plain, dtype=np.float64)).all():
        raise _NotSure


def _real_column(values: list[Any], tz: ZoneInfo | None) -> list[Any]:
    types = set(map(type, values))
    typed = _typed(values, types, float)  # a Parquet column of doubles
    if typed is not None:
        _finite(typed, type(None) in types)
        return typed
    if not types <= {str, int, float, type(None)}:
        raise _NotSure
    out = _strip_all(values, types)
    text = [v for v in out if type(v) is str]
    if text and not set("".join(text)) <= _NUMBER_CHARS:
        raise _NotSure  # letters: nan, inf, yes, 4,1 ...
    numbers = [v if v is MISSING else float(v) for v in out]
    _finite(numbers, MISSING in numbers)
    return numbers


def _count_column(values: list[Any], tz: ZoneInfo | None) -> list[Any]:
    types = set(map(type, values))
    typed = _typed(values, types, int)  # a Parquet column of integers
    if typed is not None:
        return typed
    out = []
    for v in _strip_all(values, types):
        if v is MISSING or type(v) is int:
            out.append(v)
        elif type(v) is str and _COUNT.match(v):
            out.append(int(v.split(".")[0]))
        elif type(v) is float and v.is_integer():
            out.append(int(v))
        else:
            raise _NotSure
    return out


def _flag_column(values: list[Any], tz: ZoneInfo | None) -> list[Any]:
    types = set(map(type, values))
    typed = _typed(values, types, bool)  # a Parquet column of booleans
    if typed is not None:
        return typed
    out = []
    for v in _strip_all(values, types):
        if v is MISSING or type(v) is bool:
            out.append(v)
        elif type(v) is str and v.lower() in TRUE:
            out.append(True)
        elif type(v) is str and v.lower() in FALSE:
            out.append(False)
        elif type(v) is int and v in (0, 1):
            out.append(bool(v))
        else:
            raise _NotSure
    return out


def _one_time(v: Any, tz: ZoneInfo | None) -> datetime:
    moment = plain_moment(v, tz)
    if moment is None:
        raise _NotSure
    return moment


def _time_column(values: list[Any], tz: ZoneInfo | None) -> list[Any]:
    seen: dict[Any, datetime] = {}  # times repeat: each distinct one is read once
    return [v if v is MISSING else seen[v] if v in seen else seen.setdefault(v, _one_time(v, tz))
            for v in _strip_all(values)]


def _codes_column(values: list[Any], tz: ZoneInfo | None) -> list[Any]:
    types = set(map(type, values))
    if types <= {list, tuple, type(None)}:  # a Parquet column of lists
        cells = [v for v in values if v is not None] if type(None) in types else values
        codes = list(chain.from_iterable(cells))
        if codes and set(map(type, codes)) != {str}:
            raise _NotSure
        if list(map(str.strip, codes)) == codes and (not codes or min(map(len, codes)) > 0):  # nothing to trim
            return [MISSING if v is None else list(v) for v in values]
        return [MISSING if v is None else [c.strip() for c in v if c.strip()] for v in values]
    out: list[Any] = []
    for v in _strip_all(values, types):
        if v is MISSING:
            out.append(v)
        elif type(v) is str:
            if any(s in v for s in OTHER_SEPARATORS):
                raise _NotSure  # read cell by cell, with its warning
            out.append([c.strip() for c in v.split(";") if c.strip()])
        elif type(v) in (list, tuple) and all(type(c) is str for c in v):
            out.append([c.strip() for c in v if c.strip()])
        else:
            raise _NotSure
    return out


def _windows_column(values: list[Any], tz: ZoneInfo | None) -> list[Any]:
    out: list[Any] = []
    seen: dict[str, dict[str, datetime]] = {}  # windows repeat across volunteers: each distinct one is read once
    cells: dict[str, list[dict[str, datetime]]] = {}  # and so do whole cells (890 distinct in a district's 80,000)
    for v in _strip_all(values):
        if v is MISSING:
            out.append(v)
            continue
        if type(v) in (list, tuple) and all(type(w) is str for w in v):
            v = ";".join(v)
        if type(v) is not str:
            raise _NotSure
        if v in cells:
            out.append(list(cells[v]))
            continue
        windows = cells[v] = []
        for part in v.split(";"):
            if part in seen:
                windows.append(seen[part])
                continue
            text = part.strip()
            if not text:
                continue
            start, sep, end = text.partition("/")
            if not sep:
                raise _NotSure
            windows.append(seen.setdefault(part, {"start": _one_time(start.strip(), tz),
                                                  "end": _one_time(end.strip(), tz)}))
        out.append(windows)
    return out


def _refuse() -> Any:
    raise _NotSure


def _text(value: Any, tz: ZoneInfo | None, warn: Callable[[str], None]) -> Any:
    if isinstance(value, str):
        return value
    raise CellError(f"must be text, not {_shown(value)} (store the column as text)")


def _real(value: Any, tz: ZoneInfo | None, warn: Callable[[str], None]) -> Any:
    if isinstance(value, str):
        if value.lower().lstrip("+-") in ("nan", "inf", "infinity"):
            raise CellError(f"must be a finite number, not {value!r}")
        if not _REAL.match(value):
            raise CellError(f"must be a number like 4.1, not {value!r}")
        number = float(value)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    else:
        raise CellError(f"must be a number, not {_shown(value)}")
    if not math.isfinite(number):
        raise CellError(f"must be a finite number, not {value!r}")
    return number


def _count(value: Any, tz: ZoneInfo | None, warn: Callable[[str], None]) -> Any:
    if isinstance(value, str):
        if not _COUNT.match(value):
            raise CellError(f"must be a whole number like 3, not {value!r}")
        return int(value.split(".")[0])
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise CellError(f"must be a whole number, not {_shown(value)}")


def _flag(value: Any, tz: ZoneInfo | None, warn: Callable[[str], None]) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.lower() in TRUE | FALSE:
        return value.lower() in TRUE
    raise CellError(f"must be true or false (true/false, yes/no, 1/0, 是/否), not {_shown(value)}")


def _time(value: Any, tz: ZoneInfo | None, warn: Callable[[str], None]) -> Any:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = parse_time(value)
        except ValueError as exc:
            raise CellError(str(exc)) from None
    else:
        raise CellError(f"a number is not a time: {_shown(value)} (write ISO 8601 like 2026-11-23T08:00:00+08:00)")
    if moment.tzinfo is None:
        if tz is None:
            raise NoOffsetError(f"{value!s} has no UTC offset: write one (e.g. +08:00), or name the folder's "
                                "timezone in settings.json")
        local = localize_naive(moment, tz)
        if not isinstance(local, datetime):
            raise CellError(f"{value!s} does not exist in {tz.key} (the clocks skip it)")
        moment = local
    return moment


def _codes(value: Any, tz: ZoneInfo | None, warn: Callable[[str], None]) -> Any:
    if isinstance(value, list | tuple):
        if not all(isinstance(c, str) for c in value):
            raise CellError(f"must be a list of codes (text), not {value!r}")
        return [c.strip() for c in value if c.strip()]
    if not isinstance(value, str):
        raise CellError(f"must be codes joined by ';', not {_shown(value)}")
    others = [s for s in OTHER_SEPARATORS if s in value]
    if others:
        shown = ", ".join(repr(s) for s in others)
        warn(f"{value!r} holds {shown}; codes are joined by ';', so it was read as "
             f"{[c.strip() for c in value.split(';') if c.strip()]}")
    return [c.strip() for c in value.split(";") if c.strip()]


def _windows(value: Any, tz: ZoneInfo | None, warn: Callable[[str], None]) -> Any:
    if isinstance(value, list | tuple):
        if not all(isinstance(w, str) for w in value):
            raise CellError(f"must be 'start/end' intervals (text), not {value!r}")
        value = ";".join(value)
    if not isinstance(value, str):
        raise CellError(f"must be 'start/end' intervals joined by ';', not {_shown(value)}")
    windows = []
    for n, part in enumerate((x.strip() for x in value.split(";") if x.strip()), start=1):
        start, sep, end = part.partition("/")
        if not sep or not start.strip() or not end.strip():
            raise CellError(f"window {n} {part!r} is not 'start/end'")
        try:
            windows.append({"start": _time(start.strip(), tz, warn), "end": _time(end.strip(), tz, warn)})
        except CellError as exc:
            raise CellError(f"window {n}: {exc}") from None
    return windows


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return f"the number {value!r}"
    return repr(value)


_COLUMNS: dict[Kind, Callable[[list[Any], ZoneInfo | None], list[Any]]] = {
    "text": _text_column, "real": _real_column, "count": _count_column, "flag": _flag_column,
    "time": _time_column, "codes": _codes_column, "windows": _windows_column,
}

_PARSERS: dict[Kind, Callable[[Any, ZoneInfo | None, Callable[[str], None]], Any]] = {
    "text": _text, "real": _real, "count": _count, "flag": _flag, "time": _time, "codes": _codes,
    "windows": _windows,
}
