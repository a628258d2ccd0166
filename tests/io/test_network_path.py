"""SPEC v2's ``travel.network`` named by path: a JSON file or a folder of nodes and edges tables, next to the
problem; read the same as the network given inline, and kept inside the problem's folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from matcher import ProblemError
from matcher.io import load_input, write_tables

NODES = [{"id": "a", "lat": 39.90, "lon": 116.40}, {"id": "b", "lat": 39.905, "lon": 116.40}]
EDGES = [{"source": "a", "target": "b", "minutes": 8.0}]
VOL = {"id": "v", "lat": 39.90, "lon": 116.40, "skills": ["general"], "max_tasks": 1, "max_hours": 4.0,
       "max_travel_km": 3.0,
       "availability": [{"start": "2026-11-23T08:00:00+08:00", "end": "2026-11-23T12:00:00+08:00"}]}
DEM = {"id": "d", "lat": 39.905, "lon": 116.40, "category": "care", "required_skills": ["general"], "headcount": 1,
       "start": "2026-11-23T09:00:00+08:00", "end": "2026-11-23T10:00:00+08:00", "priority": 3}


def problem_file(tmp_path: Path, network: object) -> Path:
    path = tmp_path / "problem.json"
    path.write_text(json.dumps({"volunteers": [VOL], "demands": [DEM],
                                "travel": {"speed_kmh": 4.5, "network": network}}), encoding="utf-8")
    return path


def test_a_network_file_reads_like_the_inline_network(tmp_path: Path) -> None:
    (tmp_path / "roads.json").write_text(json.dumps({"nodes": NODES, "edges": EDGES}), encoding="utf-8")
    by_path = load_input(problem_file(tmp_path, "roads.json"))
    inline = load_input(problem_file(tmp_path / ".." / tmp_path.name, {"nodes": NODES, "edges": EDGES}))
    assert by_path.travel == inline.travel and by_path.travel is not None
    assert by_path.travel.network is not None and len(by_path.travel.network.edges) == 1


def test_a_network_folder_of_tables(tmp_path: Path) -> None:
    write_tables({"nodes": {k: [n[k] for n in NODES] for k in ("id", "lat", "lon")},
                  "edges": {k: [e[k] for e in EDGES] for k in ("source", "target", "minutes")}}, tmp_path / "roads")
    p = load_input(problem_file(tmp_path, "roads"))
    assert p.travel is not None and p.travel.network is not None and len(p.travel.network.nodes) == 2


def test_a_table_folder_names_its_network_in_the_settings(tmp_path: Path) -> None:
    folder = tmp_path / "tables"
    write_tables({"volunteers": {"id": ["v"], "lat": [39.9], "lon": [116.4], "skills": ["general"],
                                 "availability": ["2026-11-23T08:00:00+08:00/2026-11-23T12:00:00+08:00"],
                                 "max_tasks": [1], "max_hours": [4.0], "max_travel_km": [3.0]},
                  "demands": {"id": ["d"], "lat": [39.905], "lon": [116.4], "category": ["care"],
                              "required_skills": ["general"], "headcount": [1], "priority": [3],
                              "start": ["2026-11-23T09:00:00+08:00"], "end": ["2026-11-23T10:00:00+08:00"]}},
                 folder, settings={"travel": {"speed_kmh": 4.5, "network": "roads.json"}})
    (folder / "roads.json").write_text(json.dumps({"nodes": NODES, "edges": EDGES}), encoding="utf-8")
    p = load_input(folder)
    assert p.travel is not None and p.travel.network is not None


@pytest.mark.parametrize("name", ["../roads.json", "missing.json"])
def test_a_network_path_must_exist_inside_the_problems_folder(tmp_path: Path, name: str) -> None:
    (tmp_path / "roads.json").write_text(json.dumps({"nodes": NODES, "edges": EDGES}), encoding="utf-8")
    inner = tmp_path / "inner"
    inner.mkdir()
    with pytest.raises(ProblemError, match=r"travel\.network"):
        load_input(problem_file(inner, name))
