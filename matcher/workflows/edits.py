"""Applying a scenario's edits to a problem: each edit one function over a :class:`VariantBuilder`.

An edit that does not fit the problem (an unknown area, team, skill or
category; an id already taken) raises :class:`EditError` naming the key, which
:func:`matcher.workflows.scenario.load_scenario` turns into a line of the file.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

import numpy as np
from pydantic import BaseModel

from matcher.model import Area, Assignment, Demand, Problem, Travel, Volunteer, Window
from matcher.workflows.scenario_file import (
    AddEvent,
    AddTeamBlock,
    AddVolunteers,
    ChangeTravel,
    Places,
    RemoveTeamBlock,
    RemoveVolunteers,
    ScaleDemand,
    SetSpeed,
    SetTravel,
)

__all__ = ["APPLY", "EditError", "VariantBuilder", "reach_km"]


class EditError(Exception):
    """An edit that does not fit the problem it is applied to: where in the edit (``loc``) and why."""

    def __init__(self, loc: tuple[str | int, ...], msg: str) -> None:
        super().__init__(msg)
        self.loc, self.msg = loc, msg


@dataclass
class VariantBuilder:
    """A variant being built: mutable lists of the base's records, and the places edits refer to."""

    base: Problem
    volunteers: list[Volunteer]
    demands: list[Demand]
    pinned: list[Assignment]
    forbidden: list[Assignment]
    previous: list[Assignment]
    areas: dict[str, Area]
    parent: dict[str, str] = field(default_factory=dict)  # subcategory -> category
    travel: Travel | None = None

    @classmethod
    def of(cls, p: Problem) -> VariantBuilder:
        """A builder holding ``p``'s records."""
        tax = p.resolved_taxonomy()
        parent = {s.code: c.code for c in tax.categories for s in c.subcategories} if tax else {}
        return cls(p, list(p.volunteers), list(p.demands), list(p.pinned), list(p.forbidden), list(p.previous),
                   {a.id: a for a in p.areas}, parent, p.travel)

    def problem(self) -> Problem:
        """The variant as a validated problem (pairs and preferences of removed records dropped)."""
        vids = {v.id for v in self.volunteers}
        dids = {d.id for d in self.demands}

        def live(pairs: list[Assignment]) -> tuple[Assignment, ...]:
            return tuple(a for a in pairs if a.volunteer_id in vids and a.demand_id in dids)

        demands = [d if all(p in vids for p in d.preferred_volunteers) else d.model_copy(
            update={"preferred_volunteers": tuple(p for p in d.preferred_volunteers if p in vids)})
            for d in self.demands]
        return self.base.replace(volunteers=tuple(self.volunteers), demands=tuple(demands),
                                 pinned=live(self.pinned), forbidden=live(self.forbidden),
                                 previous=live(self.previous), travel=self.travel)

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
                    raise EditError((key,), f"unknown {key[:-1] if key != 'communities' else 'community'} "
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
        """Raise :class:`EditError` at ``key`` for a team no volunteer belongs to."""
        known = {v.team_id for v in self.volunteers if v.team_id}
        for t in teams:
            if t not in known:
                raise EditError((key,), f"unknown team {t!r}: no volunteer belongs to it")

    def check_skills(self, skills: Sequence[str], key: str) -> None:
        """Raise :class:`EditError` at ``key`` for a skill outside the problem's taxonomy (if it names one)."""
        tax = self.base.resolved_taxonomy()
        if tax is None:
            return
        codes = {s.code for s in tax.skills}
        for s in skills:
            if s not in codes:
                raise EditError((key,), f"unknown skill {s!r}")

    def horizon(self) -> tuple[datetime, datetime]:
        """The first start and last end of the base's demands (a week from now when there are none)."""
        starts = [d.start for d in self.base.demands] or [datetime.now().astimezone()]
        ends = [d.end for d in self.base.demands] or [starts[0] + timedelta(days=7)]
        return min(starts), max(ends)


def _remove_volunteers(w: VariantBuilder, e: RemoveVolunteers) -> None:
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


def _add_volunteers(w: VariantBuilder, e: AddVolunteers) -> None:
    w.check_skills([*e.skills, *e.skill_mix], "skills" if e.skills else "skill_mix")
    key, name = next((k, n) for k, n in (("area", e.area), ("community", e.community), ("street", e.street)) if n)
    chosen = [a for a in w.areas.values() if name in (a.id if key == "area" else getattr(a, key))]
    if not chosen:
        raise EditError((key,), f"unknown {key} {name!r}")
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
            raise EditError(("id_prefix",), f"volunteer id {vid!r} already exists; choose another id_prefix")
        dy, dx = rng.normal(0.0, e.spread_km / 2, size=2)
        skills = {"general", *e.skills} | {s for s, share in sorted(e.skill_mix.items()) if rng.random() < share}
        w.volunteers.append(Volunteer(
            id=vid, lat=round(lat0 + dy / 111.2, 6), lon=round(lon0 + dx / (111.2 * math.cos(math.radians(lat0))), 6),
            skills=tuple(sorted(skills)), availability=tuple(windows), max_tasks=e.max_tasks, max_hours=e.max_hours,
            max_travel_km=e.max_travel_km, team_id=e.team, insured=e.insured))


def _scale_demand(w: VariantBuilder, e: ScaleDemand) -> None:
    known = set(w.parent) | set(w.parent.values()) | {d.category for d in w.demands}
    for c in e.categories:
        if c not in known:
            raise EditError(("categories",), f"unknown category {c!r}")
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


def _add_event(w: VariantBuilder, e: AddEvent) -> None:
    if e.id in {d.id for d in w.demands}:
        raise EditError(("id",), f"demand id {e.id!r} already exists")
    w.check_skills(e.skills, "skills")
    places: list[tuple[str | None, int]]
    if e.area is not None or e.areas:
        names = [e.area] if e.area is not None else list(e.areas)
        for name in names:
            if name not in w.areas:
                raise EditError(("area" if e.area else "areas",), f"unknown area {name!r}")
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


def reach_km(v: Volunteer, travel: Travel) -> float:
    """The straight-line km ``v.max_travel_minutes`` reach at ``v``'s speed (else the default) and the detour.

    Rounded down to 10 m, as the generator's v2 world draws ``max_travel_km``.
    """
    assert v.max_travel_minutes is not None
    speed = v.speed_kmh or travel.speed_kmh
    return max(0.01, math.floor(speed * v.max_travel_minutes / 60.0 / travel.detour * 100.0) / 100.0)


def _needs_travel(w: VariantBuilder, key: str) -> Travel:
    if w.travel is None:
        raise EditError((key,), "the problem has no travel times (Problem.travel): give set_travel first, or a "
                                "base with them (a preset's world: v2)")
    return w.travel


def _change_travel(w: VariantBuilder, e: ChangeTravel) -> None:
    w.check_teams(e.teams, "teams")
    travel = _needs_travel(w, "minutes") if e.minutes is not None else w.travel
    mask = w.area_mask(e, w.home_areas())
    out = []
    for v, m in zip(w.volunteers, mask):
        if m and (not e.teams or v.team_id in e.teams):
            if e.minutes is not None and travel is not None:
                v = v.model_copy(update={"max_travel_minutes": e.minutes})
                v = v.model_copy(update={"max_travel_km": reach_km(v, travel)})
            else:
                km = e.km if e.km is not None else v.max_travel_km * (e.factor or 1.0)
                minutes = v.max_travel_minutes if e.factor is None or v.max_travel_minutes is None else round(
                    v.max_travel_minutes * e.factor, 4)
                v = v.model_copy(update={"max_travel_km": round(km, 4), "max_travel_minutes": minutes})
        out.append(v)
    w.volunteers = out


def _set_speed(w: VariantBuilder, e: SetSpeed) -> None:
    w.check_teams(e.teams, "teams")
    travel = _needs_travel(w, "speed_kmh")
    mask = w.area_mask(e, w.home_areas())
    if e.teams:
        mask &= np.array([v.team_id in e.teams for v in w.volunteers], dtype=bool)
    idx = np.flatnonzero(mask)
    n = round(e.share * len(idx))
    chosen = set(np.random.default_rng(e.seed).choice(idx, size=n, replace=False).tolist()) if n else set()
    out = []
    for k, v in enumerate(w.volunteers):
        if k in chosen:
            v = v.model_copy(update={"speed_kmh": e.speed_kmh})
            if v.max_travel_minutes is not None:
                v = v.model_copy(update={"max_travel_km": reach_km(v, travel)})
        out.append(v)
    w.volunteers = out


def _set_travel(w: VariantBuilder, e: SetTravel) -> None:
    old = w.travel or Travel()
    w.travel = old.model_copy(update={k: v for k, v in (("speed_kmh", e.speed_kmh), ("detour", e.detour))
                                      if v is not None})
    w.volunteers = [v if v.max_travel_minutes is None else v.model_copy(
        update={"max_travel_km": reach_km(v, w.travel)}) for v in w.volunteers]


def _add_team_block(w: VariantBuilder, e: AddTeamBlock) -> None:
    w.check_teams([e.team], "team")
    mask = w.area_mask(e, [d.area_id for d in w.demands])
    rng = np.random.default_rng(e.seed)
    w.demands = [d.model_copy(update={"team_id": e.team}) if m and d.team_id is None and rng.random() < e.share else d
                 for d, m in zip(w.demands, mask)]


def _remove_team_block(w: VariantBuilder, e: RemoveTeamBlock) -> None:
    if e.team not in {d.team_id for d in w.demands}:
        raise EditError(("team",), f"no order is bound to team {e.team!r}")
    mask = w.area_mask(e, [d.area_id for d in w.demands])
    w.demands = [d.model_copy(update={"team_id": None}) if m and d.team_id == e.team else d
                 for d, m in zip(w.demands, mask)]


APPLY: dict[type[BaseModel], Callable[[VariantBuilder, Any], None]] = {
    RemoveVolunteers: _remove_volunteers,
    AddVolunteers: _add_volunteers,
    ScaleDemand: _scale_demand,
    AddEvent: _add_event,
    ChangeTravel: _change_travel,
    SetSpeed: _set_speed,
    SetTravel: _set_travel,
    AddTeamBlock: _add_team_block,
    RemoveTeamBlock: _remove_team_block,
}
