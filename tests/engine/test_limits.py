"""Limits: memory is estimated before the big allocations, and a problem that will not fit is refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from matcher import ResourceLimitError, SolveOptions, generate_problem, solve
from matcher.cli import main
from matcher.engine.arrays import build_arrays
from matcher.engine.candidates import candidate_pairs
from matcher.engine.limits import estimate_pairs


@pytest.mark.parametrize(("preset", "scale"), [("street", 0.5), ("district", 0.05)])
def test_pair_estimate_is_close(preset: str, scale: float) -> None:
    arr = build_arrays(generate_problem(preset, 2, scale=scale))
    exact = len(candidate_pairs(arr))
    assert arr.nd > 512  # the estimate samples
    assert abs(estimate_pairs(arr) - exact) <= 0.2 * exact


def test_too_large_is_refused_with_the_estimate(tiny_path: Path, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    problem = generate_problem("community", 0)
    with pytest.raises(ResourceLimitError, match=r"would need about \d+ MiB at its peak .* more than the 20 MiB"):
        solve(problem, SolveOptions(max_memory_mb=20))
    opts = tmp_path / "small.toml"
    opts.write_text("max_memory_mb = 20\n")
    assert main(["run", str(tiny_path), "--out", str(tmp_path / "runs"), "--options", str(opts), "-q"]) == 4
    err = capsys.readouterr().err
    assert err.startswith("matcher: too large for this machine: this problem would need about")
    assert "Traceback" not in err
    assert not (tmp_path / "runs").exists()


def test_memory_budget_is_an_option_with_a_range() -> None:
    with pytest.raises(ValidationError, match="greater than 0"):
        SolveOptions(max_memory_mb=0)
    s = solve(generate_problem("community", 0), SolveOptions(time_limit_s=5))
    assert s.stats["memory_estimate_mib"] > 0 and s.stats["pairs_estimate"] == s.stats["candidate_pairs"]
