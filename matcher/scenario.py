"""What-if scenario files: a base place and variants of it, each a list of edits a planner understands.

A scenario file is YAML (parsed safely, see :mod:`matcher.yamlfile`)::

    name: Flu wave
    base: {preset: street, seed: 1}        # or {data: some/folder_or_problem.json}
    options: {time_limit_s: 10}            # SolveOptions for every solve
    variants:
      - name: a third off sick
        edits:
          - remove_volunteers: {share: 0.33, seed: 7}
          - scale_demand: {categories: [errands, medicine_delivery], factor: 2}

The edits (each a one-key mapping; fields in :data:`EDITS`):

``remove_volunteers``
    take a share of volunteers away (at random with a seed), optionally only
    those living in some areas / communities / streets, of some teams, or
    holding some skills;
``add_volunteers``
    a new station or recruitment drive: ``count`` volunteers around a place,
    with skills, days and hours, optionally as a new team;
``scale_demand``
    multiply the orders of some categories / areas / priorities by
    ``factor`` (2 = each order gets a twin order; 0.5 = half are dropped);
``add_event``
    a large event needing ``headcount`` volunteers at one or more places;
``change_travel``
    scale (``factor``) or set (``km``) how far volunteers travel;
``add_team_block`` / ``remove_team_block``
    bind a share of some areas' orders to a team (包干), or release them;
``set_options``
    change solve options, e.g. ``priority_weights``.

Every error names the file, the line and the key, and the whole file
(including each edit's references to areas, teams, skills, categories) is
checked before anything is solved or written.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator

from matcher.errors import ProblemError
from matcher.model import Area, Assignment, Demand, Problem, SolveOptions, Volunteer, Window, format_validation_error
from matcher.yamlfile import YamlDoc, read_yaml

__all__ = ["EDITS", "Scenario", "ScenarioFile", "Variant", "load_scenario"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Places(_Strict):
    """Where an edit applies; empty lists mean everywhere. A volunteer's place is the area nearest home."""

    areas: tuple[str, ...] = ()
    communities: tuple[str, ...] = ()
    streets: tuple[str, ...] = ()


class RemoveVolunteers(Places):
    """Take ``share`` of the matching volunteers away (drawn with ``seed``)."""

    share: float = Field(gt=0.0, le=1.0)
    seed: int = Field(default=0, ge=0)
    teams: tuple[str, ...] = ()
    skills: tuple[str, ...] = Field(default=(), description="volunteers holding any of these")


class AddVolunteers(_Strict):
    """``count`` new volunteers living around a place (an area, community or street)."""

    count: int = Field(ge=1, le=100_000)
    area: str | None = None
    community: str | None = None
    street: str | None = None
    spread_km: float = Field(default=0.6, gt=0.0, le=20.0, description="how far from the place's centre they live")
    skills: tuple[str, ...] = Field(default=(), description="every new volunteer holds these (and general)")
    skill_mix: dict[str, float] = Field(default_factory=dict,
                                        description="skill -> share of the new volunteers who also hold it")
    days: Literal["weekdays", "weekend", "all"] = "all"
    hours: str = Field(default="09:00-17:00", pattern=r"^\d\d:\d\d-\d\d:\d\d$")
    team: str | None = None
    id_prefix: str = Field(default="NEW", min_length=1)
    max_tasks: int = Field(default=3, ge=0)
    max_hours: float = Field(default=8.0, ge=0.0)
    max_travel_km: float = Field(default=1.5, gt=0.0)
    insured: bool = True
    seed: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _one_place(self) -> AddVolunteers:
        if sum(x is not None for x in (self.area, self.community, self.street)) != 1:
            raise ValueError("name exactly one of area, community, street")
        a, b = self.hours.split("-")
        if not (time.fromisoformat(a) < time.fromisoformat(b)):
            raise ValueError("hours must be 'HH:MM-HH:MM' with the start before the end")
        if any(not 0.0 <= s <= 1.0 for s in self.skill_mix.values()):
            raise ValueError("skill_mix shares must be between 0 and 1")
        return self


