"""The fast path of validation: a whole problem checked record by record with plain checks, no pydantic per record.

Validating a district (80,000 volunteers, 20,000 demands) one pydantic model per
record takes seconds. :func:`fast_problem` checks the same rules (each field's
kind and bounds, read from the models' own metadata; the records' own rules;
ids, references and taxonomy codes across records) with tight loops, and builds
the records without validating them again. It only ever says "valid, here is
the problem" or "not sure": whenever any value asks for more than a plain
check (an error to name, a stale reference to warn about, a value of another
type, a time without an offset in a problem without a zone), it returns
``None``, and the caller runs the exact path (:meth:`Problem.from_dict`), whose
messages name the file, line, record and field. Tests hold the two paths to
the same answers on valid and near-valid problems.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from itertools import chain
from typing import Any, Literal
from zoneinfo import ZoneInfo

import annotated_types as at
import numpy as np
from pydantic import BaseModel, TypeAdapter, ValidationError

from matcher.model.options import SolveOptions
from matcher.model.problem import Problem
from matcher.model.records import MAX_TEXT, Area, Assignment, Demand, Rating, Travel, Volunteer, Window
from matcher.model.taxonomy import Taxonomy, resolve_taxonomy
from matcher.model.values import ISO_DATETIME, localize_naive, zone

__all__ = ["FIELDS", "MISSING", "Kind", "fast_problem", "fast_problem_columns", "plain_moment"]

Kind = Literal["text", "text?", "real", "real?", "count", "count?", "flag", "time", "codes", "windows"]

FIELDS: dict[type[BaseModel], dict[str, Kind]] = {
    Area: {"id": "text", "lat": "real", "lon": "real", "community": "text?", "street": "text?"},
    Volunteer: {"id": "text", "lat": "real", "lon": "real", "skills": "codes", "availability": "windows",
                "max_tasks": "count", "max_hours": "real", "max_travel_km": "real", "team_id": "text?",
                "insured": "flag", "recent_hours": "real", "max_travel_minutes": "real?", "speed_kmh": "real?",
                "preferred_categories": "codes"},
    Demand: {"id": "text", "area_id": "text?", "lat": "real?", "lon": "real?", "category": "text",
             "required_skills": "codes", "headcount": "count", "start": "time", "end": "time", "priority": "count",
             "requires_insured": "flag", "team_id": "text?", "preferred_volunteers": "codes", "series_id": "text?",
             "min_headcount": "count?"},
    Assignment: {"volunteer_id": "text", "demand_id": "text"},
    Rating: {"volunteer_id": "text", "demand_id": "text?", "series_id": "text?", "stars": "count", "at": "time"},
}
"""The kind of every field of the records (a test holds it to the models)."""

TABLES: dict[str, type[BaseModel]] = {"areas": Area, "volunteers": Volunteer, "demands": Demand,
                                      "pinned": Assignment, "forbidden": Assignment, "previous": Assignment,
                                      "ratings": Rating}
_TAXONOMY: TypeAdapter[Literal["builtin"] | Taxonomy | None] = TypeAdapter(Literal["builtin"] | Taxonomy | None)


class _NotSure(Exception):
    """A value the fast path leaves to the exact path."""


class _Missing:
    """A field a record does not give (its default applies)."""


MISSING = _Missing()


def _bounds(model: type[BaseModel], name: str) -> tuple[float | None, float | None, float | None, float | None,
                                                         int, int]:
    """``(ge, gt, le, lt, min_length, max_length)`` of a field, from the model's metadata."""
    ge = gt = le = lt = None
    lo, hi = 0, MAX_TEXT
    for m in model.model_fields[name].metadata:
        if isinstance(m, at.Ge):
            ge = float(m.ge)  # type: ignore[arg-type]
        elif isinstance(m, at.Gt):
            gt = float(m.gt)  # type: ignore[arg-type]
        elif isinstance(m, at.Le):
            le = float(m.le)  # type: ignore[arg-type]
        elif isinstance(m, at.Lt):
            lt = float(m.lt)  # type: ignore[arg-type]
        elif isinstance(m, at.MinLen):
            lo = m.min_length
        elif isinstance(m, at.MaxLen):
            hi = m.max_length
    return ge, gt, le, lt, lo, hi


