"""Shared fixtures: the files under tests/data, each described where it is loaded, and the engine tests' lp_always."""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from matcher import Problem, load_problem

# fuzz profiles: "fast" in the default run; "long" with  pytest tests/test_fuzz.py --hypothesis-profile=long
settings.register_profile("fast", max_examples=60, deadline=None)
settings.register_profile("long", max_examples=3000, deadline=None)
settings.load_profile("fast")

DATA = Path(__file__).parent / "data"
sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture
def tiny_path() -> Path:
    """Three volunteers, six demands on Monday morning: one demand per unmet reason.

    a (nurse, 2 tasks, 3 h), b (two touching windows), c (5.5 km north).
    The optimum sends a to d1 (priority 5, nurse) and d3 (touching d1's end),
    b to d2; coverage 16 + 4 + 1 = 21. d2's second seat is capacity_taken,
    d4 (lawyer) no_skilled_volunteer, d5 (33 km away) none_in_range, d6
    (Tuesday) none_available.
    """
    return DATA / "tiny.json"


@pytest.fixture
def tiny(tiny_path: Path) -> Problem:
    """The tiny problem, loaded."""
    return load_problem(tiny_path)


@pytest.fixture
def tiny_tables_copy(tmp_path: Path) -> Path:
    """A writable copy of tests/data/tiny_tables (tiny.json as CSV tables)."""
    import shutil

    return Path(shutil.copytree(DATA / "tiny_tables", tmp_path / "tiny_tables"))


POSTGRES_URL = os.environ.get("MATCHER_TEST_POSTGRES",
                              "postgresql://matcher_test:pw-Kq7-matcher-test@127.0.0.1:5432/matcher_test")
"""The test server (``.ci/postgres`` starts it; CI sets ``MATCHER_TEST_POSTGRES`` and ``MATCHER_REQUIRE_POSTGRES``)."""


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A PostgreSQL URL (with its password) whose search path is a new, empty schema, dropped afterwards.

    Skipped when no server answers, unless ``MATCHER_REQUIRE_POSTGRES`` is set (CI): then it fails.
    """
    import sqlalchemy as sa

    engine = sa.create_engine(POSTGRES_URL)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception as exc:
        engine.dispose()
        if os.environ.get("MATCHER_REQUIRE_POSTGRES"):
            pytest.fail(f"PostgreSQL is required here (MATCHER_REQUIRE_POSTGRES) and cannot be reached: {exc}")
        pytest.skip("no PostgreSQL server (bash .ci/postgres starts one)")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        engine.dispose()


@pytest.fixture
def lp_always(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the LP tiers run on small instances (they normally wait for problems too big for CP-SAT whole)."""
    from matcher.engine import regions, relaxation

    monkeypatch.setattr(regions, "REGION_PAIR_BUDGET", 0)
    monkeypatch.setattr(relaxation, "LP_SHARE", 1e9)