class ScaleDemand(Places):
    """Multiply the matching orders by ``factor``: whole twins, and a drawn share for the fraction."""

    factor: float = Field(ge=0.0, le=20.0)
    categories: tuple[str, ...] = Field(default=(), description="category or subcategory codes")
    priorities: tuple[int, ...] = ()
    seed: int = Field(default=0, ge=0)


class AddEvent(_Strict):
    """A large event: ``headcount`` volunteers at one place or split over several (posts along a route)."""

    id: str = Field(min_length=1)
    area: str | None = None
    areas: tuple[str, ...] = ()
    lat: float | None = Field(default=None, ge=-90.0, le=90.0)
    lon: float | None = Field(default=None, ge=-180.0, le=180.0)
    start: AwareDatetime
    end: AwareDatetime
    headcount: int = Field(ge=1, le=100_000)
    skills: tuple[str, ...] = ("general",)
    category: str = "events"
    priority: int = Field(default=3, ge=1, le=5)
    requires_insured: bool = True

    @model_validator(mode="after")
    def _place_and_time(self) -> AddEvent:
        places = (self.area is not None) + bool(self.areas) + (self.lat is not None or self.lon is not None)
        if places != 1 or (self.lat is None) != (self.lon is None):
            raise ValueError("give exactly one of: area, areas, or lat and lon")
        if not self.start < self.end:
            raise ValueError("start must be before end")
        if len(self.areas) > self.headcount:
            raise ValueError("more areas than headcount")
        return self


class ChangeTravel(Places):
    """Scale (``factor``) or set (``km``) the matching volunteers' max travel; 15 to 20 minutes is factor 1.333."""

    factor: float | None = Field(default=None, gt=0.0, le=10.0)
    km: float | None = Field(default=None, gt=0.0, le=100.0)
    teams: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _one(self) -> ChangeTravel:
        if (self.factor is None) == (self.km is None):
            raise ValueError("give exactly one of factor, km")
        return self


class AddTeamBlock(Places):
    """Bind ``share`` of the orders from these places (not bound to a team yet) to ``team``."""

    team: str = Field(min_length=1)
    share: float = Field(default=1.0, gt=0.0, le=1.0)
    seed: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _somewhere(self) -> AddTeamBlock:
        if not (self.areas or self.communities or self.streets):
            raise ValueError("name the block: areas, communities or streets")
        return self


class RemoveTeamBlock(Places):
    """Release the orders bound to ``team`` (in these places, or everywhere)."""

    team: str = Field(min_length=1)


class SetOptions(SolveOptions):
    """Solve options for this variant (any :class:`~matcher.model.SolveOptions` field)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


EDITS: dict[str, type[BaseModel]] = {
    "remove_volunteers": RemoveVolunteers,
    "add_volunteers": AddVolunteers,
    "scale_demand": ScaleDemand,
    "add_event": AddEvent,
    "change_travel": ChangeTravel,
    "add_team_block": AddTeamBlock,
    "remove_team_block": RemoveTeamBlock,
    "set_options": SetOptions,
}
"""The edits a variant can list, by the key that names them in the file."""


class Base(_Strict):
    """The place a scenario starts from: a generator preset, or data (a folder of tables or a problem JSON)."""

    preset: str | None = None
    seed: int = Field(default=0, ge=0)
    scale: float = Field(default=1.0, gt=0.0, le=10.0)
    holiday: bool | None = None
    data: str | None = None

    @model_validator(mode="after")
    def _one(self) -> Base:
        if (self.preset is None) == (self.data is None):
            raise ValueError("give exactly one of preset, data")
        from matcher.generate import PRESETS

        if self.preset is not None and self.preset not in PRESETS:
            raise ValueError(f"unknown preset {self.preset!r} (known: {', '.join(PRESETS)})")
        return self


class Variant(_Strict):
    """A named list of edits to the base."""

    name: str = Field(min_length=1, max_length=60)
    description: str = ""
    edits: tuple[dict[str, Any], ...] = Field(min_length=1)


class ScenarioFile(_Strict):
    """The whole file, as written (edits checked separately, each against :data:`EDITS`)."""

    name: str = Field(min_length=1)
    description: str = ""
    base: Base
    options: dict[str, Any] = Field(default_factory=dict)
    variants: tuple[Variant, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_names(self) -> ScenarioFile:
        names = [v.name for v in self.variants]
        dup = sorted({n for n in names if names.count(n) > 1 or n == "base"})
        if dup:
            raise ValueError(f"variant names must be unique and not 'base': {', '.join(dup)}")
        return self


@dataclass(frozen=True)
class Scenario:
    """A checked scenario: the base problem and each variant's problem and options, ready to solve."""

    name: str
    description: str
    path: Path
    base: Problem
    options: SolveOptions
    variants: list[tuple[Variant, Problem, SolveOptions]]


