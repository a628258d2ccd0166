"""Runs where users are: no ``resource`` module, a container's memory limit."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from matcher import ResourceLimitError, SolveOptions, generate_problem, solve
from matcher.engine import limits


def _fake_cgroup(tmp_path: Path, max_text: str, current: int) -> None:
    group = tmp_path / "cg" / "system.slice" / "nightly.service"
    group.mkdir(parents=True)
    (group / "memory.max").write_text(max_text + "\n")
    (group / "memory.current").write_text(f"{current}\n")
    (tmp_path / "cgroup").write_text("0::/system.slice/nightly.service\n")


def test_cgroup_limit_is_read(tmp_path: Path) -> None:
    _fake_cgroup(tmp_path, str(300 * 2**20), 100 * 2**20)
    assert limits.cgroup_free_mib(tmp_path / "cg", tmp_path / "cgroup") == pytest.approx(200.0)


def test_no_limit_or_no_cgroup_v2_is_none(tmp_path: Path) -> None:
    _fake_cgroup(tmp_path, "max", 100 * 2**20)
    assert limits.cgroup_free_mib(tmp_path / "cg", tmp_path / "cgroup") is None
    (tmp_path / "v1").write_text("12:memory:/docker/abc\n")
    assert limits.cgroup_free_mib(tmp_path / "cg", tmp_path / "v1") is None
    assert limits.cgroup_free_mib(tmp_path / "cg", tmp_path / "missing") is None


def test_a_parent_limit_counts(tmp_path: Path) -> None:
    _fake_cgroup(tmp_path, "max", 0)
    (tmp_path / "cg" / "system.slice" / "memory.max").write_text(str(64 * 2**20))
    (tmp_path / "cg" / "system.slice" / "memory.current").write_text(str(16 * 2**20))
    assert limits.cgroup_free_mib(tmp_path / "cg", tmp_path / "cgroup") == pytest.approx(48.0)


def test_memory_guard_uses_the_cgroup_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    problem = generate_problem("community", 0)
    _fake_cgroup(tmp_path, str(2**20 * 8), 2**20 * 4)  # 4 MiB left: less than the process already holds
    monkeypatch.setattr(limits, "CGROUP_ROOT", tmp_path / "cg")
    monkeypatch.setattr(limits, "PROC_CGROUP", tmp_path / "cgroup")
    assert limits.available_memory_mib() == pytest.approx(4.0)
    with pytest.raises(ResourceLimitError, match="memory available within this cgroup's limit"):
        solve(problem, SolveOptions(time_limit_s=5))
    (tmp_path / "cg" / "system.slice" / "nightly.service" / "memory.max").write_text("max\n")
    assert solve(problem, SolveOptions(time_limit_s=5)).assignments


def test_peak_and_held_memory_are_positive() -> None:
    assert limits.peak_memory_mib() >= limits.held_memory_mib() * 0.5 > 0


IMPORT_ONLY = """
import sys
sys.modules["resource"] = None  # import resource now raises ImportError, as on Windows
import matcher
import matcher.cli, matcher.engine.limits, matcher.engine.report, matcher.workflows.batch
print("ok")
"""

HIDE_RESOURCE = """
import sys
import psutil  # (psutil's Linux backend uses resource itself; its Windows one does not)
sys.modules["resource"] = None  # from here on import resource raises ImportError, as on Windows
import matcher
from matcher.cli import main
s = matcher.solve(matcher.load_problem(sys.argv[1]), matcher.SolveOptions(time_limit_s=5))
assert s.stats["peak_memory_mib"] > 0, s.stats
print("ok", len(s.assignments))
"""


def test_import_without_the_resource_module() -> None:
    out = subprocess.run([sys.executable, "-c", IMPORT_ONLY], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "ok\n"


def test_import_and_solve_without_the_resource_module(tiny_path: Path) -> None:
    out = subprocess.run([sys.executable, "-c", HIDE_RESOURCE, str(tiny_path)], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("ok ")
