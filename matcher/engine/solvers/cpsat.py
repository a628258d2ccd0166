"""Exact CP-SAT tier for the rules a network cannot express.

Used on a region (a connected component, or a neighbourhood of it) where the
flow solution broke the no-overlap rule across groups or an hour cap. The model
has one Boolean per candidate pair and every hard rule exactly:

* headcount per demand (rule 6) and tasks per volunteer (rule 8);
* hours per volunteer as a linear cap in microseconds (rule 8);
* no overlap (rule 7): one ``AtMostOne`` per maximal clique of the volunteer's
  intervals, which describes interval-graph independence exactly;
* SPEC v2: no time to travel (rule 7b) as one ``AtMostOne`` per pair of pairs
  that break it (the caller finds them, :mod:`matcher.engine.sequencing`), and
  crews (rule 11): a demand's pairs are all off or at least its crew's need,
  through one Boolean per crew (``sum x >= need * y``, ``x <= y``).

Lexicographic objective in two stages: maximise coverage (breaking ties
towards keeping the previous plan's pairs, when the change weight is not zero),
then, with coverage held at the value found, minimise the secondary cost. Both stages start from a
feasible hint. With more than one worker, ``interleave_search`` keeps the
search deterministic for a given seed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
from ortools.sat.python import cp_model

from matcher.engine.intervals import max_clique_rows
from matcher.engine.types import I64, B

__all__ = ["CpsatInput", "CpsatResult", "solve_cpsat"]

COVERAGE_SHARE = 0.7
"""Share of a region's time budget for stage 1 (coverage)."""
SECONDARY_SHARE = 0.2
"""Most of a region's budget that stage 2 (secondary) may use."""
SECONDARY_GAP = 1e-3
"""Stage 2 stops at this relative gap."""
WALL_SAFETY = 2.0
"""Wall seconds allowed per deterministic unit of a stage's budget."""


@dataclass(frozen=True, eq=False)
class CpsatInput:
    """A region's pairs and the capacities left to it; indices are global."""

    pair_v: I64
    pair_d: I64
    pair_cost: I64
    pair_pref: B
    pair_start: I64  # microseconds
    pair_end: I64
    vol_cap: I64  # indexed by global volunteer
    vol_hours: I64  # hours left, microseconds
    vol_base: I64
    load_unit: int
    dem_cap: I64  # indexed by global demand
    dem_weight: I64
    dem_bonus: I64
    hint: B
    pair_keep: B | None = None
    """Pairs of the previous plan: among plans of equal coverage, stage 1 keeps as many as it can."""
    cost_offset: int = 0
    """Added to the secondary cost so that it counts dropped previous pairs rather than earning kept ones back
    (``pair_cost`` is negative for kept pairs); stage 2's relative gap is measured on that true size."""
    travel_pairs: tuple[I64, I64] | None = None
    """Rule 7b: pairs ``(i, j)`` of pair positions that one volunteer cannot both do."""
    dem_crew: I64 | None = None
    """Rule 11, by global demand: seats a crew still needs in this region (0: no crew rule) ..."""
    dem_crew_held: B | None = None
    """... and whether it is staffed already (outside the region or pinned): then it must get them."""
    pair_series: I64 | None = None
    """Each pair's recurring series (-1: none), for the series term of stage 2 ..."""
    pair_series_held: B | None = None
    """... whether its volunteer serves that series outside the region already (no extra cost) ..."""
    series_open: B | None = None
    """... whether nobody serves the series outside the region (its first volunteer is free), by series ..."""
    series_unit: int = 0
    """... and the cost of each volunteer beyond a series' first."""


@dataclass(frozen=True, eq=False)
class CpsatResult:
    """What the region's two stages found and proved."""

    chosen: B
    coverage: int
    coverage_bound: int
    coverage_proven: bool
    secondary_proven: bool
    seconds: float
    wall_capped: bool = False
    """A stage stopped at the wall-clock cap, before its deterministic budget: the only non-reproducible stop."""