def load_scenario(path: str | Path, *, data_root: str | Path | None = None,
                  time_limit_s: float | None = None) -> Scenario:
    """Read, check and build a scenario: the base and every variant's problem (nothing is solved).

    Parameters
    ----------
    path
        The YAML file.
    data_root
        The folder a ``base.data`` path must stay inside (default: the scenario file's folder).
    time_limit_s
        Overrides every solve's time limit.

    Raises
    ------
    ProblemError
        Naming the file, the line and the key of every mistake found.

    """
    doc = read_yaml(path)
    try:
        spec = ScenarioFile.model_validate(doc.data)
    except ValidationError as exc:
        raise ProblemError(format_validation_error(exc, doc.data, source=str(doc.path), locator=doc.render)) from None
    edits = [[_parse_edit(doc, i, j, raw) for j, raw in enumerate(v.edits)] for i, v in enumerate(spec.variants)]
    try:
        options = SolveOptions.model_validate({**spec.options, **(
            {"time_limit_s": time_limit_s} if time_limit_s is not None else {})})
    except ValidationError as exc:
        raise ProblemError(format_validation_error(exc, spec.options, source=str(doc.path),
                                                   locator=lambda loc, d: doc.where(("options", *loc)))) from None
    base = _load_base(doc, spec.base, Path(data_root) if data_root else doc.path.parent)
    variants = []
    for i, (variant, variant_edits) in enumerate(zip(spec.variants, edits)):
        work = _Work.of(base)
        opts = options
        for j, (kind, edit) in enumerate(variant_edits):
            where = ("variants", i, "edits", j, kind)
            if isinstance(edit, SetOptions):
                given = edit.model_dump(exclude_unset=True)
                opts = SolveOptions.model_validate({**opts.model_dump(), **given})
                continue
            try:
                _APPLY[type(edit)](work, edit)
            except _EditError as exc:
                raise ProblemError([f"{doc.where((*where, *exc.loc))}: {exc.msg}"]) from None
        try:
            problem = work.problem()
        except ProblemError as exc:
            raise ProblemError([f"{doc.where(('variants', i))}: the edits make an invalid problem: {e}"
                                for e in exc.errors]) from None
        variants.append((variant, problem, opts))
    return Scenario(spec.name, spec.description, doc.path, base, options, variants)


def _parse_edit(doc: YamlDoc, i: int, j: int, raw: dict[str, Any]) -> tuple[str, BaseModel]:
    loc: tuple[str | int, ...] = ("variants", i, "edits", j)
    if len(raw) != 1:
        raise ProblemError([f"{doc.where(loc)}: an edit is one key naming it (known: {', '.join(EDITS)})"])
    kind, value = next(iter(raw.items()))
    if kind not in EDITS:
        raise ProblemError([f"{doc.where((*loc, kind))}: unknown edit {kind!r} (known: {', '.join(EDITS)})"])
    if not isinstance(value, dict):
        raise ProblemError([f"{doc.where((*loc, kind))}: expected a mapping of the edit's fields"])
    try:
        return kind, EDITS[kind].model_validate(value)
    except ValidationError as exc:
        raise ProblemError(format_validation_error(
            exc, value, source=str(doc.path), locator=lambda sub, d: doc.where((*loc, kind, *sub)))) from None


