"""The answer of a solve (SPEC.md's Solution) and its typed statistics.

``Solution.stats`` is a :class:`SolveStats`: typed fields with the JSON keys
matcher has always written, so ``solution.json`` files and manifests keep their
shape. A field that a kind of solve never sets (a greedy answer has no flow
rounds) is left out of the JSON, as a key a dict never had. The statistics
also read like that dict: ``stats["engine"]``, ``stats.get("lp")`` and
``"repair" in stats`` work.
"""

from __future__ import annotations

import enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

from matcher.model.records import Frozen

__all__ = ["AssignmentOut", "LagrangianStats", "LpStats", "RegionStats", "RepairStats", "SiftingStats", "Solution",
           "SolveStats", "Status", "SubSolveStats", "Unmet", "UnmetReason"]


class Status(enum.StrEnum):
    """Outcome of a solve, as in SPEC.md."""

    OPTIMAL = "optimal"
    FEASIBLE = "feasible"
    INFEASIBLE = "infeasible"
    TIMEOUT_NO_SOLUTION = "timeout_no_solution"


class UnmetReason(enum.StrEnum):
    """Why seats of a demand stay unfilled (SPEC.md, Solution, which lists "at least" four of these).

    The reasons are rungs of a ladder, from the widest pool of volunteers to the narrowest: seats beyond
    those holding the skills, then beyond the insured among them, the team's among those, those within
    range, those available, and finally those the plan used elsewhere. One reason is off the ladder:
    ``not_searched``, the seats of a demand the time limit left no time to search candidates for.
    """

    NO_SKILLED_VOLUNTEER = "no_skilled_volunteer"
    """Fewer volunteers hold the required skills than there are seats."""
    TOO_FEW_INSURED = "too_few_insured"
    """Enough hold the skills, but too few of them are insured (the demand requires insurance)."""
    TEAM_TOO_SMALL = "team_too_small"
    """Enough are skilled and insured, but too few belong to the team the demand is reserved for."""
    NONE_IN_RANGE = "none_in_range"
    NONE_AVAILABLE = "none_available"
    CAPACITY_TAKEN = "capacity_taken"
    CREW_NOT_FORMED = "crew_not_formed"
    """SPEC v2, rule 11: the demand's crew (``min_headcount``) could not be formed, as fewer volunteers than
    the minimum could go at all (the seats they could have taken are unmet for this reason; a crew that could
    have been formed but whose volunteers the plan used elsewhere is ``capacity_taken``)."""
    NOT_SEARCHED = "not_searched"
    """The time limit ended the candidate search before it reached this demand: who could serve it is not known
    (every missing seat of the demand; a longer ``time_limit_s`` searches it)."""


class AssignmentOut(Frozen):
    """An assignment in a solution, with its straight-line travel."""

    volunteer_id: str
    demand_id: str
    travel_km: float


class Unmet(Frozen):
    """Seats of one demand left unfilled for one reason."""

    demand_id: str
    missing: int = Field(ge=1)
    reason: UnmetReason


