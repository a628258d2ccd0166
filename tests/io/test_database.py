"""A real database: ``matcher run`` reads its tables from SQLite or PostgreSQL and writes each run in one transaction.

The PostgreSQL cases run against a real server (``.ci/postgres`` starts one; in CI they fail rather than skip
when it cannot be reached: ``tests/conftest.py``).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa

from matcher import ProblemError
from matcher.cli import main
from matcher.generate import generate_tables
from matcher.io import output_lock, read_database, read_tables, write_tables
from matcher.workflows.batch import run_batch

OUTPUT_TABLES = ["matcher_runs", "matcher_assignments", "matcher_roster", "matcher_unmet", "matcher_dropped",
                 "matcher_kpi_by_area", "matcher_kpi_by_category", "matcher_kpi_by_priority"]


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'matcher.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture(scope="module")
def community() -> dict[str, dict[str, list[Any]]]:
    return generate_tables("community", 5)


def put_tables(url: str, tables: dict[str, dict[str, list[Any]]], settings: dict[str, Any] | None = None) -> None:
    """Store tables as a district's database would hold them: lists as ``;``-joined text, numbers as numbers."""
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        for name, cols in tables.items():
            frame = pd.DataFrame({c: [";".join(v) if isinstance(v, list) else v for v in vals]
                                  for c, vals in cols.items()})
            frame.to_sql(name, conn, index=False)
        if settings is not None:
            pd.DataFrame({"key": list(settings), "value": [json.dumps(v, ensure_ascii=False)
                                                           for v in settings.values()]}).to_sql(
                "matcher_settings", conn, index=False)
    engine.dispose()


def counts(url: str) -> dict[str, int]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        have = set(sa.inspect(conn).get_table_names())
        out = {t: conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one() for t in OUTPUT_TABLES if t in have}
    engine.dispose()
    return out


def query(url: str, sql: str) -> list[Any]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = list(conn.execute(sa.text(sql)).all())
    engine.dispose()
    return rows