def _column(model: type[BaseModel], name: str, kind: Kind, values: list[Any], tz: ZoneInfo | None) -> list[Any]:
    """A column of JSON values (``MISSING`` where a record does not give the field) as the field's values.

    Raises :class:`_NotSure` for anything but the plain case; ``MISSING`` cells stay ``MISSING``. Each check
    runs once over the whole column (the set of its values' types, its shortest and longest value).
    """
    ge, gt, le, lt, lo, hi = _bounds(model, name)
    types = set(map(type, values))
    nullable = kind in ("text?", "real?", "count?")
    blank = {_Missing, type(None)} if nullable else {_Missing}
    if kind in ("text", "text?"):
        if not types <= {str} | blank:
            raise _NotSure
        text = values if types == {str} else [v for v in values if type(v) is str]
        if text and (min(map(len, text)) < lo or max(map(len, text)) > MAX_TEXT):
            raise _NotSure
        return values
    if kind in ("real", "real?", "count", "count?"):
        if not types <= {int, float} | blank:
            raise _NotSure
        plain = values if not types & blank else [v for v in values if type(v) is int or type(v) is float]
        if plain:
            x = np.array(plain, dtype=np.float64)
            ok = np.isfinite(x)
            if kind in ("count", "count?") and float in types:
                ok &= x == np.floor(x)  # a whole float (float.is_integer)
            for bound, test in ((ge, np.greater_equal), (gt, np.greater), (le, np.less_equal), (lt, np.less)):
                if bound is not None:
                    ok &= test(x, bound)
            if not ok.all():
                raise _NotSure
        if kind in ("count", "count?"):
            return [int(v) if type(v) is float else v for v in values] if float in types else values
        return [float(v) if type(v) is int else v for v in values] if int in types else values
    if kind == "flag":
        if not types <= {bool, _Missing}:
            raise _NotSure
        return values
    if kind == "time":
        seen: dict[Any, datetime] = {}
        return [v if v is MISSING else seen[v] if v in seen else seen.setdefault(v, _moment(v, tz))
                for v in values]
    if not types <= {list, tuple, _Missing}:
        raise _NotSure
    given = values if _Missing not in types else [v for v in values if v is not MISSING]
    if given and max(map(len, given)) > hi:
        raise _NotSure
    if kind == "codes":
        codes = list(chain.from_iterable(given))
        if codes and (set(map(type, codes)) != {str} or max(map(len, codes)) > MAX_TEXT):
            raise _NotSure
        if _Missing not in types:
            return list(map(tuple, values))
        return [v if v is MISSING else tuple(v) for v in values]
    made: dict[tuple[Any, Any], Window] = {}  # windows repeat across volunteers: one (immutable) record each
    by_id: dict[int, Window] = {}  # (the cells of a column share their repeated windows' dicts: found by identity)

    def window(w: Any) -> Window:
        if id(w) in by_id:
            return by_id[id(w)]
        if type(w) is Window:
            return w
        if type(w) is not dict or len(w) != 2 or "start" not in w or "end" not in w:
            raise _NotSure
        key = (w["start"], w["end"])
        if key not in made:
            made[key] = _window(w, tz)
        by_id[id(w)] = made[key]
        return made[key]

    return [v if v is MISSING else tuple(map(window, v)) for v in values]


def plain_moment(v: Any, tz: ZoneInfo | None) -> datetime | None:
    """``v`` as a timezone-aware datetime, or ``None`` when it is not the plain case.

    The plain case is a datetime, or an ISO 8601 string; one without an offset is read in ``tz``
    (``None``: not plain). Anything else, the exact path reads, with its error message.
    """
    if isinstance(v, datetime):
        moment = v
    elif type(v) is str and ISO_DATETIME.match(v):
        moment = datetime.fromisoformat(v)
    else:
        return None
    if moment.tzinfo is None:
        local = localize_naive(moment, tz) if tz is not None else None
        return local if isinstance(local, datetime) else None
    return moment


