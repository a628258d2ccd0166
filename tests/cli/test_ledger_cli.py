"""The 评单 loop on the command line: matcher run -> matcher rate -> matcher run (reads the ledger) -> matcher rate."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
from ledger_nights import HISTORY, NIGHT_1, NIGHT_2, night, table, write_csv

from matcher.cli import main


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_the_loop_night_by_night(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    runs = str(tmp_path / "runs")
    code, _, err = run_cli(capsys, "ledger", runs)
    assert code == 0 and "no ledger at" in err
    # ten days ago: four days of service for a, 96 hours in all, recorded after the fact
    code, out, _ = run_cli(capsys, "run", str(night(tmp_path / "n0.json", 10, HISTORY, days=4, max_hours=96)),
                           "--out", runs, "-q")
    assert code == 0 and table(Path(out.strip()) / "volunteers_ledger.csv")["a"]["hours_in_plan"] == "96.00"
    history = write_csv(tmp_path / "n0.csv", [["volunteer_id", "demand_id"], *[["a", f"H{k}"] for k in range(4)]])
    assert run_cli(capsys, "rate", str(history), "--run", f"{runs}/latest", "-q")[0] == 0
    code, out, _ = run_cli(capsys, "run", str(night(tmp_path / "n1.json", 2, NIGHT_1)), "--out", runs, "-q")
    assert code == 0
    run1 = Path(out.strip())
    assert table(run1 / "volunteers_ledger.csv")["a"]["hours_to_date"] == "96.00"

    rated = write_csv(tmp_path / "n1.csv", [["volunteer_id", "demand_id", "stars", "hours"], ["a", "D1", 4, ""],
                                            ["a", "D3", 5, ""], ["b", "D2", "", "0.5"]])
    code, _, err = run_cli(capsys, "rate", str(rated), "--run", f"{runs}/latest", "-q")
    assert code == 0
    assert err == (f"matcher: recorded 3 service(s) of run {run1.name} in {tmp_path / 'runs' / 'ledger.sqlite'} "
                   "(recording 2): 3 new, 0 changed, 0 already held\n")
    code, _, err = run_cli(capsys, "rate", str(rated), "--run", f"{runs}/latest", "-q")  # again: nothing moves
    assert code == 0 and "(recording 3): 0 new, 0 changed, 3 already held" in err

    code, out, _ = run_cli(capsys, "ledger", runs, "--points-per-hour", "1.5")
    assert code == 0
    assert out.splitlines() == [f"{tmp_path / 'runs' / 'ledger.sqlite'}: 7 record(s) of 2 volunteer(s), 100.25 "
                                "hours, 2 rating(s) (mean 4.50); last recording 3",
                                "settings: recent_days 30, points_per_hour 1.5"]

    code, out, _ = run_cli(capsys, "run", str(night(tmp_path / "n2.json", 1, NIGHT_2)), "--out", runs, "-q")
    run2 = Path(out.strip())
    rows = table(run2 / "volunteers_ledger.csv")
    assert [rows["a"][k] for k in ("hours_in_plan", "hours_to_date", "star_level", "hours_to_next_star", "points",
                                   "rating_mean", "ratings", "recent_hours", "recent_hours_from")] == [
        "1.00", "99.75", "0", "0.25", "149.62", "4.50", "2", "99.75", "ledger"]  # 99.75 x 1.5 = 149.625
    assert rows["c"]["recent_hours"] == "9" and rows["c"]["recent_hours_from"] == "input"

    rated2 = write_csv(tmp_path / "n2.csv", [["volunteer_id", "demand_id", "stars"], ["a", "E1", 5],
                                             ["b", "E2", 3]])
    assert run_cli(capsys, "rate", str(rated2), "--run", str(run2))[0] == 0
    code, out, _ = run_cli(capsys, "ledger", runs)
    assert out.splitlines()[0].endswith(": 9 record(s) of 2 volunteer(s), 103.25 hours, 4 rating(s) (mean 4.25); "
                                        "last recording 4")
    code, out, _ = run_cli(capsys, "run", str(tmp_path / "n2.json"), "--out", runs, "-q")
    rows = table(Path(out.strip()) / "volunteers_ledger.csv")  # a crossed 100 hours: the first star
    assert [rows["a"][k] for k in ("hours_to_date", "star_level", "hours_to_next_star", "points")] == [
        "100.75", "1", "199.25", "151.12"]
    assert [rows["b"][k] for k in ("hours_to_date", "star_level", "rating_mean")] == ["2.50", "0", "3.00"]

    code, out, _ = run_cli(capsys, "run", str(tmp_path / "n2.json"), "--out", runs, "--no-ledger", "-q")
    manifest = json.loads((Path(out.strip()) / "manifest.json").read_text())
    assert manifest["ledger"] == {"read": False, "why": "not asked to (--no-ledger)"}
    rows = table(Path(out.strip()) / "volunteers_ledger.csv")
    assert rows["a"]["hours_to_date"] == "" and rows["a"]["recent_hours"] == "9"


def test_bad_ratings_exit_2_naming_each_line_and_record_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    runs = tmp_path / "runs"
    code, out, _ = run_cli(capsys, "run", str(night(tmp_path / "n1.json", 2, NIGHT_1)), "--out", str(runs), "-q")
    bad = write_csv(tmp_path / "bad.csv", [["volunteer_id", "demand_id", "stars"], ["a", "D1", 4], ["a", "D9", 5],
                                           ["b", "D2", "five"]])
    code, _, err = run_cli(capsys, "rate", str(bad), "--run", str(runs / "latest"))
    assert code == 2
    assert err.splitlines() == [
        "matcher: bad input: 2 problems:",
        f"  {bad} line 3 (volunteer 'a', demand 'D9'), column demand_id: unknown demand 'D9': not a demand of run "
        f"{Path(out.strip()).name}",
        f"  {bad} line 4 (volunteer 'b', demand 'D2'), column stars: must be a whole number like 3, not 'five'"]
    assert not (runs / "ledger.sqlite").exists()


def test_settings_before_the_first_run_go_in_the_runs_folder(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    runs = tmp_path / "runs"  # not made yet
    code, _, err = run_cli(capsys, "ledger", str(runs), "--recent-days", "14")
    assert code == 0 and (runs / "ledger.sqlite").is_file()
    assert f"no ledger at {runs / 'ledger.sqlite'} yet: a new one made" in err  # (a mistyped path shows here)
    code, _, err = run_cli(capsys, "ledger", str(runs), "--recent-days", "21")
    assert code == 0 and "a new one made" not in err
    code, out, _ = run_cli(capsys, "ledger", str(runs / "ledger.sqlite"))
    assert code == 0 and out.splitlines()[1] == "settings: recent_days 21, points_per_hour 1"


def test_ledger_settings_are_checked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "ledger", str(tmp_path), "--points-per-hour", "1.005")
    assert code == 2 and err == ("matcher: bad input: --points-per-hour: Decimal input should have no more than 2 "
                                 "decimal places\n")
    code, _, err = run_cli(capsys, "ledger", str(tmp_path), "--recent-days", "0")
    assert code == 2 and "--recent-days: Input should be greater than or equal to 1" in err
    assert not any(tmp_path.iterdir())  # a bad setting makes no ledger


def test_run_takes_a_ledger_or_no_ledger_not_both(tmp_path: Path) -> None:
    r = subprocess.run([sys.executable, "-m", "matcher.cli", "run", "x.json", "--out", str(tmp_path), "--ledger",
                        "l.sqlite", "--no-ledger"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "not allowed with argument" in r.stderr
    with open(tmp_path / "unused.csv", "w", newline="") as fh:
        csv.writer(fh).writerow(["volunteer_id"])


def test_the_loop_on_a_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    code, out, _ = run_cli(capsys, "rate", str(write_csv(tmp_path / "x.csv", [["volunteer_id", "demand_id"]])),
                           "--run", url)
    assert code == 2  # no run in the database yet: an error, never a traceback
    code, out, _ = run_cli(capsys, "run", str(night(tmp_path / "n1.json", 2, NIGHT_1)), "--out", url, "-q")
    assert code == 0 and out.strip().startswith(f"{url}#run-")
    run1 = out.strip()  # URL#run-id, as printed: what --run takes
    rated = write_csv(tmp_path / "n1.csv", [["volunteer_id", "demand_id", "stars"], ["a", "D1", 4], ["b", "D2", ""]])
    code, _, err = run_cli(capsys, "rate", str(rated), "--run", run1, "-q")
    assert code == 0 and err == (f"matcher: recorded 2 service(s) of run {run1.rpartition('#')[2]} in {url} "
                                 "(recording 1): 2 new, 0 changed, 0 already held\n")
    code, out, _ = run_cli(capsys, "ledger", url)
    assert out.startswith(f"{url}: 2 record(s) of 2 volunteer(s), 3.00 hours, 1 rating(s) (mean 4.00)")
    code, _, err = run_cli(capsys, "rate", str(rated), "--run", f"{url}#run-unknown")
    assert code == 2 and f"{url}: no run 'run-unknown' in this database (the latest: " in err