def test_run_reads_a_database_and_writes_its_run_in_one_transaction(
        db_url: str, tmp_path: Path, community: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    put_tables(db_url, community, settings={"taxonomy": "builtin"})
    write_tables(community, tmp_path / "csv", settings={"taxonomy": "builtin"})
    loaded = read_database(db_url)
    assert loaded.problem.fingerprint() == read_tables(tmp_path / "csv").fingerprint()  # the same problem
    assert loaded.files["volunteers"] == {"rows": 1000}
    assert main(["run", db_url, "--out", db_url, "--time-limit", "10", "-q"]) == 0
    first = capsys.readouterr().out.strip()
    assert first.endswith("#" + first.split("#")[-1]) and "#run-" in first
    n = counts(db_url)
    (run_id, status, fill, manifest), = query(db_url, "SELECT run_id, status, fill_rate, manifest FROM matcher_runs")
    assert status in ("optimal", "feasible") and 0 < fill <= 1
    m = json.loads(manifest)
    assert m["run_id"] == run_id and m["outputs"]["matcher_assignments"]["rows"] == n["matcher_assignments"] > 100
    assert n["matcher_roster"] == n["matcher_assignments"] and n["matcher_dropped"] == 0
    assert m["input"]["problem_sha256"] == loaded.problem.fingerprint()
    # the next night keeps yesterday's plan where it can: the previous plan is the database's latest run
    assert main(["run", db_url, "--out", db_url, "--time-limit", "10", "-q", "--previous", db_url]) == 0
    second = capsys.readouterr().out.strip()
    ids = [r for (r,) in query(db_url, "SELECT run_id FROM matcher_runs ORDER BY run_id")]
    assert len(ids) == 2 and ids[0] == run_id and second.endswith(ids[1])
    changes = dict(query(db_url, f"SELECT change, count(*) FROM matcher_assignments WHERE run_id = '{ids[1]}' "
                                 "GROUP BY change"))
    assert changes.get("kept", 0) >= 0.9 * n["matcher_assignments"]
    assert main(["explain", db_url, db_url, "--demand", community["demands"]["id"][0]]) == 0


def test_a_database_an_older_matcher_made_gets_the_new_columns(db_url: str, tiny_path: Path) -> None:
    """A run database made before an unmet reason was added lacks its ``unmet_<reason>`` columns: they are added."""
    assert main(["run", str(tiny_path), "--out", db_url, "--time-limit", "10", "-q"]) == 0
    kpis = ["matcher_kpi_by_area", "matcher_kpi_by_category", "matcher_kpi_by_priority"]
    engine = sa.create_engine(db_url)
    with engine.begin() as conn:  # as the database was before not_searched
        for t in kpis:
            conn.execute(sa.text(f"ALTER TABLE {t} DROP COLUMN unmet_not_searched"))
    engine.dispose()
    assert main(["run", str(tiny_path), "--out", db_url, "--time-limit", "10", "-q"]) == 0
    ids = [r for (r,) in query(db_url, "SELECT run_id FROM matcher_runs ORDER BY run_id")]
    assert len(ids) == 2
    for t in kpis:  # the old run's rows have no count of it; the new run's have theirs
        got = dict(query(db_url, f"SELECT run_id, max(unmet_not_searched) FROM {t} GROUP BY run_id"))
        assert got == {ids[0]: None, ids[1]: 0}


def test_a_killed_run_leaves_the_database_as_before(db_url: str, tmp_path: Path, tiny_path: Path) -> None:
    assert main(["run", str(tiny_path), "--out", db_url, "--time-limit", "5", "-q"]) == 0
    before = counts(db_url)
    marker = tmp_path / "inside-the-transaction"
    script = f"""
import sys, time
from pathlib import Path
import matcher.io.rundb as rundb
real = rundb._records
def slow(name, *args, **kwargs):
    rows = real(name, *args, **kwargs)
    if name == "unmet":  # runs and assignments are written, the transaction is open: the moment to die
        Path({str(marker)!r}).write_text("x")
        time.sleep(120)
    return rows
rundb._records = slow
from matcher.workflows.batch import run_batch
run_batch({str(tiny_path)!r}, {db_url!r}, overrides={{"time_limit_s": 5}})
"""
    proc = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert proc.poll() is None and time.monotonic() < deadline, "the run ended before its write"
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert counts(db_url) == before  # nothing of the killed run is there
    # and its lock died with it: the next run goes ahead
    assert run_batch(tiny_path, db_url, overrides={"time_limit_s": 5}).manifest["run_id"]
    after = counts(db_url)
    assert after["matcher_runs"] == before["matcher_runs"] + 1


def test_two_runs_on_one_output_do_not_overlap(db_url: str, tmp_path: Path, tiny_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    for out in (db_url, str(tmp_path / "runs")):
        with output_lock(out):  # a nightly run is under way
            assert main(["run", str(tiny_path), "--out", out, "-q"]) == 5
            err = capsys.readouterr().err
            assert err.startswith("matcher: busy: ") and "another run is writing to" in err
        assert main(["run", str(tiny_path), "--out", out, "-q"]) == 0  # and once it is done, the next one runs
        capsys.readouterr()
    assert not (tmp_path / "runs" / ".matcher.lock").exists()  # the lock writes nothing where the runs go


def test_database_input_errors_name_table_row_id_and_column(tmp_path: Path, community: dict[str, Any]) -> None:
    url = f"sqlite:///{tmp_path / 'in.db'}"
    tables = {k: dict(v) for k, v in community.items()}
    tables["volunteers"]["max_tasks"] = [2.5 if i == 3 else v for i, v in enumerate(tables["volunteers"]["max_tasks"])]
    put_tables(url, tables)
    vid = tables["volunteers"]["id"][3]
    with pytest.raises(ProblemError) as err:
        read_database(url)
    assert f"table volunteers row 4 (id '{vid}'), column max_tasks: must be a whole number" in str(err.value)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE forbidden RENAME TO forbiden"))
    engine.dispose()
    with pytest.raises(ProblemError, match=r"table 'forbiden' is not a table of a problem \(did you mean"):
        read_database(url)


def test_unreachable_postgres_names_it_without_its_password(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                            tiny_path: Path) -> None:
    url = "postgresql://nightly:s3cret-Pw-99@127.0.0.1:1/district"
    assert main(["run", url, "--out", str(tmp_path / "runs"), "-q"]) == 2
    assert not (tmp_path / "runs").exists()
    err = capsys.readouterr().err
    assert "postgresql://nightly:***@127.0.0.1:1/district" in err and "s3cret-Pw-99" not in err
    assert main(["run", str(tiny_path), "--out", url, "-q"]) == 2
    err = capsys.readouterr().err
    assert "nightly:***@" in err and "s3cret-Pw-99" not in err and "Traceback" not in err


def test_integer_ids_of_a_database_are_their_digits(tmp_path: Path, tiny_tables_copy: Path) -> None:
    url = f"sqlite:///{tmp_path / 'in.db'}"
    tables = {name: pd.read_csv(tiny_tables_copy / f"{name}.csv", dtype=str, keep_default_na=False)
              for name in ("volunteers", "demands", "areas")}
    tables["volunteers"]["id"] = [101, 102, 103]  # an auto-numbered id column
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        for name, frame in tables.items():
            frame.replace("", None).to_sql(name, conn, index=False)
        conn.execute(sa.text("CREATE TABLE volunteer_backup (id INTEGER)"))  # (another table: left alone)
    engine.dispose()
    problem = read_database(url).problem
    assert [v.id for v in problem.volunteers] == ["101", "102", "103"]
