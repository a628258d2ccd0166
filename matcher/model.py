"""The data contract of SPEC.md as frozen pydantic models.

Field names and meanings follow ``shared/SPEC.md`` exactly; fields marked
*extension* below are additions the SPEC allows ("the engine may accept more").
Field-level rules (ranges, types, ``start < end``) are checked by pydantic at
construction; rules that span records (unique ids, references, taxonomy codes)
are checked by :meth:`Problem._check_records`, which raises
:class:`~matcher.errors.ProblemError` naming every bad record at once.

Sizes are bounded, so that a slip in an export cannot exhaust the machine
(an *extension*: SPEC.md gives no upper limits): ids, codes and names at most
500 characters; a volunteer at most 200 skills and 1,000 availability windows,
``max_tasks`` <= 1,000, ``max_hours`` <= 10,000, ``max_travel_km`` <= 1,000,
``recent_hours`` <= 100,000; a demand at most 50 required skills and 100
preferred volunteers, ``headcount`` <= 100,000. NaN and infinite numbers are
refused everywhere.

Models are immutable; change them with :meth:`Problem.replace`, which
re-validates.
"""

from __future__ import annotations

import enum
import json
import tomllib
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from matcher.errors import ProblemError

__all__ = [
    "Area",
    "Assignment",
    "AssignmentOut",
    "Demand",
    "Problem",
    "Solution",
    "SolveOptions",
    "Status",
    "Taxonomy",
    "Unmet",
    "UnmetReason",
    "Volunteer",
    "Window",
]

DEFAULT_PRIORITY_WEIGHTS: dict[int, int] = {1: 1, 2: 2, 3: 4, 4: 8, 5: 16}


MAX_TEXT = 500
"""Longest id, code or name accepted (characters)."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False, str_max_length=MAX_TEXT)


Latitude = Field(ge=-90.0, le=90.0, description="WGS84 latitude in degrees")
Longitude = Field(ge=-180.0, le=180.0, description="WGS84 longitude in degrees")


class Window(_Frozen):
    """A time window ``[start, end]`` with time-zone offsets, ``start < end``."""

    start: AwareDatetime
    end: AwareDatetime

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if not self.start < self.end:
            raise ValueError(f"start ({self.start.isoformat()}) must be before end ({self.end.isoformat()})")
        return self


class Area(_Frozen):
    """A grid cell (网格) that demands come from."""

    id: str = Field(min_length=1)
    lat: float = Latitude
    lon: float = Longitude
    community: str | None = None
    street: str | None = None


class Volunteer(_Frozen):
    """A registered person who can be dispatched."""

    id: str = Field(min_length=1)
    lat: float = Latitude
    lon: float = Longitude
    skills: tuple[str, ...] = Field(default=(), max_length=200)
    availability: tuple[Window, ...] = Field(default=(), max_length=1000)
    max_tasks: int = Field(default=3, ge=0, le=1000)
    max_hours: float = Field(default=8.0, ge=0.0, le=10_000.0)
    max_travel_km: float = Field(default=2.0, gt=0.0, le=1000.0)
    team_id: str | None = None
    insured: bool = True
    recent_hours: float = Field(default=0.0, ge=0.0, le=100_000.0)


class Demand(_Frozen):
    """One ordered service (点单) needing ``headcount`` volunteers."""

    id: str = Field(min_length=1)
    area_id: str | None = None
    lat: float | None = Field(default=None, ge=-90.0, le=90.0)
    lon: float | None = Field(default=None, ge=-180.0, le=180.0)
    category: str = Field(min_length=1)
    required_skills: tuple[str, ...] = Field(default=(), max_length=50)
    headcount: int = Field(ge=1, le=100_000)
    start: AwareDatetime
    end: AwareDatetime
    priority: int = Field(ge=1, le=5)
    requires_insured: bool = False
    team_id: str | None = None
    preferred_volunteers: tuple[str, ...] = Field(default=(), max_length=100)

    @model_validator(mode="after")
    def _check(self) -> Self:
        if not self.start < self.end:
            raise ValueError(f"start ({self.start.isoformat()}) must be before end ({self.end.isoformat()})")
        if (self.lat is None) != (self.lon is None):
            raise ValueError("lat and lon must be given together")
        if self.lat is None and self.area_id is None:
            raise ValueError("needs either area_id or lat/lon")
        return self


class Assignment(_Frozen):
    """One volunteer sent to one demand (派单)."""

    volunteer_id: str
    demand_id: str


class Skill(_Frozen):
    """A skill code of a taxonomy."""

    code: str = Field(min_length=1)
    name: str = ""
    certificate: bool = False


class Subcategory(_Frozen):
    """A subcategory of a service category, with the skills it usually needs."""

    code: str = Field(min_length=1)
    name: str = ""
    skills: tuple[str, ...] = ()


class Category(_Frozen):
    """A service category of a needs menu."""

    code: str = Field(min_length=1)
    name: str = ""
    subcategories: tuple[Subcategory, ...] = ()


class Taxonomy(_Frozen):
    """Categories, subcategories and skill codes that a problem's codes must come from."""

    name: str = "custom"
    extends: Literal["builtin"] | None = Field(
        default=None, description='"builtin": these codes are added to the shipped taxonomy (same code: this one wins)'
    )
    categories: tuple[Category, ...] = ()
    skills: tuple[Skill, ...] = ()

    def merged_onto(self, base: Taxonomy) -> Taxonomy:
        """``base`` extended by this taxonomy: new codes added; a category's subcategories merged; same code wins."""
        cats = {c.code: c for c in base.categories}
        for c in self.categories:
            if c.code in cats:
                subs = {s.code: s for s in cats[c.code].subcategories}
                subs.update((s.code, s) for s in c.subcategories)
                c = Category(code=c.code, name=c.name or cats[c.code].name, subcategories=tuple(subs.values()))
            cats[c.code] = c
        skills = {s.code: s for s in base.skills}
        skills.update((s.code, s) for s in self.skills)
        return Taxonomy(name=self.name, categories=tuple(cats.values()), skills=tuple(skills.values()))

    def category_codes(self) -> frozenset[str]:
        """Codes a demand's ``category`` may take: categories and subcategories."""
        codes = {c.code for c in self.categories}
        codes.update(s.code for c in self.categories for s in c.subcategories)
        return frozenset(codes)

    def skill_codes(self) -> frozenset[str]:
        """Codes a skill list may contain."""
        return frozenset(s.code for s in self.skills)


