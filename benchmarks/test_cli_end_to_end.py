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
