"""Inputs are data, never code: safe YAML, no pickle, and paths that cannot leave their folder."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from matcher import ProblemError, load_problem
from matcher.io import load_options, read_tables
from matcher.workflows.scenario import load_scenario

DATA = Path(__file__).parents[1] / "data"
MATCHER = Path(__file__).parents[2] / "matcher"


@pytest.mark.parametrize("text", [
    "time_limit_s: !!python/object/apply:os.system ['touch /tmp/matcher-pwned']\n",
    "seed: !!python/name:os.system\n",
    "threads: !!binary aGVsbG8=\n",
    "time_limit_s: &a 5\nseed: *a\n",
    "x: !include /etc/passwd\n",
])
def test_yaml_tags_and_aliases_are_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "o.yaml"
    path.write_text(text)
    with pytest.raises(ProblemError, match=r"o.yaml line \d+: .*(not allowed)"):
        load_options(path)
    assert not Path("/tmp/matcher-pwned").exists()


def test_no_pickle_or_eval_in_the_library() -> None:
    for path in MATCHER.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for word in ("import pickle", "pickle.load", "eval(", "exec(", "yaml.load(", "yaml.unsafe_load",
                     "Loader=yaml.Loader"):
            assert word not in text, (path, word)


def test_taxonomy_path_cannot_leave_the_problem_folder(tmp_path: Path) -> None:
    data = json.loads((DATA / "tiny.json").read_text())
    (tmp_path / "inside").mkdir()
    (tmp_path / "taxonomy.json").write_text('{"name": "outside"}')
    for name in ("../taxonomy.json", "/etc/passwd", str(tmp_path / "taxonomy.json")):
        data["taxonomy"] = name
        (tmp_path / "inside" / "p.json").write_text(json.dumps(data))
        with pytest.raises(ProblemError, match="leaves the problem's folder"):
            load_problem(tmp_path / "inside" / "p.json")
    os.symlink(tmp_path / "taxonomy.json", tmp_path / "inside" / "link.json")  # a link out is still out
    data["taxonomy"] = "link.json"
    (tmp_path / "inside" / "p.json").write_text(json.dumps(data))
    with pytest.raises(ProblemError, match="leaves the problem's folder"):
        load_problem(tmp_path / "inside" / "p.json")


def test_tables_settings_taxonomy_cannot_leave_the_folder(tmp_path: Path) -> None:
    folder = tmp_path / "tables"
    shutil.copytree(DATA / "tiny_tables", folder)
    (folder / "settings.json").write_text('{"taxonomy": "../elsewhere.json"}')
    with pytest.raises(ProblemError, match="leaves the problem's folder"):
        read_tables(folder)


def test_scenario_data_symlink_out_is_refused(tmp_path: Path) -> None:
    (tmp_path / "sc").mkdir()
    os.symlink(DATA / "tiny.json", tmp_path / "sc" / "tiny.json")
    path = tmp_path / "sc" / "s.yaml"
    path.write_text("name: s\nbase: {data: tiny.json}\nvariants:\n  - name: v\n    edits:\n"
                    "      - change_travel: {factor: 2}\n")
    with pytest.raises(ProblemError, match=r"s.yaml line 2, base.data: path 'tiny.json' leaves"):
        load_scenario(path)
    assert load_scenario(path, data_root=DATA).base.volunteers  # allowed when the root is named