class SolveOptions(_Frozen):
    """Settings of one solve; each checks its own range.

    Secondary weights are in *points*; the integer scale used by the solvers
    is documented in :mod:`matcher.costs`.
    """

    time_limit_s: float = Field(default=30.0, gt=0.0, le=86_400.0, description="wall-clock budget of the solve")
    seed: int = Field(
        default=0, ge=0, le=2**31 - 1, description="random seed; same input and seed give the same output"
    )
    threads: int = Field(default=1, ge=1, le=256, description="CP-SAT workers")
    priority_weights: dict[int, int] = Field(
        default_factory=lambda: dict(DEFAULT_PRIORITY_WEIGHTS),
        description="coverage weight w(priority) for priorities 1..5",
    )
    travel_weight: float = Field(default=1.0, ge=0.0, le=1e6, description="points per km travelled")
    recent_hours_weight: float = Field(
        default=0.05, ge=0.0, le=1e6, description="points per assignment per hour the volunteer served recently"
    )
    load_weight: float = Field(
        default=0.5, ge=0.0, le=1e6, description="points per volunteer per (tasks assigned)^2: piling up costs more"
    )
    continuity_weight: float = Field(
        default=5.0, ge=0.0, le=1e6, description="points per demand served by none of its preferred_volunteers"
    )
    max_memory_mb: float | None = Field(
        default=None, gt=0.0, le=1e9,
        description="refuse a problem whose estimated peak memory exceeds this (default: 90% of what is available)",
    )
    change_weight: float = Field(
        default=10.0, ge=0.0, le=1e6, description="points per assignment of Problem.previous that is not kept"
    )

    @field_validator("priority_weights")
    @classmethod
    def _weights(cls, value: dict[int, int]) -> dict[int, int]:
        if sorted(value) != [1, 2, 3, 4, 5]:
            raise ValueError("must give a weight for each priority 1..5")
        if any(w < 1 or w > 1_000_000 for w in value.values()):
            raise ValueError("weights must be integers from 1 to 1000000")
        return value

    @classmethod
    def from_file(cls, path: str | Path) -> SolveOptions:
        """Load options from a TOML, YAML or JSON file, by its suffix (unknown keys are an error).

        YAML errors name the line of the bad key; TOML and JSON errors name the key.
        """
        path = Path(path)
        locator: Locator | None = None
        if path.suffix in (".yaml", ".yml"):
            from matcher.yamlfile import read_yaml

            doc = read_yaml(path)
            raw, locator = doc.data, doc.render
        else:
            try:
                text = path.read_text(encoding="utf-8")
                raw = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
            except (OSError, UnicodeDecodeError, ValueError) as exc:
                raise ProblemError([f"{path}: cannot read options: {exc}"]) from None
        if not isinstance(raw, Mapping):
            raise ProblemError([f"{path}: options must be a mapping of names to values"])
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            raise ProblemError(format_validation_error(exc, raw, source=str(path), locator=locator)) from None


