"""Privacy and secrets: a database password never leaves the URL it was given in, and personal columns (a phone
number) go only to the dispatcher's tables. Every file a run writes, every database row, and its logs are grepped.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from matcher.generate import generate_tables
from matcher.io import write_tables

PHONE = "13987654321"
PERSONAL_FILES = {"assignments.csv", "roster.csv", "dropped.csv", "run.xlsx"}
"""The dispatcher's tables: where personal columns belong (README, "Personal data")."""
PERSONAL_DB_COLUMNS = {("matcher_assignments", "extra"), ("matcher_roster", "extra"), ("matcher_dropped", "extra")}


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "matcher", *args], capture_output=True, text=True, timeout=300)


@pytest.fixture
def people(tmp_path: Path) -> Path:
    """The community preset with every volunteer's name and phone, and a demand's contact (all personal)."""
    tables = generate_tables("community", 7)
    n = len(tables["volunteers"]["id"])
    tables["volunteers"]["name"] = [f"志愿者{i}" for i in range(n)]
    tables["volunteers"]["phone"] = [PHONE] * n
    tables["demands"]["contact"] = [f"居民{i} {PHONE}" for i in range(len(tables["demands"]["id"]))]
    folder = tmp_path / "in"
    write_tables(tables, folder, settings={"taxonomy": "builtin", "extra_columns": ["name", "phone", "contact"]})
    return folder


def file_texts(root: Path) -> dict[str, str]:
    """Every file under ``root`` as text (a workbook: each part of it), by path relative to ``root``."""
    out: dict[str, str] = {}
    for p in sorted(root.rglob("*")):
        if not p.is_file():
            continue
        rel = str(p.relative_to(root))
        if p.suffix == ".xlsx":
            with zipfile.ZipFile(p) as z:
                out[rel] = "\n".join(z.read(n).decode("utf-8", "replace") for n in z.namelist())
        else:
            out[rel] = p.read_bytes().decode("utf-8", "replace")
    return out


def holders(texts: dict[str, str], secret: str) -> set[str]:
    return {Path(k).name for k, v in texts.items() if secret in v}


def test_personal_columns_reach_only_the_dispatchers_tables(tmp_path: Path, people: Path) -> None:
    runs = tmp_path / "runs"
    first = cli("run", str(people), "--out", str(runs), "--time-limit", "10", "-v")
    assert first.returncode == 0, first.stderr
    second = cli("run", str(people), "--out", str(runs), "--time-limit", "10", "-v", "--previous", str(runs / "latest"))
    assert second.returncode == 0, second.stderr
    logs = first.stdout + first.stderr + second.stdout + second.stderr
    assert PHONE not in logs and "志愿者1" not in logs
    texts = file_texts(runs)
    assert holders(texts, PHONE) <= PERSONAL_FILES
    assert {"assignments.csv", "roster.csv", "run.xlsx"} <= holders(texts, PHONE)  # (they do reach them)
    assert not any(PHONE in v for k, v in texts.items() if k.endswith(("manifest.json", "solution.json", "kpis.json")))


def db_texts(url: str) -> dict[tuple[str, str], str]:
    """Every text cell of every table in the database, joined, by (table, column)."""
    engine = sa.create_engine(url)
    out: dict[tuple[str, str], str] = {}
    with engine.connect() as conn:
        for name in sa.inspect(conn).get_table_names():
            table = sa.Table(name, sa.MetaData(), autoload_with=conn)
            for row in conn.execute(sa.select(table)).mappings():
                for col, value in row.items():
                    if value is not None:
                        out[(name, col)] = out.get((name, col), "") + "\n" + str(value)
    engine.dispose()
    return out


def test_a_database_password_is_never_written_and_phones_stay_in_the_dispatchers_tables(
        tmp_path: Path, people: Path, postgres_url: str) -> None:
    password = sa.engine.make_url(postgres_url).password
    assert password and len(password) >= 8
    logs: list[str] = []
    r = cli("run", str(people), "--out", postgres_url, "--time-limit", "10", "-v")  # a run into the database
    assert r.returncode == 0, r.stderr
    logs.append(r.stdout + r.stderr)
    assert "#run-" in r.stdout and ":***@" in r.stdout
    r = cli("run", str(people), "--out", postgres_url, "--time-limit", "10", "-v", "--previous", postgres_url)
    assert r.returncode == 0, r.stderr
    logs.append(r.stdout + r.stderr)
    r = cli("explain", str(people), postgres_url, "--volunteer", "V0000001")
    logs.append(r.stdout + r.stderr)
    # the input in the database too (a folder's tables copied in), read by a run that writes a folder
    engine = sa.create_engine(postgres_url)
    copy: dict[str, Any] = {}
    with engine.begin() as conn:
        import pandas as pd

        for name in ("volunteers", "demands", "areas"):
            copy[name] = pd.read_csv(people / f"{name}.csv", dtype=str, encoding="utf-8-sig")
            copy[name].to_sql(name, conn, index=False)
        pd.DataFrame({"key": ["extra_columns", "taxonomy"],
                      "value": ['["name", "phone", "contact"]', '"builtin"']}).to_sql("matcher_settings", conn,
                                                                                        index=False)
    engine.dispose()
    runs = tmp_path / "runs"
    r = cli("run", postgres_url, "--out", str(runs), "--time-limit", "10", "-v")
    assert r.returncode == 0, r.stderr
    logs.append(r.stdout + r.stderr)
    bad = postgres_url.replace("127.0.0.1:5432", "127.0.0.1:1")
    r = cli("run", bad, "--out", str(tmp_path / "never"), "-v")  # an error message names the database
    assert r.returncode == 2 and ":***@127.0.0.1:1" in r.stderr
    logs.append(r.stdout + r.stderr)
    log = "\n".join(logs)
    assert password not in log and PHONE not in log
    texts = file_texts(runs)
    assert texts and not holders(texts, password)
    assert holders(texts, PHONE) <= PERSONAL_FILES and "assignments.csv" in holders(texts, PHONE)
    assert "***" in texts[next(k for k in texts if k.endswith("manifest.json"))]  # the input, named without it
    cells = db_texts(postgres_url)
    assert not [k for k, v in cells.items() if password in v]
    phones = {k for k, v in cells.items() if PHONE in v and k[0].startswith("matcher_")}
    assert phones and phones <= PERSONAL_DB_COLUMNS
    assert ":***@" in cells[("matcher_runs", "manifest")]  # the command line, recorded without it
