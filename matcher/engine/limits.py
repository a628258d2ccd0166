"""Estimating a solve's peak memory before it allocates, and refusing what will not fit.

The candidate pairs drive memory: every later step (flow, repair, LP, CP-SAT
regions, report) holds a few arrays per pair. :func:`estimate_pairs` counts
the pairs of a seeded sample of demands and scales up; :func:`check_memory`
adds :data:`BYTES_PER_PAIR` per pair (more when the LP tier will run) to what
the process already holds, and raises :class:`~matcher.errors.ResourceLimitError`
when that exceeds the budget: ``SolveOptions.max_memory_mb``, or 90% of what
the machine has available: :func:`available_memory_mib`, the machine's
available memory (psutil), or what the process's cgroup v2 limit leaves
(``memory.max`` less ``memory.current``) when that is less: a container's limit.

The constants were measured on the presets (RELIABILITY.md has the figures).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from matcher.engine.arrays import ProblemArrays
from matcher.engine.candidates import candidate_pairs
from matcher.errors import ResourceLimitError
from matcher.model import SolveOptions

__all__ = ["BYTES_PER_PAIR", "MemoryEstimate", "available_memory_mib", "cgroup_free_mib", "check_memory",
           "estimate_pairs", "held_memory_mib", "peak_memory_mib"]

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


CGROUP_ROOT = Path("/sys/fs/cgroup")
"""Where the cgroup v2 hierarchy is mounted (Linux)."""
PROC_CGROUP = Path("/proc/self/cgroup")
"""The process's cgroup membership (Linux; a v2 line reads ``0::/path``)."""


def _read_bytes_value(path: Path) -> int | None:
    """The whole number a cgroup file holds, ``None`` for ``max`` (no limit) or no such file."""
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return int(text) if text.isdigit() else None


def cgroup_free_mib(root: Path | None = None, membership: Path | None = None) -> float | None:
    """MiB the process's cgroup v2 memory limit still leaves (``memory.max`` - ``memory.current``), or ``None``.

    ``None`` where there is no cgroup v2 (not Linux, cgroup v1) or no limit in it or any of its parents
    (``memory.max`` reads ``max``). The tightest limit on the way up to the root counts. ``root`` and
    ``membership`` default to :data:`CGROUP_ROOT` and :data:`PROC_CGROUP`.
    """
    root = CGROUP_ROOT if root is None else root
    membership = PROC_CGROUP if membership is None else membership
    try:
        lines = membership.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    rel = next((line[3:] for line in lines if line.startswith("0::")), None)
    if rel is None:
        return None
    free: float | None = None
    group = root / rel.strip("/")
    while True:
        limit = _read_bytes_value(group / "memory.max")
        if limit is not None:
            used = _read_bytes_value(group / "memory.current") or 0
            left = max(0, limit - used) / 2**20
            free = left if free is None else min(free, left)
        if group == root or root not in group.parents:
            return free
        group = group.parent


def available_memory_mib() -> float | None:
    """Memory this process can still get, in MiB; ``None`` where that is unknown.

    The machine's available memory (psutil), or less where a cgroup v2 limit (a container's) leaves less.
    """
    try:
        import psutil

        machine: float | None = psutil.virtual_memory().available / 2**20
    except Exception:  # psutil cannot read this platform's figures
        machine = None
    group = cgroup_free_mib()
    if machine is None or group is None:
        return machine if group is None else group
    return min(machine, group)


def _size(mib: float) -> str:
    return f"{mib:,.0f} MiB" if mib < 10_240 else f"{mib / 1024:,.1f} GiB"


def held_memory_mib() -> float:
    """Resident memory this process holds now, in MiB (psutil)."""
    import psutil

    return float(psutil.Process(os.getpid()).memory_info().rss) / 2**20


def peak_memory_mib() -> float:
    """Peak resident memory of this process so far, in MiB.

    From psutil where it reports a peak (``peak_wset`` on Windows, ``peak_rss`` of ``memory_info_ex`` in
    newer releases), else ``getrusage`` where the ``resource`` module exists (POSIX), else the
    resident memory now (a lower bound).
    """
    import psutil

    proc = psutil.Process(os.getpid())
    info = proc.memory_info()
    peak = getattr(info, "peak_wset", None)
    ex = getattr(proc, "memory_info_ex", None)
    if peak is None and ex is not None:
        try:
            peak = getattr(ex(), "peak_rss", None)
        except Exception:  # an older psutil's memory_info_ex is something else
            peak = None
    if peak is not None:
        return float(peak) / 2**20
    try:
        import resource
    except ImportError:  # Windows, or a platform without it
        return float(info.rss) / 2**20
    scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB on Linux
    return max(float(info.rss), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale) / 2**20


def check_memory(arr: ProblemArrays, opts: SolveOptions, *, lp_planned: Callable[[int], bool]) -> MemoryEstimate:
    """Estimate the solve's peak; raise :class:`ResourceLimitError` when it exceeds the budget.

    ``lp_planned(pairs)`` says whether the LP tier would run on that many pairs (it costs more per pair).
    """
    pairs = estimate_pairs(arr)
    held = held_memory_mib()
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
        why = "SolveOptions.max_memory_mb" if opts.max_memory_mb is not None else \
            "90% of the memory available" + (" within this cgroup's limit" if cgroup_free_mib() is not None else "")
        raise ResourceLimitError(
            f"this problem would need about {_size(need)} at its peak ({pairs:,} candidate pairs{sampled}; "
            f"{_size(held)} already held by the loaded problem), more than the {_size(budget)} allowed ({why}). "
            "Split it, e.g. by street, or run it on a machine with more memory.")
    return estimate