class StatsRecord(BaseModel):
    """Typed statistics that read like a dict and leave the fields never set out of their JSON.

    Unknown keys (from a newer matcher's ``solution.json``) are kept as they are.
    """

    model_config = ConfigDict(frozen=True, extra="allow")

    @model_serializer(mode="wrap")
    def _set_fields_only(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        return {k: v for k, v in data.items() if k in self.model_fields_set}

    def __getitem__(self, key: str) -> Any:
        """The value of a set field (``KeyError`` when it was never set, as a dict would)."""
        if key not in self.model_fields_set:
            raise KeyError(key)
        return getattr(self, key)

    def __contains__(self, key: object) -> bool:
        """Whether the field was set."""
        return key in self.model_fields_set

    def get(self, key: str, default: Any = None) -> Any:
        """The value of a set field, else ``default``."""
        return getattr(self, key) if key in self.model_fields_set else default


class LpStats(StatsRecord):
    """The LP relaxation tier: its size and time, or the error that stopped it."""

    error: str | None = None
    rows: int | None = None
    seconds: float | None = None
    solved: bool | None = None


class SiftingStats(StatsRecord):
    """The exact LP by sifting: rounds, the working set's size, its value, and whether pricing closed it."""

    rounds: int | None = None
    columns: int | None = None
    clique_rows: int | None = None
    lp_value: float | None = None
    converged: bool | None = None
    seconds: float | None = None


class LagrangianStats(StatsRecord):
    """The Lagrangian bound with an integral core: the bound, the core's size, and whether CP-SAT closed the core."""

    bound: int | None = None
    contested_demands: int | None = None
    core_volunteers: int | None = None
    core_pairs: int | None = None
    core_optimal: bool | None = None
    wall_capped: bool | None = None
    seconds: float | None = None


class RegionStats(StatsRecord):
    """One CP-SAT region: its size and what it proved, or why it was skipped or failed."""

    seed_volunteers: int | None = None
    skipped: str | None = None
    """``"deadline"`` or ``"cancelled"``."""
    pairs: int | None = None
    whole_component: bool | None = None
    error: str | None = None
    seconds: float | None = None
    coverage_proven: bool | None = None
    secondary_proven: bool | None = None
    wall_capped: bool | None = None


class SubSolveStats(StatsRecord):
    """What a repair's solve of its region reported."""

    status: str | None = None
    engine: str | None = None
    reproducible: bool | None = None
    secondary_optimal: bool | None = None
    cpsat_regions: list[RegionStats] | None = None


class RepairStats(StatsRecord):
    """What a repair changed: assignments changed, kept and added, the region's size, and the seconds taken."""

    changed: int | None = None
    kept: int | None = None
    added: int | None = None
    region_volunteers: int | None = None
    region_demands: int | None = None
    whole_problem: bool | None = None
    seconds: float | None = None


class SolveStats(StatsRecord):
    """How a solution was found: engine, sizes, bounds of each tier, seconds per phase, memory.

    The fields keep the JSON keys of earlier versions. Times are seconds, memory MiB.
    """

    pairs_estimate: int | None = None
    memory_estimate_mib: float | None = None
    memory_budget_mib: float | None = None
    candidate_pairs: int | None = None
    not_searched_demands: int | None = None
    """Demands the time limit left no time to search candidates for (their seats are ``not_searched``; the bound
    counts them all); absent when every demand was searched."""
    flow_estimate_s: float | None = None
    """With no time for a flow round: its estimated seconds."""
    flow_arcs: int | None = None
    flow_nodes: int | None = None
    flow_cost_scale: int | None = None
    """Secondary costs were divided by this to fit the flow's int64 (1 = exact)."""
    flow_coverage_bound: int | None = None
    overbooked_volunteers: int | None = None
    flow_rounds: int | None = None
    repaired_coverage: int | None = None
    """Coverage once the flow's (relaxed) choice was made feasible and improved greedily."""
    lp: LpStats | None = None
    sifting: SiftingStats | None = None
    lagrangian: list[LagrangianStats] | None = None
    """One entry per round of the Lagrangian bound (the least bound counts)."""
    lp_regions: list[RegionStats] | None = None
    """The exact region MIPs around the LP's fractional columns, one per widening."""
    cpsat_regions: list[RegionStats] | None = None
    cancelled: bool | None = None
    reproducible: bool | None = None
    """False when the wall clock, not a deterministic budget, cut a step short: another run may differ."""
    why_not_reproducible: str | None = None
    """What the clock cut short when :attr:`reproducible` is false (``"; "``-joined), e.g. "the clock ended the
    region MIPs (more time would have run more)"."""
    engine: str | None = None
    sub_solve: SubSolveStats | None = None
    repair: RepairStats | None = None
    secondary_optimal: bool | None = None
    time_limit_s: float | None = None
    wall_budget_s: float | None = None
    seed: int | None = None
    threads: int | None = None
    seconds: dict[str, float] | None = None
    """Seconds per phase."""
    peak_memory_mib: float | None = None
    volunteers: int | None = None
    demands: int | None = None
    headcount: int | None = None


class Solution(Frozen):
    """The answer of a solve (SPEC.md). Extensions: ``gap``, ``runtime_s`` and ``problem_sha256``."""

    status: Status
    coverage: float
    coverage_bound: float
    secondary: float
    assignments: tuple[AssignmentOut, ...] = ()
    unmet: tuple[Unmet, ...] = ()
    kpis: dict[str, Any] = Field(default_factory=dict)
    stats: SolveStats = Field(default_factory=SolveStats)
    gap: float = Field(default=0.0, description="(coverage_bound - coverage) / max(coverage_bound, 1)")
    runtime_s: float = 0.0
    warnings: tuple[str, ...] = Field(
        default=(), description="what was left out or looks wrong: stale references dropped, an empty input, ...")
    problem_sha256: str | None = Field(
        default=None, description="the input's fingerprint (matcher.problem_sha256), set by a run: explain checks it")