def _moment(v: Any, tz: ZoneInfo | None) -> datetime:
    moment = plain_moment(v, tz)
    if moment is None:
        raise _NotSure
    return moment


def _window(w: Any, tz: ZoneInfo | None) -> Window:
    if type(w) is not dict or len(w) != 2 or "start" not in w or "end" not in w:
        raise _NotSure
    start, end = _moment(w["start"], tz), _moment(w["end"], tz)
    if not start < end:
        raise _NotSure
    window: Window = _lean(Window, {"start": start, "end": end}, {"start", "end"})
    return window


_new = object.__new__
_set = object.__setattr__


def _lean(model: type[BaseModel], values: dict[str, Any], given: set[str]) -> Any:
    """An instance of ``model`` holding ``values`` (every field, in the model's order), as validation leaves it."""
    obj = _new(model)
    _set(obj, "__dict__", values)
    _set(obj, "__pydantic_fields_set__", given)
    _set(obj, "__pydantic_extra__", None)
    _set(obj, "__pydantic_private__", None)
    return obj


def _table(model: type[BaseModel], columns: Mapping[str, list[Any]], n: int, tz: ZoneInfo | None
           ) -> tuple[Any, ...]:
    """A table's records from its columns (``MISSING`` where a record does not give the field).

    The columns are checked one by one; the records are built without validating them again.
    """
    spec = FIELDS[model]
    if not columns.keys() <= spec.keys() or any(len(c) != n for c in columns.values()):
        raise _NotSure
    if n == 0:
        return ()
    defaults = {f: info.get_default(call_default_factory=True) for f, info in model.model_fields.items()
                if not info.is_required()}
    order = list(model.model_fields)
    cols: list[list[Any]] = []
    unset: dict[int, list[str]] = {}  # row -> the fields it does not give (their defaults apply)
    for f in order:
        if f in columns:
            values = _column(model, f, spec[f], columns[f], tz)
            gaps = [i for i, v in enumerate(values) if v is MISSING] if MISSING in values else []
            if gaps:
                if f not in defaults:
                    raise _NotSure  # a required field not given
                default = defaults[f]
                values = [default if v is MISSING else v for v in values]
                for i in gaps:
                    unset.setdefault(i, []).append(f)
        elif f in defaults:
            values = [defaults[f]] * n
        else:
            raise _NotSure
        cols.append(values)
    # records that leave out the same fields share one set of the fields they give (pydantic copies it before it
    # changes it, in model_copy: the only change a frozen record sees)
    given = {f for f in order if f in columns}
    shared: dict[tuple[str, ...], set[str]] = {}
    fields_of: dict[int, set[str]] = {}
    for i, left_out in unset.items():
        key = tuple(left_out)
        if key not in shared:
            shared[key] = given.difference(key)
        fields_of[i] = shared[key]
    out: list[Any] = []
    new, put = _new, _set
    for i, row in enumerate(zip(*cols)):  # (:func:`_lean`, inlined: this loop makes every record of a district)
        fields_set = fields_of.get(i, given) if fields_of else given
        obj = new(model)
        put(obj, "__dict__", dict(zip(order, row)))
        put(obj, "__pydantic_fields_set__", fields_set)
        put(obj, "__pydantic_extra__", None)
        put(obj, "__pydantic_private__", None)
        out.append(obj)
    if model is Demand:
        for d in out:
            if not d.start < d.end or (d.lat is None) != (d.lon is None) or (d.lat is None and d.area_id is None):
                raise _NotSure
            if d.min_headcount is not None and d.min_headcount > d.headcount:
                raise _NotSure
    return tuple(out)


def _records(model: type[BaseModel], rows: Any, tz: ZoneInfo | None) -> tuple[Any, ...]:
    """A table given as records (parsed JSON): its columns, then :func:`_table`."""
    if type(rows) is not list and type(rows) is not tuple:
        raise _NotSure
    spec = FIELDS[model]
    present: set[str] = set()
    for row in rows:
        if type(row) is not dict or not row.keys() <= spec.keys():
            raise _NotSure
        present.update(row)
    columns = {f: [row.get(f, MISSING) for row in rows] for f in model.model_fields if f in present}
    return _table(model, columns, len(rows), tz)