def solve_cpsat(inp: CpsatInput, time_limit_s: float, seed: int, workers: int, wall_s: float,
                stop: Callable[[], bool] | None = None) -> CpsatResult:
    """Solve a region exactly within a deterministic budget, coverage first.

    ``time_limit_s`` sizes the deterministic budget (reproducible); ``wall_s``
    is a wall-clock safety cap that only an overloaded machine reaches first.
    ``stop`` (polled every 0.1 s from a watcher thread) interrupts the search:
    the best solution found so far stands.
    """
    t0 = time.perf_counter()
    n = len(inp.pair_v)
    model = cp_model.CpModel()
    x = [model.new_bool_var(f"x{i}") for i in range(n)]  # x[i] is variable i of the proto
    _set_hint(model, inp.hint)

    by_dem = _groups(inp.pair_d)
    for d, idx in by_dem.items():
        if len(idx) > inp.dem_cap[d]:
            model.add(sum(x[i] for i in idx) <= int(inp.dem_cap[d]))
    load_terms: list[tuple[cp_model.IntVar, int]] = []
    cliques = _cliques_by_volunteer(inp.pair_v, inp.pair_start, inp.pair_end)
    for v, idx in _groups(inp.pair_v).items():
        cap = int(inp.vol_cap[v])
        if len(idx) > cap:
            model.add(sum(x[i] for i in idx) <= cap)
        dur = inp.pair_end[idx] - inp.pair_start[idx]
        if int(dur.sum()) > int(inp.vol_hours[v]):
            model.add(cp_model.LinearExpr.weighted_sum([x[i] for i in idx], dur.tolist()) <= int(inp.vol_hours[v]))
        for clique in cliques.get(v, ()):
            model.add_at_most_one(x[i] for i in clique)
        # convex load: tasks beyond the first pay their extra marginal cost
        most = min(cap, len(idx))
        if inp.load_unit and most >= 2:
            base = int(inp.vol_base[v])
            m1 = inp.load_unit * (2 * (base + 1) - 1)
            extra = [model.new_bool_var(f"t{v}_{j}") for j in range(2, most + 1)]
            model.add(sum(extra) >= sum(x[i] for i in idx) - 1)
            load_terms.extend((t, inp.load_unit * (2 * (base + j) - 1) - m1) for j, t in zip(range(2, most + 1), extra))

    _add_v2_rules(model, x, inp, by_dem)
    weights = inp.dem_weight[inp.pair_d].tolist()
    # the coverage objective, written into the proto at once (the expression API walks it term by term);
    # times `scale` plus one per previous pair kept, which breaks ties without trading any coverage
    keep = inp.pair_keep if inp.pair_keep is not None else np.zeros(n, dtype=bool)
    scale = int(keep.sum()) + 1
    model.proto.objective.vars.extend(range(n))
    model.proto.objective.coeffs.extend((-w * scale - k for w, k in zip(weights, keep.tolist())))
    model.proto.objective.scaling_factor = -1.0  # maximise
    solver = cp_model.CpSolver()
    solver.parameters.random_seed = seed
    solver.parameters.num_workers = workers
    solver.parameters.interleave_search = workers > 1
    solver.parameters.linearization_level = 2
    solver.parameters.catch_sigint_signal = False  # a library installs no signal handler: Ctrl-C stays the caller's
    _limit(solver, COVERAGE_SHARE * time_limit_s, workers, wall_s - (time.perf_counter() - t0))
    with _watching(solver, stop):
        status = solver.solve(model)
    capped = _wall_capped(solver, status)
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        chosen = _values(solver, n)
        bound = int(np.floor(solver.best_objective_bound + 1e-6)) // scale
    else:  # no solution in time: the feasible hint stands
        chosen = inp.hint.copy()
        bound = int(inp.dem_weight[inp.pair_d].sum())
    found = int(inp.dem_weight[inp.pair_d[chosen]].sum())
    proven = bound <= found  # (the tie-break may still be open when coverage is proven)

    # stage 2: hold coverage, minimise the secondary cost
    model.clear_hints()  # type: ignore[no-untyped-call]
    _set_hint(model, chosen)
    held = model.proto.constraints.add().linear
    held.vars.extend(range(n))
    held.coeffs.extend(weights)
    held.domain.extend([found, sum(weights)])
    base_cost = inp.pair_cost + inp.load_unit * (2 * (inp.vol_base[inp.pair_v] + 1) - 1)
    terms = list(x) + [t for t, _ in load_terms]
    coefs = base_cost.tolist() + [c for _, c in load_terms]
    pref_dems = np.unique(inp.pair_d[inp.pair_pref])
    for d in pref_dems:
        if inp.dem_bonus[d] > 0:
            y = model.new_bool_var(f"c{d}")
            model.add(y <= sum(x[i] for i in np.flatnonzero(inp.pair_pref & (inp.pair_d == d))))
            terms.append(y)
            coefs.append(-int(inp.dem_bonus[d]))
    _add_series_terms(model, x, inp, terms, coefs)
    model.minimize(cp_model.LinearExpr.weighted_sum(terms, coefs) + inp.cost_offset)
    # the secondary rarely closes its gap: it gets a share of the budget, not all of it
    _limit(solver, SECONDARY_SHARE * time_limit_s, workers, wall_s - (time.perf_counter() - t0))
    solver.parameters.relative_gap_limit = SECONDARY_GAP
    with _watching(solver, stop):
        status2 = solver.solve(model)
    capped = capped or _wall_capped(solver, status2)
    secondary_proven = False
    if status2 in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        chosen = _values(solver, n)
        # OPTIMAL also means "within SECONDARY_GAP"; a proof needs the bound to meet the value (integer costs)
        secondary_proven = status2 == cp_model.OPTIMAL and solver.objective_value - solver.best_objective_bound < 0.5
    return CpsatResult(chosen, found, max(bound, found), proven, secondary_proven, time.perf_counter() - t0, capped)


