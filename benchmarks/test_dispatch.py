"""A dispatch desk's day on the district: repair, recommend and explain latency, next to the full solve.

    pytest benchmarks/test_dispatch.py -p no:cacheprovider --benchmark-enable --benchmark-only -s

One :class:`matcher.Dispatcher` solves the district (20 s), then takes 30
changes one at a time (20 cancellations of busy volunteers, 4 urgent new orders,
2 withdrawals, 2 refusals, 2 cut windows), answering each with a repaired plan.
Every repaired plan is checked against the rules by the independent oracle.
After the day, a full re-solve of the final problem (same 20 s limit) shows what
starting over would have given: its coverage and how many assignments it moves.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from oracle import violations

from matcher import (
    DemandAdded,
    DemandWithdrawn,
    Dispatcher,
    PairForbidden,
    SolveOptions,
    VolunteerUnavailable,
    repair,
    solve,
)
from matcher.io import read_tables
from matcher.model import Change

OPTS = SolveOptions(time_limit_s=20)


def summary(seconds: list[float]) -> str:
    s = sorted(seconds)
    p90 = f"p90 {s[round(0.9 * (len(s) - 1))] * 1000:.0f} ms, " if len(s) >= 10 else ""
    return f"median {statistics.median(s) * 1000:.0f} ms, {p90}max {s[-1] * 1000:.0f} ms over {len(s)}"


def the_day(desk: Dispatcher, seed: int = 1) -> list[Change]:
    """30 changes drawn with the seed from the plan as it stands."""
    rng = np.random.default_rng(seed)
    p, s = desk.snapshot()
    busy = sorted({a.volunteer_id for a in s.assignments})
    picked = [busy[i] for i in rng.choice(len(busy), size=22, replace=False)]
    dems = {d.id: d for d in p.demands}
    out: list[Change] = [VolunteerUnavailable(volunteer_id=v) for v in picked[:20]]
    for i in range(4):
        base = p.demands[int(rng.integers(len(p.demands)))]
        out.append(DemandAdded(demand=base.model_copy(update={"id": f"URGENT-{i}", "priority": 5, "headcount": 2,
                                                              "preferred_volunteers": ()})))
    served = [a for a in s.assignments if a.volunteer_id not in picked]
    for i in rng.choice(len(served), size=4, replace=False).tolist()[:2]:
        out.append(DemandWithdrawn(demand_id=served[i].demand_id))
    for a in [served[int(i)] for i in rng.choice(len(served), size=2, replace=False)]:
        out.append(PairForbidden(volunteer_id=a.volunteer_id, demand_id=a.demand_id))
    for a in [x for x in s.assignments if x.volunteer_id in picked[20:]]:
        d = dems[a.demand_id]
        out.append(VolunteerUnavailable(volunteer_id=a.volunteer_id, start=d.start, end=d.end))
    order = rng.permutation(len(out))
    return [out[i] for i in order]


def test_district_dispatch_day(benchmark: Any, preset_folder: Callable[[str], Path]) -> None:
    problem = read_tables(preset_folder("district"))
    t0 = time.perf_counter()
    desk = Dispatcher(problem, OPTS)
    first = time.perf_counter() - t0
    start = desk.solution
    changes = the_day(desk)

    def day() -> tuple[list[float], list[dict[str, Any]]]:
        seconds, infos = [], []
        for c in changes:
            t = time.perf_counter()
            got = desk.repair([c])
            seconds.append(time.perf_counter() - t)
            infos.append({**got.stats["repair"], "kind": c.kind, "coverage": got.coverage})
        return seconds, infos

    seconds, infos = benchmark.pedantic(day, rounds=1, iterations=1)
    final_problem, final = desk.snapshot()
    assert violations(final_problem, final) == []

    by_kind: dict[str, list[float]] = {}
    for s, i in zip(seconds, infos):
        by_kind.setdefault(i["kind"], []).append(s)
    changed = [i["changed"] for i in infos]
    print(f"\n  first solve (with the arrays kept) {first:.1f} s: {start.status.value}, coverage {start.coverage:g} "
          f"of bound {start.coverage_bound:g}")
    print(f"  repair, all {len(seconds)} changes: {summary(seconds)}")
    for kind, s in sorted(by_kind.items()):
        print(f"    {kind}: {summary(s)}")
    region = [i["region_volunteers"] for i in infos]
    print(f"  assignments changed per repair: median {statistics.median(changed):g}, max {max(changed)}, "
          f"total {sum(changed)}; region volunteers median {statistics.median(region):g}, max {max(region)}")
    print(f"  coverage after the day {final.coverage:g} (bound {final.coverage_bound:g}, {final.status.value})")

    # what starting over would have given, for the same final problem
    t = time.perf_counter()
    again = solve(final_problem, OPTS)
    full = time.perf_counter() - t
    keys = {(a.volunteer_id, a.demand_id) for a in final.assignments}
    start_keys = {(a.volunteer_id, a.demand_id) for a in start.assignments}
    ids_v = {v.id for v in final_problem.volunteers}
    ids_d = {d.id for d in final_problem.demands}
    still = {k for k in start_keys if k[0] in ids_v and k[1] in ids_d}
    moved_by_repairs = len(still - keys)
    moved_by_full = len(still - {(a.volunteer_id, a.demand_id) for a in again.assignments})
    print(f"  full re-solve of the final problem: {full:.1f} s, coverage {again.coverage:g}; of the morning's "
          f"{len(still)} assignments still possible, the repairs moved {moved_by_repairs}, the re-solve "
          f"{moved_by_full}")

    # the stateless function builds the arrays first
    t = time.perf_counter()
    cold = repair(final_problem, final, [VolunteerUnavailable(volunteer_id=final.assignments[0].volunteer_id)], OPTS)
    print(f"  matcher.repair without a Dispatcher (arrays built first): {time.perf_counter() - t:.2f} s")
    assert cold.stats["repair"]["changed"] >= 1

    # a dispatcher's questions on the plan as it stands
    unmet = sorted({u.demand_id for u in final.unmet if u.reason.value in ("capacity_taken", "none_available")})
    asked = unmet[:: max(1, len(unmet) // 20)][:20]
    rec, exp = [], []
    for did in asked:
        t = time.perf_counter()
        desk.recommend(did, k=5)
        rec.append(time.perf_counter() - t)
        t = time.perf_counter()
        desk.explain_demand(did)
        exp.append(time.perf_counter() - t)
    print(f"  recommend: {summary(rec)}; explain: {summary(exp)}")
    assert max(rec) < 3.0 and max(exp) < 3.0  # a dispatcher waits at most seconds (targets: BENCHMARKS.md)