def _load_base(doc: YamlDoc, base: Base, root: Path) -> Problem:
    if base.preset is not None:
        from matcher.generate import generate_problem

        return generate_problem(base.preset, base.seed, scale=base.scale, holiday=base.holiday)
    assert base.data is not None
    target = (doc.path.parent / base.data).resolve()
    if not target.is_relative_to(root.resolve()):
        raise ProblemError([f"{doc.where(('base', 'data'))}: path {base.data!r} leaves {root} "
                            "(data must sit inside the scenario's folder, or pass --data-root)"])
    if not target.exists():
        raise ProblemError([f"{doc.where(('base', 'data'))}: no such file or folder: {target}"])
    from matcher.batch import load_input

    return load_input(target)


class _EditError(Exception):
    def __init__(self, loc: tuple[str | int, ...], msg: str) -> None:
        super().__init__(msg)
        self.loc, self.msg = loc, msg


@dataclass
class _Work:
    """A variant being built: mutable lists of the base's records."""

    base: Problem
    volunteers: list[Volunteer]
    demands: list[Demand]
    pinned: list[Assignment]
    forbidden: list[Assignment]
    previous: list[Assignment]
    areas: dict[str, Area]
    parent: dict[str, str] = field(default_factory=dict)  # subcategory -> category

    @classmethod
    def of(cls, p: Problem) -> _Work:
        tax = p.resolved_taxonomy()
        parent = {s.code: c.code for c in tax.categories for s in c.subcategories} if tax else {}
        return cls(p, list(p.volunteers), list(p.demands), list(p.pinned), list(p.forbidden), list(p.previous),
                   {a.id: a for a in p.areas}, parent)

    def problem(self) -> Problem:
        vids = {v.id for v in self.volunteers}
        dids = {d.id for d in self.demands}

        def live(pairs: list[Assignment]) -> tuple[Assignment, ...]:
            return tuple(a for a in pairs if a.volunteer_id in vids and a.demand_id in dids)

        demands = [d if all(p in vids for p in d.preferred_volunteers) else d.model_copy(
            update={"preferred_volunteers": tuple(p for p in d.preferred_volunteers if p in vids)})
            for d in self.demands]
        return self.base.replace(volunteers=tuple(self.volunteers), demands=tuple(demands),
                                 pinned=live(self.pinned), forbidden=live(self.forbidden),
                                 previous=live(self.previous))

    # -- places --------------------------------------------------------------------------
    def area_mask(self, places: Places, area_ids: Sequence[str | None]) -> np.ndarray:
        """Which of ``area_ids`` lie in the places named (all when none is named); unknown names are errors."""
        known: dict[str, set[str | None]] = {
            "areas": set(self.areas), "communities": {a.community for a in self.areas.values()},
            "streets": {a.street for a in self.areas.values()}}
        for key in ("areas", "communities", "streets"):
            for name in getattr(places, key):
                if name not in known[key]:
                    sample = ", ".join(sorted(str(k) for k in known[key] if k)[:5])
                    raise _EditError((key,), f"unknown {key[:-1] if key != 'communities' else 'community'} "
                                             f"{name!r} (e.g. {sample})")
        if not (places.areas or places.communities or places.streets):
            return np.ones(len(area_ids), dtype=bool)
        ok = set(places.areas)
        ok |= {a.id for a in self.areas.values() if a.community in places.communities}
        ok |= {a.id for a in self.areas.values() if a.street in places.streets}
        return np.array([a in ok for a in area_ids], dtype=bool)

    def home_areas(self) -> list[str | None]:
        """The area nearest each volunteer's home (``None`` when the problem has no areas)."""
        if not self.areas:
            return [None] * len(self.volunteers)
        from scipy.spatial import cKDTree

        ids = sorted(self.areas)
        lat = np.array([self.areas[a].lat for a in ids])
        lon = np.array([self.areas[a].lon for a in ids])
        squeeze = math.cos(math.radians(float(lat.mean())))  # one projection for homes and areas
        tree = cKDTree(np.column_stack([lat, lon * squeeze]))
        _, nearest = tree.query(np.column_stack([[v.lat for v in self.volunteers],
                                                 np.array([v.lon for v in self.volunteers]) * squeeze]))
        return [ids[int(k)] for k in np.atleast_1d(nearest)]

    def check_teams(self, teams: Sequence[str], key: str) -> None:
        known = {v.team_id for v in self.volunteers if v.team_id}
        for t in teams:
            if t not in known:
                raise _EditError((key,), f"unknown team {t!r}: no volunteer belongs to it")

    def check_skills(self, skills: Sequence[str], key: str) -> None:
        tax = self.base.resolved_taxonomy()
        if tax is None:
            return
        codes = {s.code for s in tax.skills}
        for s in skills:
            if s not in codes:
                raise _EditError((key,), f"unknown skill {s!r}")

    def horizon(self) -> tuple[datetime, datetime]:
        starts = [d.start for d in self.base.demands] or [datetime.now().astimezone()]
        ends = [d.end for d in self.base.demands] or [starts[0] + timedelta(days=7)]
        return min(starts), max(ends)


