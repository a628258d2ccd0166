"""Safe to embed: calls from several threads at once give what they give one at a time."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from instances import tight_problem

from matcher import SolveOptions, VolunteerUnavailable, explain_demand, recommend, repair, solve


def key(s):  # type: ignore[no-untyped-def]
    return (s.coverage, s.secondary, [(a.volunteer_id, a.demand_id) for a in s.assignments], s.unmet)


def test_concurrent_calls_match_sequential_ones() -> None:
    problems = [tight_problem(seed, n_vol=80, n_dem=50) for seed in range(4)]
    opts = SolveOptions(time_limit_s=10, seed=1)
    alone = [solve(p, opts) for p in problems]

    def work(i: int) -> tuple[object, ...]:
        p, s = problems[i], alone[i]
        d = s.unmet[0].demand_id if s.unmet else p.demands[0].id
        fixed = repair(p, s, [VolunteerUnavailable(volunteer_id=s.assignments[0].volunteer_id)], opts)
        return (key(solve(p, opts)), recommend(p, s, d), explain_demand(p, s, d), key(fixed))

    sequential = [work(i) for i in range(4)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        together = list(pool.map(work, [0, 1, 2, 3, 0, 1, 2, 3]))
    assert together == sequential + sequential
    assert [t[0] for t in sequential] == [key(s) for s in alone]
