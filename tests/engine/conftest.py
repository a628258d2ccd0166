"""Fixtures shared by the engine's tests."""

from __future__ import annotations

import pytest

from matcher.engine import regions, relaxation


@pytest.fixture
def lp_always(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the LP tiers run on small instances (they normally wait for problems too big for CP-SAT whole)."""
    monkeypatch.setattr(regions, "REGION_PAIR_BUDGET", 0)
    monkeypatch.setattr(relaxation, "LP_SHARE", 1e9)