class Problem(_Frozen):
    """A whole matching problem: the input of :func:`matcher.solve`.

    Extensions to SPEC.md: ``previous`` (assignments of an earlier solution,
    which the change term of the secondary objective prefers to keep) and
    ``taxonomy`` (``"builtin"`` or an inline :class:`Taxonomy`; when set, every
    category and skill code must come from it).
    """

    areas: tuple[Area, ...] = ()
    volunteers: tuple[Volunteer, ...] = ()
    demands: tuple[Demand, ...] = ()
    pinned: tuple[Assignment, ...] = ()
    forbidden: tuple[Assignment, ...] = ()
    previous: tuple[Assignment, ...] = ()
    options: SolveOptions | None = None
    taxonomy: Literal["builtin"] | Taxonomy | None = None

    @model_validator(mode="after")
    def _check_records(self) -> Self:
        errors: list[RecordIssue] = []
        area_ids = _unique_ids("areas", self.areas, errors)
        volunteer_ids = _unique_ids("volunteers", self.volunteers, errors)
        demand_ids = _unique_ids("demands", self.demands, errors)
        for i, d in enumerate(self.demands):
            if d.area_id is not None and d.area_id not in area_ids:
                errors.append((("demands", i, "area_id"), f"unknown area {d.area_id!r}"))
            for vid in d.preferred_volunteers:
                if vid not in volunteer_ids:
                    errors.append((("demands", i, "preferred_volunteers"), f"unknown volunteer {vid!r}"))
        for name in ("pinned", "forbidden", "previous"):
            seen: set[tuple[str, str]] = set()
            for i, a in enumerate(getattr(self, name)):
                if a.volunteer_id not in volunteer_ids:
                    errors.append(((name, i, "volunteer_id"), f"unknown volunteer {a.volunteer_id!r}"))
                if a.demand_id not in demand_ids:
                    errors.append(((name, i, "demand_id"), f"unknown demand {a.demand_id!r}"))
                key = (a.volunteer_id, a.demand_id)
                if key in seen:
                    errors.append(((name, i), f"pair ({a.volunteer_id!r}, {a.demand_id!r}) given twice"))
                seen.add(key)
        if self.taxonomy is not None:
            errors.extend(_taxonomy_errors(self))
        if errors:
            raise RecordErrors(errors)
        return self

    def resolved_taxonomy(self) -> Taxonomy | None:
        """The taxonomy object this problem names, loading the shipped one for ``"builtin"``."""
        if self.taxonomy is None:
            return None
        from matcher.taxonomy import resolve_taxonomy

        return resolve_taxonomy(self.taxonomy)

    @classmethod
    def from_dict(cls, data: Any, *, source: str = "problem", locator: Locator | None = None) -> Problem:
        """Validate plain data (parsed JSON, or rows of tables) into a Problem.

        ``locator`` names an error's location for the messages (default: JSON style under ``source``).

        Raises
        ------
        ProblemError
            With one message per bad field, each naming record and field.

        """
        if not isinstance(data, Mapping):
            raise ProblemError([f"{source}: top level must be a JSON object, got {type(data).__name__}"])
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise ProblemError(format_validation_error(exc, data, source=source, locator=locator)) from None

    def replace(self, **changes: Any) -> Problem:
        """Return a validated copy with some top-level fields replaced."""
        data = {name: getattr(self, name) for name in type(self).model_fields}
        data.update(changes)
        return type(self).model_validate(data)


def shown_id(value: str, limit: int = 40) -> str:
    """An id quoted for a message, shortened when it is absurdly long (the message must stay readable)."""
    return repr(value) if len(value) <= limit else f"{value[:limit]!r}... ({len(value)} characters)"


RecordIssue = tuple[tuple[str | int, ...], str]
"""A problem found across records: its location (table, row index, field) and the message."""


class RecordErrors(ValueError):
    """Cross-record problems found by :meth:`Problem._check_records`, with their locations."""

    def __init__(self, issues: list[RecordIssue]) -> None:
        self.issues = issues
        super().__init__("; ".join(f"{'.'.join(map(str, loc))}: {msg}" for loc, msg in issues[:20]))


