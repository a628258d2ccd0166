"""Silent emptiness: a header-only table publishes a run that says so, in every place a person looks."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import DATA

from matcher.cli import main


@pytest.mark.parametrize(("table", "says"), [("demands", "no demands"), ("volunteers", "no volunteers")])
def test_a_header_only_table_is_warned_about(tmp_path: Path, capsys: pytest.CaptureFixture[str], table: str,
                                             says: str) -> None:
    folder = Path(shutil.copytree(DATA / "tiny_tables", tmp_path / "tables"))
    path = folder / f"{table}.csv"
    path.write_text(path.read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")
    assert main(["run", str(folder), "--out", str(tmp_path / "runs"), "--time-limit", "5"]) == 0
    assert says in capsys.readouterr().err
    run = tmp_path / "runs" / "latest"
    assert any(says in w for w in json.loads((run / "manifest.json").read_text())["warnings"])
    assert any(says in w for w in json.loads((run / "solution.json").read_text())["warnings"])
