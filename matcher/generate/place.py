"""Drawing a place: geography, volunteers and a week of orders (the v1 world, and the hooks of the v2 one).

A preset describes a place: a district of streets (街道), each of communities
(社区), each of grid areas (网格), with volunteers living where people live and
a week of ordered services. :func:`generate_tables` draws it as columnar tables
(the same columns as SPEC.md and :mod:`matcher.io.columns`), :func:`generate_problem`
as a validated :class:`~matcher.model.Problem`. Same preset and seed, same output.

What is modelled, and how:

- **Clustered population.** Communities get lognormal weights; volunteers and
  households live around their community's centre, grid areas tile it.
- **Registered is not active.** About 40% of registered volunteers give any
  availability in a given week; the rest have none.
- **Volunteer kinds.** Retirees serve weekday mornings or afternoons, workers
  weekday evenings and weekends, students weekends (and weekdays in holidays).
  Everyone holds ``general``; about half hold one or two common skills; about 5%
  hold a certified skill (doctor, nurse, lawyer, counsellor, electrician, rescue).
- **Teams** (队伍) belong to a community and own a block of its grid areas
  (包干); most volunteers are in a team of their home community, and some
  orders from a team's block must go to that team.
- **A week of orders**: categories of the needs menu with their own hours
  (after-school care at 16:30, traffic guidance at rush hours), priorities,
  insurance where the work is risky.
- **Special-needs households** (特需): a helper volunteer serves about a dozen
  households near home; their visits are priority 4-5 and name the helper as
  preferred volunteer.
- **Large events** (marathon, football, performances) needing 50-150 staff.
- **Hard spots**: communities with no nurse within any volunteer's travel
  range, that still order home nursing, so some demand is unmet
  ``none_in_range`` by construction.

With ``world="v2"`` the same place gets SPEC's v2 fields (:mod:`matcher.generate.world`).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np

from matcher.generate import world as v2
from matcher.generate.presets import PRESETS, WORLDS, Preset, Tables, World, generated_settings
from matcher.io.columns import problem_from_tables
from matcher.model import Problem, builtin_taxonomy

__all__ = ["generate_problem", "generate_tables"]

_TZ = timezone(timedelta(hours=8))
_MONDAY = datetime(2026, 11, 23, tzinfo=_TZ)
_LAT0, _LON0 = 39.90, 116.40
_CERTIFIED_RATE = {"doctor": 0.006, "nurse": 0.012, "lawyer": 0.004, "counsellor": 0.006,
                   "electrician": 0.01, "rescue": 0.008}
_KIND_SKILLS = {  # common skills by volunteer kind
    "retiree": ["elder_care", "companion", "listening", "gardening", "pharmacy", "sign_language",
                "disability_support", "legal_advice", "first_aid", "cleaning"],
    "worker": ["plumbing", "appliance_repair", "locksmith", "driving", "errands", "legal_advice", "first_aid",
               "disinfection", "traffic_guidance", "crowd_control", "cleaning"],
    "student": ["tutoring", "childcare", "event_staff", "sports_referee", "sign_language", "traffic_guidance",
                "crowd_control", "errands", "first_aid"],
}
_KINDS = ["retiree", "worker", "student"]
_KIND_SHARE = [0.35, 0.45, 0.20]
# share of ordinary orders by category, and the hours they start in (start hour range, lengths in hours)
_CATEGORY_MIX = {
    "elder_care": (0.18, (8.0, 17.0), [1.0, 1.5, 2.0]),
    "errands": (0.14, (8.0, 19.0), [1.0, 1.0, 1.5]),
    "health": (0.10, (8.0, 17.0), [1.0, 2.0, 3.0]),
    "home_repair": (0.10, (9.0, 20.0), [1.0, 1.5, 2.0]),
    "after_school": (0.09, (16.5, 16.5), [2.0]),
    "cleaning": (0.08, (8.0, 17.0), [1.5, 2.0, 3.0]),
    "civility": (0.08, (7.0, 18.0), [1.5, 2.0]),
    "disability": (0.06, (8.0, 18.0), [1.0, 2.0]),
    "emergency": (0.04, (7.0, 20.0), [2.0, 3.0]),
    "legal_aid": (0.05, (9.0, 19.0), [1.0, 1.5]),
    "counselling": (0.04, (9.0, 20.0), [1.0, 1.5]),
    "events": (0.04, (9.0, 15.0), [2.0, 3.0, 4.0]),
}
_PRIORITY_P = {  # P(priority = 1..5) by category
    "health": [0.05, 0.15, 0.30, 0.30, 0.20],
    "emergency": [0.0, 0.05, 0.25, 0.35, 0.35],
    "disability": [0.05, 0.15, 0.30, 0.30, 0.20],
    "elder_care": [0.10, 0.20, 0.30, 0.25, 0.15],
}
_DEFAULT_PRIORITY_P = [0.20, 0.30, 0.30, 0.15, 0.05]
_BLOCKS_WEEKDAY = [(8.0, 10.0), (14.0, 16.0), (18.5, 19.0)]  # service blocks orders mostly start in
_BLOCKS_WEEKEND = [(9.0, 11.0), (13.0, 15.0)]
_RISKY = {"home_repair", "emergency", "events", "civility"}
_EVENTS = [("marathon", "Marathon", 150, 6.0, 6.0), ("football", "Football tournament", 60, 9.0, 8.0),
           ("performance", "Performance", 50, 18.0, 3.0), ("exhibition", "Exhibition", 80, 9.0, 8.0)]


def _iso(hours: float) -> str:
    return (_MONDAY + timedelta(hours=float(hours))).isoformat()


def _offsets_km(rng: np.random.Generator, n: int, sigma_km: float) -> np.ndarray:
    return rng.normal(0.0, sigma_km, size=(n, 2))


def _to_latlon(xy_km: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lat = _LAT0 + xy_km[:, 0] / 111.2
    lon = _LON0 + xy_km[:, 1] / (111.2 * np.cos(np.radians(_LAT0)))
    return np.round(lat, 6), np.round(lon, 6)


def _windows(rng: np.random.Generator, kind: str, holiday: bool) -> list[str]:
    """Availability of one volunteer of a kind, as ``start/end`` intervals."""
    spans: list[tuple[float, float]] = []
    if kind == "retiree":
        for day in rng.choice(5, size=int(rng.integers(2, 5)), replace=False):
            if rng.random() < 0.7:
                spans.append((24 * day + 8.0, 24 * day + 11.5))
            if rng.random() < 0.5:
                spans.append((24 * day + 14.0, 24 * day + 17.5))
    elif kind == "worker":
        for day in rng.choice(5, size=int(rng.integers(0, 3)), replace=False):
            spans.append((24 * day + 18.5, 24 * day + 21.0))
        for day in rng.choice([5, 6], size=int(rng.integers(1, 3)), replace=False):
            spans.append((24 * day + 9.0, 24 * day + (17.0 if rng.random() < 0.6 else 12.0)))
    else:
        for day in rng.choice([5, 6], size=int(rng.integers(1, 3)), replace=False):
            spans.append((24 * day + 9.0, 24 * day + 17.0))
        if holiday:
            for day in rng.choice(5, size=int(rng.integers(2, 4)), replace=False):
                spans.append((24 * day + 9.0, 24 * day + 17.0))
        elif rng.random() < 0.3:
            day = int(rng.integers(0, 5))
            spans.append((24 * day + 16.5, 24 * day + 19.0))
    spans.sort()
    return [f"{_iso(a)}/{_iso(b)}" for a, b in spans]


def generate_tables(
    preset: str | Preset = "district", seed: int = 0, *, scale: float = 1.0, holiday: bool | None = None,
    world: World = "v1",
) -> Tables:
    """Draw a place as columnar tables (areas, volunteers, demands, forbidden; ratings in the v2 world).

    Parameters
    ----------
    preset
        A name in :data:`PRESETS` or a :class:`Preset`.
    seed
        Random seed; the output depends only on the arguments.
    scale
        Multiplies volunteers, teams and demands (keeps the geography), e.g.
        ``scale=0.1`` for a quick run.
    holiday
        Override the preset's school-holiday flag (students free on weekdays).
    world
        ``"v1"`` (SPEC v1's fields; what the presets always drew) or ``"v2"`` (the same place with travel
        times, series, crews, ratings and preferences: :mod:`matcher.generate.world`).

    Raises
    ------
    ValueError
        For an unknown world.

    """
    if world not in WORLDS:
        raise ValueError(f"unknown world {world!r} (known: {', '.join(WORLDS)})")
    p = PRESETS[preset] if isinstance(preset, str) else preset
    if holiday is not None:
        p = replace(p, holiday=holiday)
    if scale != 1.0:
        p = replace(p, volunteers=max(10, round(p.volunteers * scale)), teams=max(1, round(p.teams * scale)),
                    demands=max(5, round(p.demands * scale)), events=max(0, round(p.events * scale)))
    rng = np.random.default_rng(seed)
    tax = builtin_taxonomy()

    # geography: streets tile the square, communities cluster in their street, grids around the community
    n_comm = p.streets * p.communities_per_street
    side = int(np.ceil(np.sqrt(p.streets)))
    cell = p.extent_km / side
    street_xy = np.array([((i // side) + 0.5, (i % side) + 0.5) for i in range(p.streets)]) * cell
    street_xy = street_xy - p.extent_km / 2 + rng.uniform(-0.15, 0.15, size=(p.streets, 2)) * cell
    comm_street = np.repeat(np.arange(p.streets), p.communities_per_street)
    spread = cell / 2.5 if p.communities_per_street > 1 else 0.0
    comm_xy = street_xy[comm_street] + rng.uniform(-1, 1, size=(n_comm, 2)) * spread
    comm_weight = rng.lognormal(0.0, 0.6, size=n_comm)
    comm_weight /= comm_weight.sum()
    comm_radius = np.clip(np.sqrt(comm_weight * n_comm) * 0.35, 0.2, 0.8) if n_comm > 1 else np.array([0.6])
    n_grid = n_comm * p.grids_per_community
    grid_comm = np.repeat(np.arange(n_comm), p.grids_per_community)
    angle = rng.uniform(0, 2 * np.pi, size=n_grid)
    dist = np.sqrt(rng.uniform(0, 1, size=n_grid)) * comm_radius[grid_comm]
    grid_xy = comm_xy[grid_comm] + np.column_stack([np.cos(angle), np.sin(angle)]) * dist[:, None]
    glat, glon = _to_latlon(grid_xy)
    street_name = [f"S{s + 1:02d}" for s in range(p.streets)]
    comm_name = [f"{street_name[comm_street[c]]}C{c % p.communities_per_street + 1:02d}" for c in range(n_comm)]
    grid_ids = [f"{comm_name[grid_comm[g]]}G{g % p.grids_per_community + 1:02d}" for g in range(n_grid)]
    areas = {
        "id": grid_ids, "lat": glat.tolist(), "lon": glon.tolist(),
        "community": [comm_name[c] for c in grid_comm], "street": [street_name[comm_street[c]] for c in grid_comm],
    }

    # teams: each community gets teams in proportion to its weight; a team owns a block of its grids
    team_comm = np.sort(rng.choice(n_comm, size=p.teams, p=comm_weight)) if n_comm > 1 else np.zeros(p.teams, int)
    team_comm[: min(p.teams, n_comm)] = np.arange(min(p.teams, n_comm))  # every community has a team if possible
    team_comm = np.sort(team_comm)
    teams_of_comm = [np.flatnonzero(team_comm == c) for c in range(n_comm)]
    grid_team = np.full(n_grid, -1)
    for c in range(n_comm):
        ts = teams_of_comm[c]
        if len(ts):
            block = np.arange(p.grids_per_community) * len(ts) // p.grids_per_community
            grid_team[c * p.grids_per_community:(c + 1) * p.grids_per_community] = ts[block]
    team_ids = [f"T{t + 1:04d}" for t in range(p.teams)]

    # volunteers
    nv = p.volunteers
    v_comm = rng.choice(n_comm, size=nv, p=comm_weight)
    v_xy = comm_xy[v_comm] + _offsets_km(rng, nv, 0.25) * np.maximum(comm_radius[v_comm], 0.3)[:, None] * 2
    v_kind = rng.choice(3, size=nv, p=_KIND_SHARE)
    skills: list[list[str]] = []
    for k in range(nv):
        s = ["general"]
        common = _KIND_SKILLS[_KINDS[v_kind[k]]]
        r = rng.random()
        if r < 0.5:
            s += list(rng.choice(common, size=1 if r < 0.35 else 2, replace=False))
        for code, rate in _CERTIFIED_RATE.items():
            if rng.random() < rate * (1.5 if v_kind[k] != 2 else 0.2):
                s.append(code)
        skills.append(sorted(set(s)))
    active = rng.random(nv) < p.active_share
    windows = [_windows(rng, _KINDS[v_kind[k]], p.holiday) if active[k] else [] for k in range(nv)]
    in_team = rng.random(nv) < 0.85
    v_team: list[str | None] = []
    for k in range(nv):
        ts = teams_of_comm[v_comm[k]]
        v_team.append(team_ids[int(rng.choice(ts))] if in_team[k] and len(ts) else None)
    max_tasks = np.where(v_kind == 0, rng.choice([3, 4, 5], size=nv), rng.choice([1, 2, 2, 3], size=nv))
    max_hours = np.where(v_kind == 0, rng.choice([8.0, 10.0, 12.0], size=nv), rng.choice([4.0, 6.0, 8.0], size=nv))
    max_travel = rng.choice([1.0, 1.0, 1.2, 1.5, 1.5, 2.0, 3.0], size=nv)  # the 15-minute circle, some cycle
    vlat, vlon = _to_latlon(v_xy)
    w2 = v2.world_rng(seed) if world == "v2" else None
    if w2 is not None:  # speeds and minutes by age group; the reach in km follows them
        speed, minutes, reach = v2.volunteer_travel(w2, v_kind)
        max_travel = np.array(reach)

    # hard spots: communities whose surroundings lose every nurse (so home nursing there is out of range)
    hard = rng.choice(n_comm, size=min(p.hard_spots, n_comm), replace=False) if p.hard_spots else np.array([], int)
    for spot in hard:
        reach = comm_radius[spot] + max_travel + 0.4  # 0.4 km: the households' jitter around their grid
        near = np.flatnonzero(np.hypot(*(v_xy - comm_xy[spot]).T) <= reach)
        for j in near.tolist():
            if "nurse" in skills[j]:
                skills[j] = [x for x in skills[j] if x != "nurse"]

    volunteers = {
        "id": [f"V{k + 1:07d}" for k in range(nv)], "lat": vlat.tolist(), "lon": vlon.tolist(),
        "skills": skills, "availability": windows, "max_tasks": max_tasks.tolist(), "max_hours": max_hours.tolist(),
        "max_travel_km": max_travel.tolist(), "team_id": v_team, "insured": (rng.random(nv) < 0.85).tolist(),
        "recent_hours": np.round(rng.gamma(1.5, 6.0, size=nv), 1).tolist(),
    }
    if w2 is not None:
        volunteers |= {"max_travel_minutes": minutes, "speed_kmh": speed,
                       "preferred_categories": v2.preferences(w2, v_kind, active)}

    demands: dict[str, list[Any]] = {c: [] for c in (
        "id", "area_id", "lat", "lon", "category", "required_skills", "headcount", "start", "end", "priority",
        "requires_insured", "team_id", "preferred_volunteers")}
    visits: list[tuple[int, int]] = []  # (helper, demand row) of the households' visits
    crews: list[int] = []  # demand rows of crews (events)
    grids_of_comm = [np.arange(c * p.grids_per_community, (c + 1) * p.grids_per_community) for c in range(n_comm)]
    certified = {s.code for s in tax.skills if s.certificate}
    subcats = {c.code: c.subcategories for c in tax.categories}

    def add(area: int, cat: str, sub: str, req: list[str], head: int, start: float, length: float, prio: int,
            insured: bool, team: str | None, preferred: list[str] | None, jitter: bool = True) -> None:
        xy = grid_xy[area] + (_offsets_km(rng, 1, 0.08)[0] if jitter else 0.0)
        lat, lon = _to_latlon(xy[None, :])
        demands["id"].append(f"D{len(demands['id']) + 1:07d}")
        demands["area_id"].append(grid_ids[area])
        demands["lat"].append(float(lat[0]) if jitter else None)
        demands["lon"].append(float(lon[0]) if jitter else None)
        demands["category"].append(sub if rng.random() < 0.8 else cat)
        demands["required_skills"].append(req)
        demands["headcount"].append(head)
        demands["start"].append(_iso(start))
        demands["end"].append(_iso(start + length))
        demands["priority"].append(prio)
        demands["requires_insured"].append(insured)
        demands["team_id"].append(team)
        demands["preferred_volunteers"].append(preferred or [])

    # special-needs households: helpers (retirees with care skills) serve about a dozen households each
    cares = np.array([("elder_care" in s) or ("companion" in s) for s in skills])
    carers = np.flatnonzero((v_kind == 0) & active & cares)
    n_helpers = min(len(carers), max(1, p.demands // 60))
    for k in rng.choice(carers, size=n_helpers, replace=False) if n_helpers else []:
        grids = grids_of_comm[v_comm[k]]
        spans = [w.split("/") for w in windows[k]]
        for _ in range(int(rng.integers(9, 16))):
            cat, sub = ("elder_care", str(rng.choice(["home_visit", "companionship", "meal_help"]))) \
                if rng.random() < 0.8 else ("disability", "rehab_company")
            start = 24 * int(rng.integers(0, 7)) + float(rng.choice(np.arange(8.0, 17.0, 0.5)))
            if spans and rng.random() < 0.7:  # usually when the helper is free
                a = (datetime.fromisoformat(spans[int(rng.integers(0, len(spans)))][0]) - _MONDAY)
                start = a.total_seconds() / 3600 + float(rng.choice([0.0, 0.5, 1.0]))
            req = ["companion"] if sub in ("home_visit", "companionship") else (
                ["elder_care"] if sub == "meal_help" else ["disability_support"])
            team = v_team[k] if v_team[k] is not None and rng.random() < 0.3 else None
            add(int(rng.choice(grids)), cat, sub, req, 1, start, 1.0, int(rng.choice([4, 5], p=[0.4, 0.6])),
                False, team, [volunteers["id"][k]])
            visits.append((int(k), len(demands["id"]) - 1))

    # large events, at weekends mostly
    grid_weight = comm_weight[grid_comm] / p.grids_per_community
    for e in range(p.events):
        code, _name, head, h0, length = _EVENTS[e % len(_EVENTS)]
        day = int(rng.choice([5, 6])) if code != "performance" else int(rng.integers(0, 7))
        area = int(rng.choice(n_grid, p=grid_weight))
        head = int(head * rng.uniform(0.7, 1.3))
        add(area, "events", code, ["event_staff"] if rng.random() < 0.3 else ["general"], head, 24 * day + h0,
            length, 3, True, None, None, jitter=False)
        crews.append(len(demands["id"]) - 1)

    # hard spots order home nursing
    for spot in hard:
        for _ in range(4):
            start = 24 * int(rng.integers(0, 5)) + float(rng.choice(np.arange(8.0, 16.0, 0.5)))
            add(int(rng.choice(grids_of_comm[spot])), "health", "home_nursing", ["nurse"], 1, start, 1.0, 5, False,
                None, None)

    # ordinary orders from grids where people live
    cats = list(_CATEGORY_MIX)
    cat_p = np.array([_CATEGORY_MIX[c][0] for c in cats])
    n_left = max(0, p.demands - len(demands["id"]))
    for _ in range(n_left):
        cat = cats[int(rng.choice(len(cats), p=cat_p / cat_p.sum()))]
        _share, (h_lo, h_hi), lengths = _CATEGORY_MIX[cat]
        subcat = subcats[cat][int(rng.integers(0, 4))]
        weekday_only = cat == "after_school"
        day = int(rng.integers(0, 5 if weekday_only else 7))
        if cat == "civility" and rng.random() < 0.7:  # rush hours
            h = float(rng.choice([7.0, 17.0]))
        elif rng.random() < 0.7 and h_lo < h_hi:  # most orders fall in the station's service blocks
            blocks = _BLOCKS_WEEKEND if day >= 5 else _BLOCKS_WEEKDAY
            b0, b1 = blocks[int(rng.integers(0, len(blocks)))]
            h = float(rng.choice(np.arange(b0, b1 + 0.01, 0.25)))
        else:
            h = float(rng.choice(np.arange(h_lo, h_hi + 0.01, 0.25)))
        needs_cert = any(s in certified for s in subcat.skills)
        req = list(subcat.skills) if needs_cert or rng.random() < 0.4 else ["general"]
        head = int(rng.choice([1, 1, 1, 2, 2, 3])) if cat != "events" else int(rng.integers(5, 21))
        area = int(rng.choice(n_grid, p=grid_weight))
        team = team_ids[grid_team[area]] if grid_team[area] >= 0 and rng.random() < 0.15 else None
        prio = int(rng.choice(5, p=_PRIORITY_P.get(cat, _DEFAULT_PRIORITY_P))) + 1
        insured = bool(rng.random() < (0.6 if cat in _RISKY else 0.1))
        add(area, cat, subcat.code, req, head, 24 * day + h, float(rng.choice(lengths)), prio, insured, team, None)
        if cat == "events" and head >= 5:
            crews.append(len(demands["id"]) - 1)

    # pairs volunteers declined: a volunteer near the demand
    n_forbid = p.demands // 100
    forbidden: dict[str, list[Any]] = {"volunteer_id": [], "demand_id": []}
    seen: set[tuple[int, int]] = set()
    area_index = {g: i for i, g in enumerate(grid_ids)}
    for d in rng.choice(len(demands["id"]), size=min(n_forbid, len(demands["id"])), replace=False):
        c = grid_comm[area_index[demands["area_id"][d]]]
        near = np.flatnonzero(v_comm == c)
        if len(near) and (key := (int(rng.choice(near)), int(d))) not in seen:
            seen.add(key)
            forbidden["volunteer_id"].append(volunteers["id"][key[0]])
            forbidden["demand_id"].append(demands["id"][key[1]])
    tables = {"areas": areas, "volunteers": volunteers, "demands": demands, "forbidden": forbidden}
    if w2 is not None:  # households' series, crews, and a history of ratings
        demands |= {"series_id": [None] * len(demands["id"]), "min_headcount": [None] * len(demands["id"])}
        v2.households(w2, demands, visits)
        v2.crews(w2, demands, crews)
        tables["ratings"] = v2.history(w2, volunteers, demands, v_comm, active, _MONDAY)
    return tables


def generate_problem(
    preset: str | Preset = "district", seed: int = 0, *, scale: float = 1.0, holiday: bool | None = None,
    world: World = "v1",
) -> Problem:
    """Draw a place (see :func:`generate_tables`) as a validated Problem naming the builtin taxonomy.

    A v2 world also gets ``Problem.travel`` (:data:`~matcher.generate.presets.TRAVEL`).
    """
    settings = generated_settings(world)
    return problem_from_tables(generate_tables(preset, seed, scale=scale, holiday=holiday, world=world),
                               taxonomy=settings["taxonomy"], travel=settings.get("travel"))
