"""Benchmark instances, generated from a seed (nothing large is committed)."""

from __future__ import annotations

import pytest

from matcher import Problem
from matcher.generate import synthetic_problem


@pytest.fixture(scope="session")
def district() -> Problem:
    """80,000 volunteers x 20,000 demands over a week, a 30 km district (seed 1): about 36,000 headcount."""
    return synthetic_problem(80_000, 20_000, seed=1, extent_km=30.0)


@pytest.fixture(scope="session")
def street() -> Problem:
    """10,000 volunteers x 2,500 demands over a week, a 10 km area (seed 2)."""
    return synthetic_problem(10_000, 2_500, seed=2, extent_km=10.0)
