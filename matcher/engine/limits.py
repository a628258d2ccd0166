"""Estimating a solve's peak memory before it allocates, and refusing what will not fit.

The candidate pairs drive memory: every later step (flow, repair, LP, CP-SAT
regions, report) holds a few arrays per pair. :func:`estimate_pairs` counts
the pairs of a seeded sample of demands and scales up; :func:`check_memory`
adds :data:`BYTES_PER_PAIR` per pair (more when the LP tier will run) to what
the process already holds, and raises :class:`~matcher.errors.ResourceLimitError`
when that exceeds the budget: ``SolveOptions.max_memory_mb``, or 90% of what
the machine has available (``MemAvailable`` in ``/proc/meminfo``).

The constants were measured on the presets (RELIABILITY.md has the figures).
"""

from __future__ import annotations

import logging
import resource
from collections.abc import Callable

import numpy as np

from matcher.engine.arrays import ProblemArrays
from matcher.engine.candidates import candidate_pairs
from matcher.errors import ResourceLimitError
from matcher.model import SolveOptions

__all__ = ["BYTES_PER_PAIR", "MemoryEstimate", "available_memory_mib", "check_memory", "estimate_pairs"]

log = logging.getLogger(__name__)

BYTES_PER_PAIR = 300
"""Peak bytes per candidate pair above what the loaded problem holds (flow, repair, report).

Measured: 251 on the district preset (2.08M pairs, 20 s limit)."""
LP_BYTES_PER_PAIR = 1_500
"""The same when the LP tier runs (its sparse model and GLOP's copy).

Measured: 1,465 on the district (300 s limit, 3.2 GiB peak)."""
CPSAT_RESERVE_MIB = 200.0
"""CP-SAT's regions (up to 60,000 pairs each) on top, for problems big enough to fill one."""
SAMPLE_DEMANDS = 512
"""Demands whose pairs are counted to estimate the total."""
AVAILABLE_SHARE = 0.9
"""Share of the available memory a solve may plan to use."""


class MemoryEstimate:
    """What a solve is expected to need, in MiB, and what it may use."""

    def __init__(self, pairs: int, held_mib: float, need_mib: float, budget_mib: float | None) -> None:
        self.pairs, self.held_mib, self.need_mib, self.budget_mib = pairs, held_mib, need_mib, budget_mib

    def as_stats(self) -> dict[str, float | int | None]:
        """For ``Solution.stats``."""
        return {"pairs_estimate": self.pairs, "memory_estimate_mib": round(self.need_mib, 1),
                "memory_budget_mib": None if self.budget_mib is None else round(self.budget_mib, 1)}


def estimate_pairs(arr: ProblemArrays, sample: int = SAMPLE_DEMANDS, seed: int = 0) -> int:
    """Candidate pairs of the whole problem, from those of a seeded sample of demands (exact when small)."""
    if arr.nd <= sample:
        return len(candidate_pairs(arr))
    picked = np.sort(np.random.default_rng(seed).choice(arr.nd, size=sample, replace=False))
    return round(len(candidate_pairs(arr, picked.astype(np.int64))) * arr.nd / sample)


def _proc_mib(path: str, key: str) -> float | None:
    """A ``key: N kB`` line of a ``/proc`` file, in MiB (``None`` where there is no such file or line)."""
    try:
        with open(path, encoding="ascii") as fh:
            for line in fh:
                if line.startswith(key):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def available_memory_mib() -> float | None:
    """Memory the machine can still give (``MemAvailable``), or ``None`` where that is unknown."""
    return _proc_mib("/proc/meminfo", "MemAvailable:")


def _size(mib: float) -> str:
    return f"{mib:,.0f} MiB" if mib < 10_240 else f"{mib / 1024:,.1f} GiB"


def _held_mib() -> float:
    """Memory this process holds now (``VmRSS``; its peak so far where that is unknown)."""
    held = _proc_mib("/proc/self/status", "VmRSS:")
    return held if held is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def check_memory(arr: ProblemArrays, opts: SolveOptions, *, lp_planned: Callable[[int], bool]) -> MemoryEstimate:
    """Estimate the solve's peak; raise :class:`ResourceLimitError` when it exceeds the budget.

    ``lp_planned(pairs)`` says whether the LP tier would run on that many pairs (it costs more per pair).
    """
    pairs = estimate_pairs(arr)
    held = _held_mib()
    per_pair = LP_BYTES_PER_PAIR if lp_planned(pairs) else BYTES_PER_PAIR
    need = held + pairs * per_pair / 2**20 + min(CPSAT_RESERVE_MIB, pairs * 2_000 / 2**20)
    if opts.max_memory_mb is not None:
        budget: float | None = opts.max_memory_mb
    else:
        free = available_memory_mib()
        budget = None if free is None else held + AVAILABLE_SHARE * free
    estimate = MemoryEstimate(pairs, held, need, budget)
    log.info("memory: about %d candidate pairs, %.0f MiB at the peak (budget %s)", pairs, need,
             "unknown" if budget is None else f"{budget:.0f} MiB")
    if budget is not None and need > budget:
        sampled = f", estimated from {SAMPLE_DEMANDS} of {arr.nd:,} demands" if arr.nd > SAMPLE_DEMANDS else ""
        why = "SolveOptions.max_memory_mb" if opts.max_memory_mb is not None else "90% of the memory available"
        raise ResourceLimitError(
            f"this problem would need about {_size(need)} at its peak ({pairs:,} candidate pairs{sampled}; "
            f"{_size(held)} already held by the loaded problem), more than the {_size(budget)} allowed ({why}). "
            "Split it, e.g. by street, or run it on a machine with more memory.")
    return estimate
