"""The nightly batch run (``matcher run``): outputs, manifest, atomic publishing, determinism, previous plan."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from instances import at, tight_problem
from oracle import violations

import matcher.workflows.batch
from matcher import Problem, ProblemError, Solution
from matcher.cli.progress import LiveStatus, cli_logging
from matcher.generate import generate_tables
from matcher.io import publish_dir, read_assignments, write_json_atomic, write_tables
from matcher.workflows.batch import run_batch

TABLES = ["assignments", "roster", "unmet", "kpi_by_area", "kpi_by_category", "kpi_by_priority", "volunteers_ledger",
          "services"]


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "matcher.cli", *args], capture_output=True, text=True, timeout=300)


def rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))


def runs(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir())


def test_run_publishes_every_output(tmp_path: Path, tiny_path: Path, tiny: Problem) -> None:
    # a limit far above the solve's needs: a loaded machine's slow start must not turn the answer greedy
    r = cli("run", str(tiny_path), "--out", str(tmp_path / "runs"), "--time-limit", "30", "--seed", "1")
    assert r.returncode == 0, r.stderr
    run_dir = Path(r.stdout.strip())  # stdout is the run's path, for scripts
    assert run_dir.parent == tmp_path / "runs" and run_dir.name.startswith("run-")
    assert (tmp_path / "runs" / "latest").resolve() == run_dir.resolve()
    names = {p.name for p in run_dir.iterdir()}
    assert names == {f"{t}.csv" for t in TABLES} | {"kpis.json", "solution.json", "manifest.json", "report.html",
                                                 "run.xlsx"}
    sol = Solution.model_validate_json((run_dir / "solution.json").read_text())
    assert violations(tiny, sol) == [] and sol.coverage == 21
    assign = rows(run_dir / "assignments.csv")
    assert {(a["volunteer_id"], a["demand_id"]) for a in assign} == {
        (a.volunteer_id, a.demand_id) for a in sol.assignments}
    assert {a["demand_id"]: a["priority"] for a in assign}["d1"] == "5"
    unmet = {(u["demand_id"], u["reason"]): int(u["missing"]) for u in rows(run_dir / "unmet.csv")}
    assert unmet == {(u.demand_id, u.reason.value): u.missing for u in sol.unmet}
    by_prio = {p["priority"]: p for p in rows(run_dir / "kpi_by_priority.csv")}
    demanded = sum(d.headcount for d in tiny.demands)
    assert sum(int(p["demanded"]) for p in by_prio.values()) == demanded
    assert sum(int(p["filled"]) for p in by_prio.values()) == len(sol.assignments)
    unmet_cols = [c for c in by_prio["1"] if c.startswith("unmet_")]
    assert sum(int(p[c]) for p in by_prio.values() for c in unmet_cols) == sum(u.missing for u in sol.unmet)
    m = json.loads((run_dir / "manifest.json").read_text())
    assert m["input"]["files"]["tiny.json"]["sha256"] == hashlib.sha256(tiny_path.read_bytes()).hexdigest()
    assert m["options"]["seed"] == 1 and m["options"]["time_limit_s"] == 30
    assert m["versions"]["ortools"] and m["versions"]["matcher"]
    assert m["result"]["status"] == "optimal" and m["result"]["coverage"] == m["result"]["coverage_bound"] == 21
    assert {"load", "solve.flow", "solve.solution", "report", "write", "total"} <= set(m["seconds"])
    for name, digest in m["outputs"].items():
        assert hashlib.sha256((run_dir / name).read_bytes()).hexdigest() == digest
    assert "candidates done" in r.stderr  # plain progress lines when not on a terminal


def test_same_input_and_seed_give_identical_tables(tmp_path: Path) -> None:
    problem = tight_problem(11)
    src = tmp_path / "p.json"
    write_json_atomic(src, problem)
    a = run_batch(src, tmp_path / "a", overrides={"seed": 5, "time_limit_s": 20})
    b = run_batch(src, tmp_path / "b", overrides={"seed": 5, "time_limit_s": 20})
    assert a.solution.stats["engine"] == "flow+cpsat"  # both tiers ran
    assert a.manifest["result"]["reproducible"] and a.manifest["result"]["why_not_reproducible"] is None
    for name in [f"{t}.csv" for t in TABLES] + ["kpis.json"]:
        assert (a.path / name).read_bytes() == (b.path / name).read_bytes(), name
    assert a.manifest["input"] == b.manifest["input"]


def test_a_second_run_is_a_new_folder_and_latest_moves(tmp_path: Path, tiny_path: Path) -> None:
    first = run_batch(tiny_path, tmp_path, overrides={"time_limit_s": 5})
    second = run_batch(tiny_path, tmp_path, overrides={"time_limit_s": 5})
    assert first.path != second.path and first.path.exists() and second.path.exists()
    assert (tmp_path / "latest").resolve() == second.path.resolve()


def test_bad_input_writes_nothing(tmp_path: Path, tiny_path: Path) -> None:
    root = tmp_path / "runs"
    good = run_batch(tiny_path, root, overrides={"time_limit_s": 5}).path
    r = cli("run", str(Path(__file__).parents[1] / "data" / "broken" / "latitude.json"), "--out", str(root))
    assert r.returncode == 2 and "bad input" in r.stderr and "lat" in r.stderr
    assert "Traceback" not in r.stderr and r.stdout == ""
    assert runs(root) == sorted([good.name, "latest"])
    assert (root / "latest").resolve() == good.resolve()


def test_failure_while_writing_leaves_no_partial_output(tmp_path: Path, tiny_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    good = run_batch(tiny_path, tmp_path, overrides={"time_limit_s": 5}).path
    before = {p.name: p.read_bytes() for p in good.iterdir()}
    calls = []

    def failing(path: Any, text: str) -> None:
        calls.append(path)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(matcher.workflows.batch, "write_text_synced", failing)
    with pytest.raises(ProblemError, match="No space left"):
        run_batch(tiny_path, tmp_path, overrides={"time_limit_s": 5})
    assert calls  # the failure happened after some tables were written into the staging folder
    assert runs(tmp_path) == sorted([good.name, "latest"])
    assert (tmp_path / "latest").resolve() == good.resolve()
    assert {p.name: p.read_bytes() for p in good.iterdir()} == before


def test_killed_run_leaves_previous_output_intact(tmp_path: Path) -> None:
    """SIGKILL a street-size run while it solves: nothing new appears, the last good run is untouched."""
    src = tmp_path / "street"
    write_tables(generate_tables("street", 3), src, fmt="parquet", settings={"taxonomy": "builtin"})
    root = tmp_path / "runs"
    good = run_batch(Path(__file__).parents[1] / "data" / "tiny.json", root, overrides={"time_limit_s": 5}).path
    before = {p.name: p.read_bytes() for p in good.iterdir()}
    proc = subprocess.Popen([sys.executable, "-m", "matcher.cli", "run", str(src), "--out", str(root),
                             "--time-limit", "120"], stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    seen = ""
    deadline = time.monotonic() + 120
    inside = ("flow round 1", "sifting round 1")  # well inside the solve (the flow's or the LP tiers')
    while not any(k in seen for k in inside) and time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        seen += line
    assert any(k in seen for k in inside), seen
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert runs(root) == sorted([good.name, "latest"])
    assert (root / "latest").resolve() == good.resolve()
    assert {p.name: p.read_bytes() for p in good.iterdir()} == before


def test_staging_left_by_a_dead_process_is_swept(tmp_path: Path, tiny_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f".incomplete-run-x-{int(dead.stdout)}"
    stale.mkdir(parents=True)
    (stale / "assignments.csv").write_text("half")
    result = run_batch(tiny_path, tmp_path, overrides={"time_limit_s": 5})
    assert not stale.exists()
    assert runs(tmp_path) == sorted([result.path.name, "latest"])


def test_publish_dir_never_overwrites(tmp_path: Path) -> None:
    a = publish_dir(tmp_path, "x", lambda p: (p / "f").write_text("1"))
    b = publish_dir(tmp_path, "x", lambda p: (p / "f").write_text("2"))
    assert (a.name, b.name) == ("x", "x-2") and (a / "f").read_text() == "1"


def two_volunteers(previous: list[dict[str, str]] | None = None) -> Problem:
    """One seat at the origin; A lives 0.5 km away, B 0.6 km: without a previous plan A goes."""
    free = [{"start": at(0), "end": at(24)}]
    return Problem.from_dict({
        "volunteers": [
            {"id": "A", "lat": 39.9045, "lon": 116.4, "skills": ["general"], "availability": free},
            {"id": "B", "lat": 39.9054, "lon": 116.4, "skills": ["general"], "availability": free},
        ],
        "demands": [
            {"id": "d1", "lat": 39.9, "lon": 116.4, "category": "care", "required_skills": ["general"],
             "headcount": 1, "start": at(9), "end": at(10), "priority": 3},
        ],
        "previous": previous or [],
    })


def test_previous_assignment_is_kept_when_it_costs_no_coverage(tmp_path: Path) -> None:
    src = tmp_path / "p.json"
    write_json_atomic(src, two_volunteers())
    fresh = run_batch(src, tmp_path / "runs", overrides={"time_limit_s": 5})
    assert [a.volunteer_id for a in fresh.solution.assignments] == ["A"]
    yesterday = tmp_path / "yesterday.csv"
    yesterday.write_text("volunteer_id,demand_id\nB,d1\nB,d0-withdrawn\nZ,d1\n")
    r = cli("run", str(src), "--out", str(tmp_path / "runs"), "--previous", str(yesterday), "--time-limit", "30")
    assert r.returncode == 0, r.stderr
    run_dir = Path(r.stdout.strip())
    assert [(a["volunteer_id"], a["change"]) for a in rows(run_dir / "assignments.csv")] == [("B", "kept")]
    dropped = {(d["volunteer_id"], d["demand_id"]): d["why"] for d in rows(run_dir / "dropped.csv")}
    assert dropped == {("B", "d0-withdrawn"): "demand withdrawn", ("Z", "d1"): "volunteer withdrawn"}
    m = json.loads((run_dir / "manifest.json").read_text())
    assert m["previous"]["assignments"] == 3 and m["previous"]["withdrawn"] == 2
    # a run folder works as the previous plan too, and without a change cost the plan moves back to A
    opts = tmp_path / "opts.toml"
    opts.write_text("change_weight = 0.0\n")
    free = run_batch(src, tmp_path / "runs", previous=run_dir, options_file=opts, overrides={"time_limit_s": 5})
    assert [a.volunteer_id for a in free.solution.assignments] == ["A"]
    assert rows(free.path / "dropped.csv") == [{"volunteer_id": "B", "demand_id": "d1", "why": "reassigned"}]


def test_previous_given_twice_is_an_error(tmp_path: Path) -> None:
    src = tmp_path / "p.json"
    write_json_atomic(src, two_volunteers([{"volunteer_id": "B", "demand_id": "d1"}]))
    prev = tmp_path / "prev.csv"
    prev.write_text("volunteer_id,demand_id\nB,d1\n")
    with pytest.raises(ProblemError, match="already has a 'previous' table"):
        run_batch(src, tmp_path / "runs", previous=prev)
    assert not (tmp_path / "runs").exists() or runs(tmp_path / "runs") == []


def test_previous_table_errors_name_the_line(tmp_path: Path) -> None:
    prev = tmp_path / "prev.csv"
    prev.write_text("volunteer_id,demand_id\nB,d1\n,d2\n")
    with pytest.raises(ProblemError, match=r"prev.csv line 3: needs a volunteer_id and a demand_id"):
        read_assignments(prev)
    prev.write_text("volunteer,demand_id\nB,d1\n")
    with pytest.raises(ProblemError, match="missing column volunteer_id"):
        read_assignments(prev)


def test_yaml_options_and_errors_name_line_and_key(tmp_path: Path, tiny_path: Path) -> None:
    opts = tmp_path / "nightly.yaml"
    opts.write_text("# nightly\ntime_limit_s: 5\nseed: 4\npriority_weights: {1: 1, 2: 2, 3: 4, 4: 8, 5: 32}\n")
    result = run_batch(tiny_path, tmp_path / "runs", options_file=opts)
    assert result.manifest["options"]["seed"] == 4 and result.manifest["options"]["priority_weights"]["5"] == 32
    assert result.manifest["options_file"]["sha256"] == hashlib.sha256(opts.read_bytes()).hexdigest()
    opts.write_text("time_limit_s: 5\nseed: -3\n")
    r = cli("run", str(tiny_path), "--out", str(tmp_path / "runs2"), "--options", str(opts))
    assert r.returncode == 2 and "nightly.yaml line 2, seed" in r.stderr, r.stderr
    opts.write_text("time_limit_s: 5\nthreds: 2\n")
    r = cli("run", str(tiny_path), "--out", str(tmp_path / "runs2"), "--options", str(opts))
    assert r.returncode == 2 and "nightly.yaml line 2, threds: Extra inputs are not permitted" in r.stderr
    opts.write_text("time_limit_s: !!python/object/apply:os.system [echo hi]\n")
    r = cli("run", str(tiny_path), "--out", str(tmp_path / "runs2"), "--options", str(opts))
    assert r.returncode == 2 and "not allowed" in r.stderr
    assert not (tmp_path / "runs2").exists()


def test_quiet_and_verbose(tmp_path: Path, tiny_path: Path) -> None:
    q = cli("run", str(tiny_path), "--out", str(tmp_path / "q"), "-q", "--time-limit", "5")
    assert q.returncode == 0 and q.stderr.count("\n") == 1 and "optimal" in q.stderr
    v = cli("run", str(tiny_path), "--out", str(tmp_path / "v"), "-v", "--time-limit", "5")
    assert v.returncode == 0 and len(v.stderr.splitlines()) > len(cli(
        "run", str(tiny_path), "--out", str(tmp_path / "n"), "--time-limit", "5").stderr.splitlines())
    assert cli("run", str(tiny_path), "--out", str(tmp_path / "x"), "-q", "-v").returncode == 2


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_live_status_on_a_terminal() -> None:
    term = FakeTerminal()
    started = time.perf_counter()
    with cli_logging(term, quiet=False, verbose=False, started=started, budget_s=10):
        logging.getLogger("matcher.test").info("flow round 1: coverage bound 9")
        time.sleep(0.6)
        logging.getLogger("matcher.test").warning("something to keep")
    text = term.getvalue()
    assert "\r" in text and "/ 10 s [" in text and "flow round 1" in text
    assert "matcher: something to keep\n" in text
    assert text.endswith("\r\x1b[2K")  # the status line is cleared at the end
    assert not any(isinstance(h, LiveStatus) for h in logging.getLogger("matcher").handlers)
