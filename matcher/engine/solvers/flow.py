"""Exact min-cost-flow core (OR-Tools ``SimpleMinCostFlow``).

The network, for pairs that survived candidate generation and pinning::

    source -> volunteer          one arc per possible task, k-th costs load*(2(b+k)-1)  (convex load)
    volunteer -> group           capacity 1: a group is a set of the volunteer's
                                 demands whose windows share a point (a clique)
    group|volunteer -> demand    capacity 1 per pair, cost = travel + fairness - previous
    (preferred pairs go to a "continuity" node of the demand first:
     continuity -> demand        capacity 1 with cost -bonus, the rest at cost 0)
    demand -> sink               capacity headcount, cost -big * w(priority)
    source -> sink               bypass, cost 0

``big`` exceeds any possible secondary difference, so the flow maximises
coverage first. The network relaxes two rules only: two demands in different
groups may still overlap, and the hour cap is enforced only through the task
count it implies. Hence its coverage is an upper bound; when its solution
breaks neither rule it is optimal for the whole lexicographic objective.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ortools.graph.python import min_cost_flow

from matcher.engine.types import I64, B

__all__ = ["FlowInput", "FlowResult", "solve_flow"]

_COST_LIMIT = 2**61  # OR-Tools multiplies costs by (nodes + 1) internally


@dataclass(frozen=True, eq=False)
class FlowInput:
    """Integer data of the network; all arrays are indexed densely."""

    nv: int
    nd: int
    pair_v: I64
    pair_d: I64
    pair_cost: I64
    pair_group: I64  # group id of each pair; a group belongs to one volunteer
    pair_pref: B
    vol_cap: I64  # tasks each volunteer may still take
    vol_base: I64  # tasks it already holds (pinned), for the load cost
    load_unit: int
    dem_cap: I64  # seats still open
    dem_weight: I64  # coverage weight w(priority)
    dem_bonus: I64  # continuity bonus (0 when already met or not wanted)


@dataclass(frozen=True, eq=False)
class FlowResult:
    """Chosen pairs and what the flow proved."""

    chosen: B
    coverage: int
    cost_scale: int  # secondary costs were divided by this to fit int64 (1 = exact)
    arcs: int
    nodes: int


def solve_flow(inp: FlowInput) -> FlowResult:
    """Solve the min-cost flow; its coverage is an upper bound of the true optimum."""
    n_pairs = len(inp.pair_v)
    if n_pairs == 0:
        return FlowResult(np.zeros(0, dtype=bool), 0, 1, 0, 2)
    scale = 1
    while True:
        net = _build(inp, scale)
        if net is not None:
            break
        scale *= 16
    tails, heads, caps, costs, n_nodes, supply, pair_arc0 = net
    smcf = min_cost_flow.SimpleMinCostFlow()
    arcs = smcf.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, costs)
    smcf.set_nodes_supplies(np.array([0, 1]), np.array([supply, -supply]))
    status = smcf.solve()
    if status != smcf.OPTIMAL:
        raise RuntimeError(f"min-cost flow failed with status {status}")
    flows = smcf.flows(arcs[pair_arc0 : pair_arc0 + n_pairs])
    chosen = flows > 0
    coverage = int(inp.dem_weight[inp.pair_d[chosen]].sum())
    return FlowResult(chosen, coverage, scale, len(tails), n_nodes)


def _build(inp: FlowInput, scale: int) -> tuple[I64, I64, I64, I64, int, int, int] | None:
    nv, nd = inp.nv, inp.nd
    pv, pd = inp.pair_v, inp.pair_d
    pair_cost = inp.pair_cost // scale
    load_unit = inp.load_unit // scale
    bonus = inp.dem_bonus // scale

    has_pairs = np.bincount(pv, minlength=nv) > 0
    cap = np.where(has_pairs, inp.vol_cap, 0)
    # big: larger than any secondary difference between two (relaxed) solutions
    max_assign = int(min(cap.sum(), inp.dem_cap.sum()))
    max_marginal = int((load_unit * (2 * (inp.vol_base + cap) - 1)).max(initial=0))
    per_assign = int(np.abs(pair_cost).max(initial=0)) + max(max_marginal, 0)
    big = 2 * max_assign * per_assign + int(bonus.sum()) + 1

    v_node = 2 + np.arange(nv, dtype=np.int64)
    d_node = 2 + nv + np.arange(nd, dtype=np.int64)
    pref_dem = np.unique(pd[inp.pair_pref])
    pref_node = np.full(nd, -1, dtype=np.int64)
    pref_node[pref_dem] = 2 + nv + nd + np.arange(len(pref_dem))
    next_node = 2 + nv + nd + len(pref_dem)
    n_groups = int(inp.pair_group.max()) + 1
    gsize = np.bincount(inp.pair_group, minlength=n_groups)
    g_node = np.full(n_groups, -1, dtype=np.int64)
    multi = np.flatnonzero(gsize > 1)
    g_node[multi] = next_node + np.arange(len(multi))
    n_nodes = next_node + len(multi)

    tails: list[I64] = []
    heads: list[I64] = []
    caps: list[I64] = []
    costs: list[I64] = []

    def add(t: I64, h: I64, c: I64, w: I64) -> None:
        tails.append(t)
        heads.append(h)
        caps.append(c)
        costs.append(w)

    # source -> volunteer, one unit arc per task with rising marginal load cost
    reps = cap.astype(np.int64)
    vol_rep = np.repeat(np.arange(nv, dtype=np.int64), reps)
    k = np.arange(len(vol_rep)) - np.repeat(np.cumsum(reps) - reps, reps) + 1
    add(np.zeros(len(vol_rep), dtype=np.int64), v_node[vol_rep], np.ones(len(vol_rep), dtype=np.int64),
        load_unit * (2 * (inp.vol_base[vol_rep] + k) - 1))
    # volunteer -> group (only groups of two or more pairs get a node)
    g_vol = np.zeros(n_groups, dtype=np.int64)
    g_vol[inp.pair_group] = pv
    add(v_node[g_vol[multi]], g_node[multi], np.ones(len(multi), dtype=np.int64), np.zeros(len(multi), dtype=np.int64))
    # pair arcs
    pair_arc0 = sum(len(t) for t in tails)
    tail = np.where(g_node[inp.pair_group] >= 0, g_node[inp.pair_group], v_node[pv])
    head = np.where(inp.pair_pref, pref_node[pd], d_node[pd])
    add(tail, head, np.ones(len(pv), dtype=np.int64), pair_cost)
    # continuity node -> demand: the first preferred volunteer earns the bonus
    dcap = inp.dem_cap.astype(np.int64)
    add(pref_node[pref_dem], d_node[pref_dem], np.ones(len(pref_dem), dtype=np.int64), -bonus[pref_dem])
    rest = pref_dem[dcap[pref_dem] > 1]
    add(pref_node[rest], d_node[rest], dcap[rest] - 1, np.zeros(len(rest), dtype=np.int64))
    # demand -> sink, and the bypass
    gain = big * inp.dem_weight
    open_dem = np.flatnonzero(dcap > 0)
    add(d_node[open_dem], np.ones(len(open_dem), dtype=np.int64), dcap[open_dem], -gain[open_dem])
    supply = max_assign
    add(np.zeros(1, dtype=np.int64), np.ones(1, dtype=np.int64), np.array([supply]), np.zeros(1, dtype=np.int64))

    all_costs = np.concatenate(costs)
    max_cost = int(np.abs(all_costs).max(initial=0))
    if max_cost >= _COST_LIMIT // (n_nodes + 1) or big * max(supply, 1) * int(inp.dem_weight.max(initial=1)) >= 2**62:
        return None
    return (np.concatenate(tails), np.concatenate(heads), np.concatenate(caps), all_costs, n_nodes, supply, pair_arc0)
