"""The realistic generator: reproducible, the shape its presets promise, and valid SPEC problems."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from oracle import distance_km, location, violations

from matcher import ProblemError, Taxonomy, builtin_taxonomy, load_problem, solve
from matcher.cli import main
from matcher.generate import PRESETS, generate_problem, generate_tables
from matcher.io import read_tables
from matcher.model import Problem


def test_same_seed_same_tables_other_seed_other_tables() -> None:
    assert generate_tables("community", 5) == generate_tables("community", 5)
    assert generate_tables("community", 5) != generate_tables("community", 6)


def test_presets_sizes() -> None:
    assert PRESETS["district"].volunteers == 80_000 and PRESETS["district"].teams == 644
    assert PRESETS["city"].volunteers >= 1_000_000
    for name in ("community", "street"):
        p = generate_problem(name, 1)
        assert len(p.volunteers) == PRESETS[name].volunteers
        assert len(p.demands) == PRESETS[name].demands
        assert len({v.team_id for v in p.volunteers} - {None}) == PRESETS[name].teams


@pytest.fixture(scope="module")
def street() -> Problem:
    """The street preset (10,000 volunteers, seed 1)."""
    return generate_problem("street", 1)


def test_hierarchy_and_team_blocks(street: Problem) -> None:
    for a in street.areas:
        assert a.community is not None and a.street is not None
        assert a.id.startswith(a.community) and a.community.startswith(a.street)
    # a demand bound to a team comes from that team's block: every such area has one owning team
    owners: dict[str, set[str]] = {}
    for d in street.demands:
        if d.team_id is not None and not d.preferred_volunteers and d.area_id is not None:
            owners.setdefault(d.area_id, set()).add(d.team_id)
    assert owners and all(len(t) == 1 for t in owners.values())


def test_volunteer_mix(street: Problem) -> None:
    n = len(street.volunteers)
    active = [v for v in street.volunteers if v.availability]
    assert 0.3 < len(active) / n < 0.5  # registered is not active
    certified = {s.code for s in builtin_taxonomy().skills if s.certificate}
    share_certified = sum(1 for v in street.volunteers if certified & set(v.skills)) / n
    assert 0.02 < share_certified < 0.08  # few certified
    assert all("general" in v.skills for v in street.volunteers)
    # evening windows (workers) and weekday morning windows (retirees) both exist
    hours = Counter((w.start.weekday() < 5, w.start.hour) for v in active for w in v.availability)
    assert hours[(True, 8)] > 0.1 * len(active) and hours[(True, 18)] > 0.05 * len(active)
    assert hours[(False, 9)] > 0.1 * len(active)


def test_special_needs_events_and_hard_spots(street: Problem) -> None:
    by_id = {v.id: v for v in street.volunteers}
    households = [d for d in street.demands if d.preferred_volunteers]
    helpers = Counter(d.preferred_volunteers[0] for d in households)
    assert len(helpers) > 10 and 9 <= np.median(list(helpers.values())) <= 15  # about a dozen households each
    assert all(d.priority >= 4 for d in households)
    assert all(by_id[h].availability for h in helpers)
    events = [d for d in street.demands if d.headcount >= 35]
    assert len(events) == PRESETS["street"].events
    # the hard spot: home nursing with no nurse in range, reported as such
    s = solve(street)
    reasons = {u.demand_id: u.reason.value for u in s.unmet}
    assert violations(street, s) == []
    nurses = [v for v in street.volunteers if "nurse" in v.skills]
    out_of_range = []
    for d in street.demands:
        if d.required_skills == ("nurse",):
            lat, lon = location(street, d)
            ok = [v for v in nurses if (v.insured or not d.requires_insured) and d.team_id in (None, v.team_id)]
            if ok and not any(distance_km(v.lat, v.lon, lat, lon) <= v.max_travel_km for v in ok):
                out_of_range.append(d.id)
                assert reasons[d.id] == "none_in_range"
    assert len(out_of_range) >= 3


def test_cli_generate_writes_three_equal_forms(tmp_path: Path) -> None:
    assert main(["generate", "--preset", "community", "--seed", "2", "--scale", "0.3", "--out", str(tmp_path)]) == 0
    from_csv = read_tables(tmp_path / "csv")
    assert from_csv == read_tables(tmp_path / "parquet") == load_problem(tmp_path / "problem.json")
    assert len(from_csv.volunteers) == 300 and from_csv.taxonomy == "builtin"


def test_cli_generate_rejects_unknown_preset(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["generate", "--preset", "town", "--out", str(tmp_path)]) == 2
    assert "unknown preset 'town'" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_taxonomy_extension_file(tmp_path: Path) -> None:
    extra = {"name": "east-district", "extends": "builtin",
             "categories": [{"code": "elder_care", "subcategories": [{"code": "haircut", "skills": ["barber"]}]}],
             "skills": [{"code": "barber", "name": "Barber"}]}
    (tmp_path / "menu.json").write_text(json.dumps(extra), encoding="utf-8")
    problem = {
        "taxonomy": "menu.json",
        "volunteers": [{"id": "v", "lat": 39.9, "lon": 116.4, "skills": ["barber", "nurse"],
                        "availability": [{"start": "2026-11-23T08:00+08:00", "end": "2026-11-23T12:00+08:00"}]}],
        "demands": [{"id": "d", "lat": 39.9, "lon": 116.4, "category": "haircut", "required_skills": ["barber"],
                     "headcount": 1, "start": "2026-11-23T09:00+08:00", "end": "2026-11-23T10:00+08:00",
                     "priority": 3}],
    }
    (tmp_path / "p.json").write_text(json.dumps(problem), encoding="utf-8")
    p = load_problem(tmp_path / "p.json")
    tax = p.resolved_taxonomy()
    assert tax is not None and {"haircut", "meal_help", "elder_care"} <= tax.category_codes()
    assert solve(p).coverage == 4
    # without "extends" the builtin codes are unknown
    (tmp_path / "menu.json").write_text(json.dumps({**extra, "extends": None}), encoding="utf-8")
    with pytest.raises(ProblemError, match="'nurse' is not a skill of taxonomy 'east-district'"):
        load_problem(tmp_path / "p.json")


def test_builtin_taxonomy_shape() -> None:
    tax: Taxonomy = builtin_taxonomy()
    assert len(tax.categories) == 12 and all(len(c.subcategories) == 4 for c in tax.categories)
    skills = tax.skill_codes()
    assert all(set(s.skills) <= skills for c in tax.categories for s in c.subcategories)
    assert {s.code for s in tax.skills if s.certificate} == {"doctor", "nurse", "lawyer", "counsellor", "electrician",
                                                             "rescue"}


def test_city_preset_shape_at_small_scale() -> None:
    tables = generate_tables("city", seed=1, scale=0.002)
    streets = set(tables["areas"]["street"])
    assert len(streets) == PRESETS["city"].streets
    assert len(tables["areas"]["id"]) == PRESETS["city"].streets * 11 * 10
    assert len(tables["volunteers"]["id"]) == 2_400
    from matcher.io import problem_from_tables

    problem = problem_from_tables(tables, taxonomy="builtin")
    assert violations(problem, solve(problem)) == []


def test_holiday_frees_students_on_weekdays() -> None:
    def weekday_daytime(tables: dict) -> int:  # type: ignore[type-arg]
        return sum(1 for ws in tables["volunteers"]["availability"] for w in ws if "T09:00:00" in w.split("/")[0]
                   and int(w[8:10]) - 23 < 5)

    normal = generate_tables("community", seed=4)
    holiday = generate_tables("community", seed=4, holiday=True)
    assert weekday_daytime(holiday) > weekday_daytime(normal) + 50


def test_cli_generate_bad_seed_and_unwritable_out(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["generate", "--preset", "community", "--seed", "-1", "--out", str(tmp_path / "x")]) == 2
    assert "--seed: must be >= 0" in capsys.readouterr().err
    blocker = tmp_path / "file"
    blocker.write_text("not a folder", encoding="utf-8")
    assert main(["generate", "--preset", "community", "--scale", "0.05", "--out", str(blocker)]) == 2
    assert "cannot write" in capsys.readouterr().err
    assert blocker.read_text(encoding="utf-8") == "not a folder"


def test_cli_generate_over_an_earlier_place_keeps_none_of_its_files(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """A folder of tables is read whole: a v2 place's ratings left beside a v1 place went into its problem."""
    out = tmp_path / "place"
    assert main(["generate", "--preset", "community", "--seed", "1", "--scale", "0.2", "--world", "v2",
                 "--out", str(out)]) == 0
    assert (out / "csv" / "ratings.csv").exists() and (out / "parquet").is_dir() and (out / "problem.json").exists()
    capsys.readouterr()
    assert main(["generate", "--preset", "community", "--seed", "3", "--scale", "0.1", "--formats", "csv",
                 "--out", str(out)]) == 0
    assert "files of an earlier place removed" in capsys.readouterr().err
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == [
        "csv/areas.csv", "csv/demands.csv", "csv/forbidden.csv", "csv/settings.json", "csv/volunteers.csv"]
    fresh = tmp_path / "fresh"
    assert main(["generate", "--preset", "community", "--seed", "3", "--scale", "0.1", "--formats", "csv",
                 "--out", str(fresh)]) == 0
    assert read_tables(out / "csv") == read_tables(fresh / "csv")


@pytest.mark.parametrize("foreign", ["notes.txt", "csv/notes.txt", "parquet/old/volunteers.parquet"])
def test_cli_generate_refuses_a_folder_holding_other_files(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                           foreign: str) -> None:
    out = tmp_path / "place"
    assert main(["generate", "--preset", "community", "--seed", "1", "--scale", "0.1", "--out", str(out)]) == 0
    (out / foreign).parent.mkdir(parents=True, exist_ok=True)
    (out / foreign).write_text("mine", encoding="utf-8")
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    capsys.readouterr()
    assert main(["generate", "--preset", "street", "--seed", "2", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    named = "/".join(foreign.split("/")[:2])  # (a folder inside csv/ or parquet/ is named, not its files)
    assert "holds files matcher generate does not write" in err and named in err
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before  # nothing removed or written