def _remove_volunteers(w: _Work, e: RemoveVolunteers) -> None:
    w.check_teams(e.teams, "teams")
    w.check_skills(e.skills, "skills")
    mask = w.area_mask(e, w.home_areas())
    if e.teams:
        mask &= np.array([v.team_id in e.teams for v in w.volunteers], dtype=bool)
    if e.skills:
        mask &= np.array([any(s in v.skills for s in e.skills) for v in w.volunteers], dtype=bool)
    idx = np.flatnonzero(mask)
    n = round(e.share * len(idx))
    gone = set(np.random.default_rng(e.seed).choice(idx, size=n, replace=False).tolist()) if n else set()
    w.volunteers = [v for k, v in enumerate(w.volunteers) if k not in gone]


def _add_volunteers(w: _Work, e: AddVolunteers) -> None:
    w.check_skills([*e.skills, *e.skill_mix], "skills" if e.skills else "skill_mix")
    key, name = next((k, n) for k, n in (("area", e.area), ("community", e.community), ("street", e.street)) if n)
    chosen = [a for a in w.areas.values() if name in (a.id if key == "area" else getattr(a, key))]
    if not chosen:
        raise _EditError((key,), f"unknown {key} {name!r}")
    lat0 = float(np.mean([a.lat for a in chosen]))
    lon0 = float(np.mean([a.lon for a in chosen]))
    taken = {v.id for v in w.volunteers}
    rng = np.random.default_rng(e.seed)
    first, last = w.horizon()
    tz = first.tzinfo
    h0, h1 = (time.fromisoformat(x) for x in e.hours.split("-"))
    day = datetime.combine(first.date(), time(0), tzinfo=tz)
    windows = []
    while day <= last:
        if e.days == "all" or (day.weekday() < 5) == (e.days == "weekdays"):
            windows.append(Window(start=datetime.combine(day.date(), h0, tzinfo=tz),
                                  end=datetime.combine(day.date(), h1, tzinfo=tz)))
        day += timedelta(days=1)
    for k in range(e.count):
        vid = f"{e.id_prefix}{k + 1:05d}"
        if vid in taken:
            raise _EditError(("id_prefix",), f"volunteer id {vid!r} already exists; choose another id_prefix")
        dy, dx = rng.normal(0.0, e.spread_km / 2, size=2)
        skills = {"general", *e.skills} | {s for s, share in sorted(e.skill_mix.items()) if rng.random() < share}
        w.volunteers.append(Volunteer(
            id=vid, lat=round(lat0 + dy / 111.2, 6), lon=round(lon0 + dx / (111.2 * math.cos(math.radians(lat0))), 6),
            skills=tuple(sorted(skills)), availability=tuple(windows), max_tasks=e.max_tasks, max_hours=e.max_hours,
            max_travel_km=e.max_travel_km, team_id=e.team, insured=e.insured))


