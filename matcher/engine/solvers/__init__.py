"""Every solver call lives in this package: numpy arrays in, numpy arrays out.

- :mod:`~matcher.engine.solvers.flow`: OR-Tools' min-cost flow (the relaxation's network);
- :mod:`~matcher.engine.solvers.lp`: the exact model's LP relaxation (GLOP);
- :mod:`~matcher.engine.solvers.cpsat`: CP-SAT on a region, every rule exact.

These modules import only numpy, scipy, OR-Tools and :mod:`matcher.engine.types` /
:mod:`matcher.engine.intervals` (a test holds them to it).
"""