def _add_v2_rules(model: cp_model.CpModel, x: list[cp_model.IntVar], inp: CpsatInput,
                  by_dem: dict[int, I64]) -> None:
    """Rules 7b (pairs of pairs) and 11 (crews) of SPEC v2."""
    if inp.travel_pairs is not None:
        for i, j in zip(inp.travel_pairs[0].tolist(), inp.travel_pairs[1].tolist()):
            model.add_at_most_one(x[i], x[j])
    if inp.dem_crew is None:
        return
    held = inp.dem_crew_held if inp.dem_crew_held is not None else np.zeros(len(inp.dem_crew), dtype=bool)
    for d, idx in by_dem.items():
        need = int(inp.dem_crew[d])
        if need <= 0 or (need == 1 and not held[d]):
            continue
        total = sum(x[i] for i in idx)
        if held[d]:
            model.add(total >= need)
        else:
            y = model.new_bool_var(f"crew{d}")
            model.add(total >= need * y)
            for i in idx.tolist():
                model.add_implication(x[i], y)


def _add_series_terms(model: cp_model.CpModel, x: list[cp_model.IntVar], inp: CpsatInput,
                      terms: list[Any], coefs: list[int]) -> None:
    """Stage 2's series term: ``series_unit`` per volunteer beyond each series' first (SPEC v2).

    One Boolean ``z`` per (series, volunteer) not already serving it outside the region, at least each of
    its pairs; a series nobody serves outside gets its first volunteer back (``u <= 1``, ``u <= sum z``).
    """
    if inp.pair_series is None or inp.series_unit <= 0:
        return
    held = inp.pair_series_held if inp.pair_series_held is not None else np.zeros(len(x), dtype=bool)
    use = np.flatnonzero((inp.pair_series >= 0) & ~held)
    groups: dict[tuple[int, int], list[int]] = {}
    for i in use.tolist():
        groups.setdefault((int(inp.pair_series[i]), int(inp.pair_v[i])), []).append(i)
    by_series: dict[int, list[cp_model.IntVar]] = {}
    for (s, v), idx in groups.items():
        z = model.new_bool_var(f"z{s}_{v}")
        for i in idx:
            model.add_implication(x[i], z)
        by_series.setdefault(s, []).append(z)
        terms.append(z)
        coefs.append(inp.series_unit)
    for s, zs in by_series.items():
        if inp.series_open is not None and inp.series_open[s]:
            u = model.new_bool_var(f"u{s}")
            model.add(u <= sum(zs))
            terms.append(u)
            coefs.append(-inp.series_unit)


