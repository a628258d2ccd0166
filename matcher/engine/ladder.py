"""The unmet ladder: why each seat no assignment fills stays unfilled (SPEC.md, ``Unmet.reason``).

Unmet reasons follow a ladder per demand, the skilled-stage rules taken in
SPEC's order (:data:`SKILLED`). Let ``S1`` be the
volunteers who hold all required skills, ``S2`` those of them insured where the
demand requires it, ``S3`` those of them of the demand's team where it names
one, ``R`` those of them within their travel range, and ``A`` those of them also
free for the whole window with capacity for it and not forbidden (the
candidates). For a demand with headcount ``h`` and ``a`` seats filled, seat
``k`` (``a < k <= h``) is unmet because of ``no_skilled_volunteer`` when
``k > S1``, ``too_few_insured`` when ``S2 < k <= S1``, ``team_too_small`` when
``S3 < k <= S2``, ``none_in_range`` when ``R < k <= S3``, ``none_available``
when ``A < k <= R``, and ``capacity_taken`` when ``k <= A``: a candidate
existed but the optimum used it elsewhere (or the rules of its other tasks
ruled it out).

A demand the candidate search did not reach before the clock ended it
(:func:`matcher.engine.candidates.search_until`) has its ``A`` unknown: all its
missing seats are ``not_searched``, and no count is made for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from matcher.engine.arrays import ProblemArrays, distinct_rows
from matcher.engine.candidates import Pairs, candidate_pairs
from matcher.engine.rules import PAIR_RULES, passing
from matcher.engine.types import I64
from matcher.model import Unmet, UnmetReason

__all__ = ["SKILLED", "Ladder", "ladder_counts", "qualified_counts", "unmet_reasons"]

SKILLED = tuple(r for r in PAIR_RULES if r.stage == "skilled")
"""The rules of who may serve, in SPEC's order (skills, insurance, team): the top rungs of the unmet ladder."""


def qualified_counts(arr: ProblemArrays, demands: I64) -> I64:
    """For each given demand, how many volunteers pass the first 1, 2, ... of the :data:`SKILLED` rules.

    Any place, any time. Returns shape ``(len(demands), len(SKILLED))``, int64: column ``j`` counts the
    volunteers who keep rules ``0..j`` (holding the skills; and insured where needed; and of the team).
    Demands with the same needs are counted once, and volunteers with the same skills, insurance and team
    (the fields these rules read) are tested once, through one of them, and counted as many times as they are
    (a district: 25,856 profiles of 80,000 volunteers).
    """
    out = np.zeros((len(demands), len(SKILLED)), dtype=np.int64)
    if arr.nv == 0 or len(demands) == 0:
        return out
    sig = np.concatenate(
        [arr.d_skills[demands].view(np.int64), arr.d_insured[demands, None], arr.d_team[demands, None]], axis=1
    )
    first, inverse, _ = distinct_rows(sig)
    profile = np.concatenate([arr.v_skills.view(np.int64), arr.v_insured[:, None], arr.v_team[:, None]], axis=1)
    who, _, many = distinct_rows(profile)
    weight = np.zeros(arr.nv, dtype=np.int64)
    weight[who] = many
    for k, j in enumerate(first.tolist()):
        v, d = who, np.full(len(who), demands[j], dtype=np.int64)
        counts = []
        for skilled in SKILLED:
            v, d = passing(arr, v, d, (skilled,))
            counts.append(int(weight[v].sum()))
        out[inverse == k] = counts
    return out



@dataclass(frozen=True, eq=False)
class Ladder:
    """The solution-independent counts of the unmet ladder, for the demands that have fewer candidates than seats.

    A demand with fewer candidates than seats is short in every plan, and only such a demand needs the counts
    below its candidates, so they can be counted as soon as the candidate pairs are known (the solve does that
    beside its tiers, :func:`ladder_counts`). Arrays of shape ``(len(demands),)`` (``qual``:
    ``(len(demands), len(SKILLED))``), int64.
    """

    demands: I64
    """Demand rows, sorted."""
    near: I64
    """Volunteers keeping the skilled-stage rules and within range, any time (the ``R`` pool), counted only as far
    as the ladder needs: a count at or above the headcount may be a lower bound (the nearest cells' count)."""
    qual: I64
    """Volunteers keeping the first 1, 2, ... skilled-stage rules, any place, any time (``S1``, ``S2``, ...), where
    ``near`` is below the headcount; elsewhere ``near`` repeated (the seats are all decided below it)."""
    not_searched: I64 = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    """Demand rows the candidate search did not reach (sorted; none of ``demands``): their seats are
    ``not_searched``."""


