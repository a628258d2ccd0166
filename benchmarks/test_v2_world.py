"""SPEC v2's world on the district: travel times and crews on, against the same district without them.

The one command (about 10 minutes on the 2-core machine)::

    pytest benchmarks/test_v2_world.py -p no:cacheprovider --benchmark-enable --benchmark-only -s

Instances: the district preset, seed 1, in the v1 world, in the v2 world
(``matcher generate --preset district --seed 1 --world v2``: walking and
cycling speeds, reach in minutes, ``Problem.travel``, weekly series, crews
with minimums, a history of ratings), and in the v2 world with travel times and
crews off (``v2-plain``: no ``travel`` in the settings, ``min_headcount``
empty), each written as Parquet tables. Each runs ``matcher solve FOLDER
--time-limit 20`` in its own process, ``RUNS`` times, side by side in one
session; the medians are printed as the table in BENCHMARKS.md.

Asserted with the time (issue 15): every plan keeps every hard rule, v2's
included (the independent checker, ``tests/oracle.py``); every run of the
command ends within 20.5 s; and the v2 world's median gap is at most twice
that of the same world without travel times and crews (issue 15's own
comparison). On a loaded machine the LP stops early, v2's more often (its
crews' rows and travel cuts need a round or two more), and the comparison
fails there (BENCHMARKS.md, 2 December afternoon): run it on a quiet machine.
``test_v2_beside_busy_loops`` makes that slow hour on purpose (two busy loops)
and asserts what must hold there too: the rules and the 20.5 s.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from busy import BUSY_LOOPS, busy_loops
from oracle import violations

from matcher import Solution
from matcher.generate import generate_tables, generated_settings
from matcher.io import read_tables, write_tables

RUNS = 3
LIMIT_S = 20.0
WALL_S = 20.5
ROWS: dict[str, list[dict[str, Any]]] = {}


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """The district's Parquet folder in a world (``"v1"`` or ``"v2"``), written on first use."""
    made: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in made:
            path = tmp_path_factory.mktemp(f"district-{name}")
            world = "v2" if name == "v2-plain" else name
            tables = generate_tables("district", 1, world=world)  # type: ignore[arg-type]
            settings = generated_settings(world)  # type: ignore[arg-type]
            if name == "v2-plain":  # travel times and crews off, all else as in v2
                tables["demands"]["min_headcount"] = [None] * len(tables["demands"]["min_headcount"])
                settings.pop("travel")
            write_tables(tables, path, fmt="parquet", settings=settings)
            made[name] = path
        return made[name]

    return get


def _solve(folder: Path, out: Path) -> tuple[float, Solution]:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "matcher.cli", "solve", str(folder), "--out", str(out),
                    "--time-limit", str(LIMIT_S), "--seed", "0", "-q"], check=True, timeout=600)
    wall = time.perf_counter() - t0
    return wall, Solution.model_validate(json.loads(out.read_text(encoding="utf-8")))


@pytest.mark.parametrize("name", ["v1", "v2-plain", "v2"])
def test_district_at_20_s(name: str, world: Callable[[str], Path], tmp_path: Path, benchmark: Any) -> None:
    folder = world(name)
    problem = read_tables(folder)
    rows: list[dict[str, Any]] = []

    def once() -> None:
        wall, s = _solve(folder, tmp_path / f"s{len(rows)}.json")
        assert violations(problem, s) == []
        rows.append({"wall": wall, "coverage": s.coverage, "bound": s.coverage_bound, "gap": s.gap,
                     "engine": s.stats["engine"], "fill_rate": s.kpis["fill_rate"]})

    benchmark.pedantic(once, rounds=RUNS, iterations=1)
    ROWS[name] = rows
    med = {k: statistics.median(r[k] for r in rows) for k in ("wall", "coverage", "bound", "gap", "fill_rate")}
    print(f"\n{name}: median wall {med['wall']:.1f} s, coverage {med['coverage']:.0f} of bound {med['bound']:.0f} "
          f"(gap {100 * med['gap']:.3f}%), fill rate {100 * med['fill_rate']:.1f}%; engines "
          f"{sorted({r['engine'] for r in rows})}")
    slowest = max(r["wall"] for r in rows)
    assert slowest <= WALL_S, f"{name}: a run took {slowest:.1f} s, over {WALL_S} s"
    if name == "v2" and "v2-plain" in ROWS:
        plain = statistics.median(r["gap"] for r in ROWS["v2-plain"])
        assert med["gap"] <= 2 * plain, f"v2 gap {med['gap']:.4%} over twice that without travel and crews, {plain:.4%}"


@pytest.mark.parametrize("name", ["v2-plain", "v2"])
def test_v2_beside_busy_loops(name: str, world: Callable[[str], Path], tmp_path: Path, benchmark: Any) -> None:
    """One run with the cores taken by other processes: the rules and the time limit hold; the gap is printed."""
    folder = world(name)
    with busy_loops():
        wall, s = benchmark.pedantic(_solve, args=(folder, tmp_path / "s.json"), rounds=1, iterations=1)
    assert violations(read_tables(folder), s) == []
    assert s.coverage <= s.coverage_bound
    print(f"\n{name} beside {BUSY_LOOPS} busy loops: wall {wall:.1f} s, coverage {s.coverage:.0f} of bound "
          f"{s.coverage_bound:.0f} (gap {100 * s.gap:.3f}%)")
    assert wall <= WALL_S, f"{name}: {wall:.1f} s beside busy loops, over {WALL_S} s"