def _scale_demand(w: _Work, e: ScaleDemand) -> None:
    known = set(w.parent) | set(w.parent.values()) | {d.category for d in w.demands}
    for c in e.categories:
        if c not in known:
            raise _EditError(("categories",), f"unknown category {c!r}")
    mask = w.area_mask(e, [d.area_id for d in w.demands])
    cats = set(e.categories)
    out: list[Demand] = []
    rng = np.random.default_rng(e.seed)
    ids = {d.id for d in w.demands}
    whole, frac = int(e.factor), e.factor - int(e.factor)
    for d, m in zip(w.demands, mask):
        hit = bool(m) and (not cats or d.category in cats or w.parent.get(d.category) in cats) and (
            not e.priorities or d.priority in e.priorities)
        if not hit:
            out.append(d)
            continue
        copies = whole + int(rng.random() < frac)
        if copies >= 1:
            out.append(d)
        for n in range(2, copies + 1):
            twin = f"{d.id}~{n}"
            while twin in ids:
                twin += "'"
            ids.add(twin)
            out.append(d.model_copy(update={"id": twin, "preferred_volunteers": ()}))
    w.demands = out


def _add_event(w: _Work, e: AddEvent) -> None:
    if e.id in {d.id for d in w.demands}:
        raise _EditError(("id",), f"demand id {e.id!r} already exists")
    w.check_skills(e.skills, "skills")
    places: list[tuple[str | None, int]]
    if e.area is not None or e.areas:
        names = [e.area] if e.area is not None else list(e.areas)
        for name in names:
            if name not in w.areas:
                raise _EditError(("area" if e.area else "areas",), f"unknown area {name!r}")
        n = len(names)
        places = [(a, e.headcount // n + (k < e.headcount % n)) for k, a in enumerate(names)]
    else:
        places = [(None, e.headcount)]
    for k, (area, head) in enumerate(places):
        w.demands.append(Demand(
            id=e.id if len(places) == 1 else f"{e.id}-{k + 1}", area_id=area,
            lat=e.lat if area is None else None, lon=e.lon if area is None else None, category=e.category,
            required_skills=e.skills, headcount=head, start=e.start, end=e.end, priority=e.priority,
            requires_insured=e.requires_insured))


def _change_travel(w: _Work, e: ChangeTravel) -> None:
    w.check_teams(e.teams, "teams")
    mask = w.area_mask(e, w.home_areas())
    out = []
    for v, m in zip(w.volunteers, mask):
        if m and (not e.teams or v.team_id in e.teams):
            km = e.km if e.km is not None else v.max_travel_km * (e.factor or 1.0)
            v = v.model_copy(update={"max_travel_km": round(km, 4)})
        out.append(v)
    w.volunteers = out


def _add_team_block(w: _Work, e: AddTeamBlock) -> None:
    w.check_teams([e.team], "team")
    mask = w.area_mask(e, [d.area_id for d in w.demands])
    rng = np.random.default_rng(e.seed)
    w.demands = [d.model_copy(update={"team_id": e.team}) if m and d.team_id is None and rng.random() < e.share else d
                 for d, m in zip(w.demands, mask)]


def _remove_team_block(w: _Work, e: RemoveTeamBlock) -> None:
    if e.team not in {d.team_id for d in w.demands}:
        raise _EditError(("team",), f"no order is bound to team {e.team!r}")
    mask = w.area_mask(e, [d.area_id for d in w.demands])
    w.demands = [d.model_copy(update={"team_id": None}) if m and d.team_id == e.team else d
                 for d, m in zip(w.demands, mask)]


_APPLY: dict[type[BaseModel], Callable[[_Work, Any], None]] = {
    RemoveVolunteers: _remove_volunteers,
    AddVolunteers: _add_volunteers,
    ScaleDemand: _scale_demand,
    AddEvent: _add_event,
    ChangeTravel: _change_travel,
    AddTeamBlock: _add_team_block,
    RemoveTeamBlock: _remove_team_block,
}