def ladder_counts(arr: ProblemArrays, pairs: Pairs, among: I64 | None = None,
                  not_searched: I64 | None = None) -> Ladder:
    """The :class:`Ladder` of the demands (of ``among``, default all) with fewer candidate ``pairs`` than seats.

    ``not_searched``: demand rows the candidate search did not reach (their pairs are not in ``pairs``); they are
    not counted, and go into the ladder's ``not_searched``.
    """
    n_cand = np.bincount(pairs.d, minlength=arr.nd)
    dem = np.flatnonzero(n_cand < arr.d_headcount)
    if among is not None:
        dem = np.intersect1d(dem, among)
    not_searched = np.unique(np.asarray(not_searched if not_searched is not None else [], dtype=np.int64))
    dem = np.setdiff1d(dem, not_searched, assume_unique=True)
    head = arr.d_headcount[dem]
    # deeper counts matter only for seats beyond the candidates, and only up to the
    # headcount: a count over the nearest cells (a lower bound) settles most demands
    n_near = n_cand[dem].copy()
    deeper = np.ones(len(dem), dtype=bool)
    for inner in (True, False):
        idx = np.flatnonzero(deeper)
        if len(idx) == 0:
            break
        near = candidate_pairs(arr, dem[idx], check_time=False, inner_only=inner, workers=1)  # (beside the solve)
        n_near[idx] = np.bincount(near.d, minlength=arr.nd)[dem[idx]]
        deeper &= n_near < head
    # per skilled-stage rule (skills; and insured; and of the team): how many keep the rules so far
    qual = np.repeat(n_near[:, None], len(SKILLED), axis=1)
    qual[deeper] = qualified_counts(arr, dem[deeper])
    return Ladder(dem, n_near, qual, not_searched)


def unmet_reasons(arr: ProblemArrays, pairs: Pairs, filled: I64, among: I64 | None = None,
                  ladder: Ladder | None = None) -> tuple[Unmet, ...]:
    """The unmet seats of every demand (or of the demands ``among``) with their reasons, by the ladder above.

    ``ladder``: the counts of :func:`ladder_counts` for these ``pairs`` (of every demand they concern, or at
    least of those ``among``), when counted already; else they are counted here. Every missing seat of a demand
    in the ladder's ``not_searched`` has that reason.

    Raises
    ------
    ValueError
        When ``ladder`` leaves out a demand of ``among`` that has fewer candidates than seats.

    """
    short = np.flatnonzero(filled < arr.d_headcount)
    if among is not None:
        short = np.intersect1d(short, among)
    if len(short) == 0:
        return ()
    head = arr.d_headcount[short]
    n_cand = np.bincount(pairs.d, minlength=arr.nd)[short]
    if ladder is None:
        ladder = ladder_counts(arr, pairs, short)
    # the counts of the demands with fewer candidates than seats; the others' seats are all capacity_taken
    at = np.minimum(np.searchsorted(ladder.demands, short), max(len(ladder.demands) - 1, 0))
    known = (n_cand < head) & (ladder.demands[at] == short) if len(ladder.demands) else np.zeros(len(short), bool)
    not_searched = np.isin(short, ladder.not_searched)
    if not bool(known[(n_cand < head) & ~not_searched].all()):
        raise ValueError("unmet_reasons: the ladder given does not cover every demand short of candidates")
    n_near = np.where(known, ladder.near[at] if len(ladder.demands) else 0, n_cand)
    qual = np.repeat(n_near[:, None], len(SKILLED), axis=1)
    qual[known] = ladder.qual[at[known]]
    out: list[Unmet] = []
    crews = arr.d_min_headcount.tolist() if arr.d_min_headcount is not None else None
    for j, dem in enumerate(short.tolist()):
        a, h = int(filled[dem]), int(arr.d_headcount[dem])
        if not_searched[j]:
            out.append(Unmet(demand_id=arr.demand_ids[dem], missing=h - a, reason=UnmetReason.NOT_SEARCHED))
            continue
        # seat k in (a, h]; the thresholds split it into the reasons, narrowest pool first
        ladder_of = [
            (int(n_cand[j]), UnmetReason.CAPACITY_TAKEN),
            (int(n_near[j]), UnmetReason.NONE_AVAILABLE),
            (int(qual[j, 2]), UnmetReason.NONE_IN_RANGE),
            (int(qual[j, 1]), UnmetReason.TEAM_TOO_SMALL),
            (int(qual[j, 0]), UnmetReason.TOO_FEW_INSURED),
            (h, UnmetReason.NO_SKILLED_VOLUNTEER),
        ]
        if a == 0 and crews is not None and int(n_cand[j]) < crews[dem]:  # rule 11: too few for the crew
            ladder_of[0] = (int(n_cand[j]), UnmetReason.CREW_NOT_FORMED)
        low = a
        for top, reason in ladder_of:
            top = min(max(top, low), h)
            if top > low:
                out.append(Unmet(demand_id=arr.demand_ids[dem], missing=top - low, reason=reason))
                low = top
    return tuple(out)
