"""`matcher solve` on the district preset's Parquet tables, timed from process start to solution written.

The target: the district (80,000 volunteers x 20,000 demands) under 20 s end to end and 2 GiB.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def test_district_cli(benchmark: Any, preset_folder: Callable[[str], Path], tmp_path: Path) -> None:
    out = tmp_path / "solution.json"
    cmd = [sys.executable, "-m", "matcher.cli", "solve", str(preset_folder("district")), "--out", str(out),
           "--time-limit", "20", "-q"]

    def run() -> float:
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, timeout=300)
        return time.perf_counter() - t0

    wall = benchmark.pedantic(run, rounds=1, iterations=1)
    sol = json.loads(out.read_text())
    peak = sol["stats"]["peak_memory_mib"]
    print(f"\n  wall={wall:.2f} s peak={peak} MiB status={sol['status']} "
          f"coverage={sol['coverage']:g} bound={sol['coverage_bound']:g} gap={sol['gap']:.4%}")
    assert sol["status"] in ("optimal", "feasible")
    assert sol["gap"] < 0.04
    assert wall < 20.0 * 1.25  # target 20 s (see BENCHMARKS.md for how far each run is); slack for a shared machine
    assert peak < 2048


def test_district_nightly_run(benchmark: Any, preset_folder: Callable[[str], Path], tmp_path: Path) -> None:
    """`matcher run` twice on the district: a first night, then a second keeping the first's plan."""
    root = tmp_path / "runs"
    first = [sys.executable, "-m", "matcher.cli", "run", str(preset_folder("district")), "--out", str(root),
             "--time-limit", "20", "-q"]
    again = [*first, "--previous", str(root / "latest")]

    def nights() -> tuple[float, float]:
        t0 = time.perf_counter()
        subprocess.run(first, check=True, timeout=300)
        t1 = time.perf_counter()
        subprocess.run(again, check=True, timeout=300)
        return t1 - t0, time.perf_counter() - t1

    walls = benchmark.pedantic(nights, rounds=1, iterations=1)
    runs = sorted(p for p in root.iterdir() if p.name.startswith("run-"))
    assert len(runs) == 2 and (root / "latest").resolve() == runs[1].resolve()
    m1, m2 = (json.loads((r / "manifest.json").read_text()) for r in runs)
    rows = (runs[1] / "assignments.csv").read_text().splitlines()[1:]
    kept = sum(r.endswith(",kept") for r in rows)
    dropped = len((runs[1] / "dropped.csv").read_text().splitlines()) - 1
    print(f"\n  night 1: wall={walls[0]:.2f} s coverage={m1['result']['coverage']:g} "
          f"bound={m1['result']['coverage_bound']:g} write={m1['seconds']['write']:.2f} s"
          f"\n  night 2 (--previous): wall={walls[1]:.2f} s coverage={m2['result']['coverage']:g} "
          f"kept={kept} new={len(rows) - kept} dropped={dropped} write={m2['seconds']['write']:.2f} s")
    for m in (m1, m2):
        assert m["result"]["status"] in ("optimal", "feasible") and m["result"]["gap"] < 0.04
    assert m2["result"]["coverage"] >= m1["result"]["coverage"] * 0.995
    assert kept >= 0.9 * m1["result"]["assignments"]  # the same input: almost every assignment stays
    assert max(walls) < 20.0 * 1.25