@contextmanager
def _watching(solver: cp_model.CpSolver, stop: Callable[[], bool] | None) -> Iterator[None]:
    """Stop the solver's search from a watcher thread as soon as ``stop()`` is true."""
    if stop is None:
        yield
        return
    done = threading.Event()

    def watch() -> None:
        while not done.wait(0.1):
            if stop():
                solver.stop_search()
                return

    watcher = threading.Thread(target=watch, name="matcher-cpsat-stop", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        done.set()
        watcher.join()


def _wall_capped(solver: cp_model.CpSolver, status: Any) -> bool:
    """Whether the last solve stopped at the wall-clock cap rather than its deterministic budget or a proof."""
    return bool(status != cp_model.OPTIMAL and solver.wall_time >= 0.98 * solver.parameters.max_time_in_seconds)


def _set_hint(model: cp_model.CpModel, hint: B) -> None:
    """Hint the first ``len(hint)`` variables (the pair variables) in one go."""
    model.proto.solution_hint.vars.extend(range(len(hint)))
    model.proto.solution_hint.values.extend(hint.astype(np.int64).tolist())


def _values(solver: cp_model.CpSolver, n: int) -> B:
    """Values of the first ``n`` variables in the solver's last solution."""
    return np.fromiter(solver.response_proto.solution, dtype=np.int64)[:n] > 0


def _limit(solver: cp_model.CpSolver, seconds: float, workers: int, wall_left: float) -> None:
    """Bound a stage by deterministic work, so the same input and seed give the same answer.

    On this project's machine a deterministic unit took up to ~1 wall second
    with one worker and ~1.9 with two interleaved workers, so a stage gets
    ``seconds / (WALL_SAFETY * workers)`` units: about ``seconds`` of wall
    time. The only wall-clock cap is what is left before the caller's deadline;
    a run that reaches it (a tight deadline, an overloaded machine) is the only
    kind that can differ from another run of the same input and seed.
    """
    solver.parameters.max_deterministic_time = max(0.05, seconds) / (WALL_SAFETY * workers)
    solver.parameters.max_time_in_seconds = max(0.05, wall_left)


def _groups(keys: I64) -> dict[int, I64]:
    order = np.argsort(keys, kind="stable")
    uniq, first = np.unique(keys[order], return_index=True)
    return {int(k): order[s:e] for k, s, e in zip(uniq, first, [*first[1:], len(order)])}


def _cliques_by_volunteer(v: I64, start: I64, end: I64) -> dict[int, list[list[int]]]:
    """Each volunteer's maximal sets of pairwise-overlapping pairs (touching ends do not overlap), in time order."""
    order = np.lexsort((start, v))
    rows, members, _ = max_clique_rows(v[order], start[order], end[order])
    pair = order[members]
    by_row = np.lexsort((pair, rows))
    out: dict[int, list[list[int]]] = {}
    for row_pairs in np.split(pair[by_row], np.flatnonzero(np.diff(rows[by_row])) + 1):
        if len(row_pairs):
            out.setdefault(int(v[row_pairs[0]]), []).append(row_pairs.tolist())
    return out
