"""Problem → Solution in array space: candidates, relaxations and bounds, exact regions, the report.

- :mod:`~matcher.engine.types`: array aliases and units (µs per hour, Earth radius), defined once;
- :mod:`~matcher.engine.arrays`, :mod:`~matcher.engine.update`: the problem as arrays, built or updated;
- :mod:`~matcher.engine.rules`: SPEC's hard rules as one table; :func:`check_plan`;
- :mod:`~matcher.engine.candidates`: the pairs that keep the pair rules;
- :mod:`~matcher.engine.intervals`: windows, clashes, maximal cliques (one copy each);
- :mod:`~matcher.engine.context`: the clock and the residual problem the tiers share;
- :mod:`~matcher.engine.greedy`: feasible answers made fast, and the greedy dispatcher;
- :mod:`~matcher.engine.relaxation`: the bound tier (flow rounds, the LP relaxation);
- :mod:`~matcher.engine.regions`: exact CP-SAT neighbourhoods;
- :mod:`~matcher.engine.pipeline`: :func:`solve`, each tier one call;
- :mod:`~matcher.engine.report`: unmet reasons, secondary objective, KPIs;
- :mod:`~matcher.engine.costs`, :mod:`~matcher.engine.limits`: integer costs; the memory estimate;
- :mod:`~matcher.engine.solvers`: every solver call.

``engine`` never imports ``io``: it takes models and returns models.
"""

from matcher.engine.greedy import greedy_dispatch
from matcher.engine.pipeline import Solved, solve, solve_keeping
from matcher.engine.plan_check import check_plan

__all__ = ["Solved", "check_plan", "greedy_dispatch", "solve", "solve_keeping"]
