"""The ``matcher`` command: exit codes, one-line errors, atomic output, schema."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from matcher.cli import main
from matcher.workflows.batch import WRITE_SHARE

DATA = Path(__file__).parents[1] / "data"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "matcher.cli", *args], capture_output=True, text=True, timeout=120)


def test_solve_writes_solution(tmp_path: Path, tiny_path: Path) -> None:
    out = tmp_path / "sol.json"
    # a limit far above the solve's needs: a loaded machine's slow start must not turn the answer greedy
    r = run("solve", str(tiny_path), "--out", str(out), "--seed", "3", "--time-limit", "30")
    assert r.returncode == 0, r.stderr
    sol = json.loads(out.read_text())
    assert sol["status"] == "optimal" and sol["coverage"] == 21
    assert "optimal: fill rate 42.9%, coverage 21" in r.stderr
    assert "candidates done" in r.stderr  # progress lines
    # the summary's times: the solve's own, and the whole command's (the one the time limit counts), never less
    line = r.stderr.strip().splitlines()[-1]
    solved = float(line.split("solved in ")[1].split(" s,")[0])
    total = float(line.split(" s since the command started")[0].rsplit(" ", 1)[1])
    assert 0 < solved < total and solved == pytest.approx(sol["runtime_s"], abs=0.01)


def test_time_limit_covers_the_whole_command(tmp_path: Path, tiny_path: Path) -> None:
    out = tmp_path / "sol.json"
    assert main(["solve", str(tiny_path), "--out", str(out), "--time-limit", "5", "-q"]) == 0
    stats = json.loads(out.read_text())["stats"]
    assert stats["time_limit_s"] == 5  # deterministic budgets follow the limit itself
    assert 0 < WRITE_SHARE and 0 < stats["wall_budget_s"] < 5 * (1 - WRITE_SHARE)  # loading and a write reserve


def test_quiet_has_only_the_summary(tmp_path: Path, tiny_path: Path) -> None:
    r = run("solve", str(tiny_path), "--out", str(tmp_path / "s.json"), "-q")
    assert r.returncode == 0 and len(r.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("name", sorted(p.name for p in (DATA / "broken").iterdir()))
def test_bad_input_exits_2_with_one_line(tmp_path: Path, name: str, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "sol.json"
    out.write_text("previous good output")
    code = main(["solve", str(DATA / "broken" / name), "--out", str(out), "-q"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("matcher: bad input:") and len(err.strip().splitlines()) == 1
    assert "Traceback" not in err
    assert out.read_text() == "previous good output"  # nothing overwritten


@pytest.mark.parametrize("name", ["pinned_skill.json", "pinned_overlap.json"])
def test_pinned_breaking_a_rule_exits_3(tmp_path: Path, name: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["solve", str(DATA / name), "--out", str(tmp_path / "s.json"), "-q"])
    err = capsys.readouterr().err
    assert code == 3
    assert "rule 1" in err if name == "pinned_skill.json" else "rule 7" in err
    assert not (tmp_path / "s.json").exists()


@pytest.mark.parametrize(("command", "flag", "value"), [("solve", "--threads", "0"), ("solve", "--time-limit", "-3"),
                                                     ("run", "--seed", "-1"), ("run", "--time-limit", "0")])
def test_bad_flag_value_exits_2_naming_the_flag_before_loading(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str, flag: str, value: str) -> None:
    """The flag as typed, not the field; before loading: the input named here does not exist."""
    code = main([command, str(tmp_path / "missing.json"), "--out", str(tmp_path / "out"), flag, value])
    assert code == 2
    err = capsys.readouterr().err
    assert f"bad input: {flag}: " in err and "missing.json" not in err, err


def test_a_bad_options_file_is_named_before_loading(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "o.yaml").write_text("seed: -1\n", encoding="utf-8")
    code = main(["solve", str(tmp_path / "missing.json"), "--out", str(tmp_path / "s.json"), "--options",
                 str(tmp_path / "o.yaml")])
    err = capsys.readouterr().err
    assert code == 2 and "o.yaml line 1, seed:" in err and "missing.json" not in err, err


def test_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["solve", str(tmp_path / "nope.json"), "--out", str(tmp_path / "s.json")]) == 2
    assert "nope.json: no such file or folder" in capsys.readouterr().err


def test_options_file(tmp_path: Path, tiny_path: Path) -> None:
    opts = tmp_path / "o.toml"
    opts.write_text("time_limit_s = 3\n[priority_weights]\n1 = 100\n2 = 1\n3 = 1\n4 = 1\n5 = 1\n")
    out = tmp_path / "s.json"
    assert main(["solve", str(tiny_path), "--out", str(out), "--options", str(opts), "-q"]) == 0
    assert json.loads(out.read_text())["coverage"] == 102


def test_schema_prints_json_schema() -> None:
    r = run("schema")
    assert r.returncode == 0
    schema = json.loads(r.stdout)
    assert {"volunteers", "demands", "pinned", "forbidden"} <= set(schema["properties"])
    assert json.loads(run("schema", "solution").stdout)["properties"]["status"]


def test_time_limit_ignores_work_the_process_did_before_becoming_matcher(tmp_path: Path, tiny_path: Path) -> None:
    """``sh -c "pip install ... && matcher run ..."`` may exec into matcher: the setup is not matcher's time."""
    script = Path(sys.executable).parent / "matcher"
    # (the limit is short of the sleep, so counting the sleep would leave no budget at all; it is not tighter
    # than that because this machine is shared, and a loaded hour slows the import)
    cmd = f"sleep 6; exec {script} solve {tiny_path} --out {tmp_path / 's.json'} --time-limit 4 -q"
    r = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    sol = json.loads((tmp_path / "s.json").read_text())
    assert sol["status"] == "optimal" and sol["stats"]["wall_budget_s"] > 0.5


def test_a_closed_pipe_is_not_a_traceback(tmp_path: Path, tiny_path: Path) -> None:
    script = Path(sys.executable).parent / "matcher"
    # the reader exits at once, long before matcher has imported and writes: the write finds no reader
    r = subprocess.run(["bash", "-c", f"{script} schema problem | true; echo ${{PIPESTATUS[0]}}"],
                       capture_output=True, text=True, timeout=60)
    assert r.stdout.strip() == "0" and "Traceback" not in r.stderr and "BrokenPipe" not in r.stderr, r.stderr


@pytest.mark.parametrize(("command", "out"), [
    ("solve", "keep.json/x.json"), ("solve", "keep.json/deeper/x.json"), ("solve", "folder"),
    ("run", "keep.json"), ("run", "keep.json/runs")])
def test_an_out_that_cannot_be_written_is_refused_before_any_work(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str, out: str) -> None:
    """Refused before loading: the problem named here does not even exist (a solve once failed at its end)."""
    (tmp_path / "keep.json").write_text("{}", encoding="utf-8")
    (tmp_path / "folder").mkdir()
    assert main([command, str(tmp_path / "missing.json"), "--out", str(tmp_path / out), "-q"]) == 2
    err = capsys.readouterr().err
    assert f"--out {tmp_path / out}: cannot write: " in err and "missing.json" not in err, err
    assert (tmp_path / "keep.json").read_text(encoding="utf-8") == "{}"
