"""Runs where users are: ``--version``, ``python -m matcher``, a ``latest`` without symbolic links, the fill rate."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from matcher.cli import main
from matcher.io import durable, follow_latest, publish_dir, read_assignments


def test_version_and_python_dash_m() -> None:
    r = subprocess.run([sys.executable, "-m", "matcher", "--version"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0
    assert r.stdout.startswith("matcher 0.") and "OR-Tools" in r.stdout


def test_summary_line_has_the_fill_rate(tmp_path: Path, tiny_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(tiny_path), "--out", str(tmp_path / "runs"), "-q", "--time-limit", "5"]) == 0
    err = capsys.readouterr().err
    assert "fill rate 42.9%" in err  # 3 of 7 seats (tests/conftest.py: the tiny problem)
    manifest = json.loads((tmp_path / "runs" / "latest" / "manifest.json").read_text())
    assert manifest["result"]["fill_rate"] == pytest.approx(3 / 7, abs=1e-4)
    assert main(["solve", str(tiny_path), "--out", str(tmp_path / "s.json"), "-q"]) == 0
    assert "fill rate 42.9%" in capsys.readouterr().err


def test_generate_without_a_preset_makes_the_community(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["generate", "--out", str(tmp_path / "g"), "--formats", "json"]) == 0
    assert "community (seed 0): 1000 volunteers" in capsys.readouterr().err


def no_symlinks(*args: object, **kwargs: object) -> None:
    raise OSError(1, "Operation not permitted")


def test_latest_is_a_text_file_where_links_are_not_allowed(tmp_path: Path, tiny_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(durable.os, "symlink", no_symlinks)
    runs = tmp_path / "runs"
    assert main(["run", str(tiny_path), "--out", str(runs), "-q", "--time-limit", "5"]) == 0
    first = Path(capsys.readouterr().out.strip())
    latest = runs / "latest"
    assert not latest.is_symlink() and latest.read_text() == first.name + "\n"
    assert follow_latest(latest) == first
    pairs = read_assignments(latest)
    assert len(pairs) == 3
    # the readers of latest follow the text form: --previous and explain
    assert main(["run", str(tiny_path), "--out", str(runs), "-q", "--previous", str(latest)]) == 0
    second = Path(capsys.readouterr().out.strip())
    assert second != first and latest.read_text() == second.name + "\n"
    kept = {r.split(",")[-1] for r in (second / "assignments.csv").read_text(encoding="utf-8-sig").splitlines()[1:]}
    assert kept == {"kept"}
    assert main(["explain", str(tiny_path), str(latest), "--demand", "d1"]) == 0
    assert "d1" in capsys.readouterr().out


def test_a_text_file_is_followed_only_to_a_folder_beside_it(tmp_path: Path) -> None:
    (tmp_path / "latest").write_text("../etc\n")
    assert follow_latest(tmp_path / "latest") == tmp_path / "latest"
    (tmp_path / "plan.csv").write_text("volunteer_id,demand_id\n")
    assert follow_latest(tmp_path / "plan.csv") == tmp_path / "plan.csv"


def test_text_latest_is_taken_back_on_interrupt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(durable.os, "symlink", no_symlinks)
    good = publish_dir(tmp_path, "run-1", lambda d: (d / "a.txt").write_text("1"), latest="latest")
    real_replace = os.replace

    def interrupted(src: object, dst: object) -> None:
        if Path(str(dst)).name == "latest":
            raise KeyboardInterrupt
        real_replace(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(durable.os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        publish_dir(tmp_path, "run-2", lambda d: (d / "a.txt").write_text("2"), latest="latest")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest", "run-1"]
    assert follow_latest(tmp_path / "latest") == good


def test_a_solution_file_is_not_taken_for_a_latest_pointer(tmp_path: Path) -> None:
    (tmp_path / "solution.json").write_text('{\n "status": "optimal"\n}\n')
    (tmp_path / "run-1").mkdir()
    assert follow_latest(tmp_path / "solution.json") == tmp_path / "solution.json"
    (tmp_path / "latest").write_text("x" * 300 + "\n")
    assert follow_latest(tmp_path / "latest") == tmp_path / "latest"