def _unique_ids(kind: str, records: Iterable[Area | Volunteer | Demand], errors: list[RecordIssue]) -> set[str]:
    ids: set[str] = set()
    for i, r in enumerate(records):
        if r.id in ids:
            errors.append(((kind, i, "id"), f"duplicate id {shown_id(r.id)}"))
        ids.add(r.id)
    return ids


def _taxonomy_errors(problem: Problem) -> list[RecordIssue]:
    tax = problem.resolved_taxonomy()
    assert tax is not None
    categories, skills = tax.category_codes(), tax.skill_codes()
    errors: list[RecordIssue] = []
    for i, v in enumerate(problem.volunteers):
        for s in v.skills:
            if s not in skills:
                errors.append((("volunteers", i, "skills"), f"{s!r} is not a skill of taxonomy {tax.name!r}"))
    for i, d in enumerate(problem.demands):
        if d.category not in categories:
            errors.append((("demands", i, "category"), f"{d.category!r} is not in taxonomy {tax.name!r}"))
        for s in d.required_skills:
            if s not in skills:
                errors.append((("demands", i, "required_skills"), f"{s!r} is not a skill of taxonomy {tax.name!r}"))
    return errors


Locator = Callable[[tuple[str | int, ...], Any], str]
"""Renders an error location (path into the input data) as text for a message."""


def json_locator(source: str) -> Locator:
    """Name a location as ``source.table[i] (id 'x').field``, the style of JSON input."""

    def render(loc: tuple[str | int, ...], data: Any) -> str:
        where = source
        node: Any = data
        for part in loc:
            if isinstance(part, int):
                where += f"[{part}]"
                node = node[part] if isinstance(node, list | tuple) and part < len(node) else None
                if isinstance(node, Mapping) and isinstance(node.get("id"), str):
                    where += f" (id {shown_id(node['id'])})"
            else:
                where += f".{part}"
                node = node.get(part) if isinstance(node, Mapping) else None
        return where

    return render


def format_validation_error(
    exc: ValidationError, data: Any, *, source: str, locator: Locator | None = None
) -> list[str]:
    """Turn a pydantic error into lines that name the record (with its id) and field.

    ``locator`` renders a location; the default names it in JSON style under ``source``.
    Cross-record problems (:class:`RecordErrors`) are expanded one line each.
    """
    render = locator or json_locator(source)
    lines: list[str] = []
    for err in exc.errors(include_url=False):
        inner = err.get("ctx", {}).get("error")
        if isinstance(inner, RecordErrors):
            lines.extend(f"{render(tuple(err['loc']) + loc, data)}: {msg}" for loc, msg in inner.issues)
            continue
        msg = err["msg"].removeprefix("Value error, ")
        lines.append(f"{render(tuple(err['loc']), data)}: {msg}")
    return lines


class Status(enum.StrEnum):
    """Outcome of a solve, as in SPEC.md."""

    OPTIMAL = "optimal"
    FEASIBLE = "feasible"
    INFEASIBLE = "infeasible"
    TIMEOUT_NO_SOLUTION = "timeout_no_solution"


class UnmetReason(enum.StrEnum):
    """Why seats of a demand stay unfilled (SPEC.md, Solution)."""

    NO_SKILLED_VOLUNTEER = "no_skilled_volunteer"
    NONE_IN_RANGE = "none_in_range"
    NONE_AVAILABLE = "none_available"
    CAPACITY_TAKEN = "capacity_taken"


class AssignmentOut(_Frozen):
    """An assignment in a solution, with its straight-line travel."""

    volunteer_id: str
    demand_id: str
    travel_km: float


class Unmet(_Frozen):
    """Seats of one demand left unfilled for one reason."""

    demand_id: str
    missing: int = Field(ge=1)
    reason: UnmetReason


class Solution(_Frozen):
    """The answer of a solve (SPEC.md). Extensions: ``gap`` and ``runtime_s``."""

    status: Status
    coverage: float
    coverage_bound: float
    secondary: float
    assignments: tuple[AssignmentOut, ...] = ()
    unmet: tuple[Unmet, ...] = ()
    kpis: dict[str, Any] = Field(default_factory=dict)
    stats: dict[str, Any] = Field(default_factory=dict)
    gap: float = Field(default=0.0, description="(coverage_bound - coverage) / max(coverage_bound, 1)")
    runtime_s: float = 0.0


def utc_timestamp_us(value: datetime) -> int:
    """Microseconds since the Unix epoch of an aware datetime (exact integer arithmetic)."""
    delta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


_EPOCH = datetime.fromisoformat("1970-01-01T00:00:00+00:00")