def _unique(records: Sequence[Any]) -> set[str]:
    ids = {r.id for r in records}
    if len(ids) != len(records):
        raise _NotSure
    return ids


_FAILS = (_NotSure, ValidationError, ValueError, TypeError, KeyError, OverflowError)


def fast_problem(data: Mapping[str, Any]) -> Problem | None:
    """The problem in ``data`` (parsed JSON: tables as lists of records), or ``None`` to take the exact path.

    The result equals what :meth:`Problem.model_validate` gives for the same data, whenever it is not ``None``.
    """
    try:
        if not isinstance(data, Mapping) or not data.keys() <= set(Problem.model_fields):
            raise _NotSure
        tz = _zone_of(data)
        tables = {name: _records(model, data.get(name, ()), tz) for name, model in TABLES.items()}
        return _problem(tables, data)
    except _FAILS:
        return None


def fast_problem_columns(columns: Mapping[str, Mapping[str, list[Any]]], rest: Mapping[str, Any]) -> Problem | None:
    """:func:`fast_problem` for tables given by column (``MISSING`` where a cell is empty; times as datetimes).

    ``rest`` holds the problem's other fields (``taxonomy``, ``options``, ``timezone``).
    """
    try:
        if not columns.keys() <= TABLES.keys() or not rest.keys() <= set(Problem.model_fields) - TABLES.keys():
            raise _NotSure
        tz = _zone_of(rest)
        tables = {name: _table(model, columns[name], len(next(iter(columns[name].values()), [])), tz)
                  if name in columns else () for name, model in TABLES.items()}
        return _problem(tables, {**rest, **dict.fromkeys(columns)})
    except _FAILS:
        return None


def _zone_of(data: Mapping[str, Any]) -> ZoneInfo | None:
    name = data.get("timezone")
    if name is not None and type(name) is not str:
        raise _NotSure
    return zone(name) if name is not None else None


def _problem(tables: dict[str, tuple[Any, ...]], data: Mapping[str, Any]) -> Problem:
    """The problem of checked tables, once the checks across records pass (``data``: its other fields)."""
    if data.get("warnings"):
        raise _NotSure
    tz_name = data.get("timezone")
    areas, volunteers, demands = _unique(tables["areas"]), _unique(tables["volunteers"]), _unique(tables["demands"])
    for d in tables["demands"]:
        if d.area_id is not None and d.area_id not in areas:
            raise _NotSure  # an error, which the exact path names
        if not volunteers.issuperset(d.preferred_volunteers):
            raise _NotSure  # a stale soft reference: a warning, which the exact path words
    if any(r.volunteer_id not in volunteers for r in tables["ratings"]):
        raise _NotSure
    for name in ("pinned", "forbidden", "previous"):
        pairs = tables[name]
        if len({(a.volunteer_id, a.demand_id) for a in pairs}) != len(pairs):
            raise _NotSure
        if any(a.volunteer_id not in volunteers or a.demand_id not in demands for a in pairs):
            raise _NotSure
    options = data.get("options")
    taxonomy = _TAXONOMY.validate_python(data.get("taxonomy"))
    if taxonomy is not None:
        tax = resolve_taxonomy(taxonomy)
        categories, skills = tax.category_codes(), tax.skill_codes()
        if any(not skills.issuperset(v.skills) for v in tables["volunteers"]) or any(
                d.category not in categories or not skills.issuperset(d.required_skills) for d in tables["demands"]):
            raise _NotSure
    travel = data.get("travel")
    values = {
        **tables,
        "travel": None if travel is None else Travel.model_validate(travel),
        "options": None if options is None else SolveOptions.model_validate(options),
        "taxonomy": taxonomy,
        "timezone": tz_name,
        "warnings": (),
    }
    problem: Problem = _lean(Problem, {n: values[n] for n in Problem.model_fields}, set(data))
    return problem
