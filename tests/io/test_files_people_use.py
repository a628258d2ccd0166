"""The files people use: an Excel export with Chinese headers, a GBK CSV, extra columns, outputs Excel opens."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook

from matcher import ProblemError
from matcher.generate import generate_tables
from matcher.io import read_folder, read_tables, write_tables
from matcher.workflows.batch import run_batch

# a district's export: Chinese headers, mapped to SPEC's columns in settings.json
ZH = {
    "volunteers": {"志愿者编号": "id", "纬度": "lat", "经度": "lon", "技能": "skills", "可服务时间": "availability",
                   "最多任务数": "max_tasks", "最多小时": "max_hours", "最远距离": "max_travel_km", "队伍": "team_id",
                   "已投保": "insured", "近期时长": "recent_hours"},
    "demands": {"需求编号": "id", "网格": "area_id", "纬度": "lat", "经度": "lon", "类别": "category",
                "所需技能": "required_skills", "人数": "headcount", "开始": "start", "结束": "end",
                "优先级": "priority", "需投保": "requires_insured", "队伍": "team_id",
                "熟悉的志愿者": "preferred_volunteers"},
    "areas": {"网格编号": "id", "纬度": "lat", "经度": "lon", "社区": "community", "街道": "street"},
    "forbidden": {"志愿者编号": "volunteer_id", "需求编号": "demand_id"},
}
SHEETS = {"志愿者": "volunteers", "需求": "demands", "网格": "areas", "禁止": "forbidden"}
PHONE = "13912345678"


@pytest.fixture(scope="module")
def community() -> dict[str, dict[str, list[Any]]]:
    return generate_tables("community", 3)


def with_people(tables: dict[str, dict[str, list[Any]]]) -> dict[str, dict[str, list[Any]]]:
    """The tables with a name and a phone per volunteer (personal columns) and a contact per demand."""
    out = {k: dict(v) for k, v in tables.items()}
    n = len(out["volunteers"]["id"])
    out["volunteers"]["name"] = [f"张{i}" for i in range(n)]
    out["volunteers"]["phone"] = [PHONE if i == 0 else f"139{i:08d}" for i in range(n)]
    out["demands"]["contact"] = [f"王{i}" for i in range(len(out["demands"]["id"]))]
    return out


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list):
        return ";".join(value)
    return str(value)


def zh_header(table: str, col: str) -> str:
    back = {v: k for k, v in ZH.get(table, {}).items()}
    return back.get(col, {"name": "姓名", "phone": "电话", "contact": "联系人"}.get(col, col))


def write_gbk(tables: dict[str, dict[str, list[Any]]], folder: Path) -> None:
    folder.mkdir()
    for name, cols in tables.items():
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\r\n")
        w.writerow([zh_header(name, c) for c in cols])
        w.writerows(zip(*([cell_text(v) for v in vals] for vals in cols.values()), strict=True))
        (folder / f"{next(k for k, v in SHEETS.items() if v == name)}.csv").write_bytes(buf.getvalue().encode("gbk"))
    settings = {"taxonomy": "builtin", "encoding": "gbk", "tables": SHEETS, "columns": ZH,
                "extra_columns": {"volunteers": ["姓名", "电话"], "demands": ["联系人"]}}
    (folder / "settings.json").write_text(json.dumps(settings, ensure_ascii=False), encoding="utf-8")


def excel_time(text: str) -> datetime:
    """What Excel holds for a date-time cell: a time without an offset (here Beijing time)."""
    moment = datetime.fromisoformat(text)
    assert moment.utcoffset() is not None and moment.utcoffset().total_seconds() == 8 * 3600  # type: ignore[union-attr]
    return moment.replace(tzinfo=None)


def write_xlsx(tables: dict[str, dict[str, list[Any]]], folder: Path) -> None:
    """One workbook, a sheet per table, as a district's system exports it: typed cells, Chinese headers."""
    folder.mkdir()
    book = Workbook()
    book.remove(book.active)  # type: ignore[arg-type]
    for sheet_name, table in SHEETS.items():
        cols = tables[table]
        ws = book.create_sheet(sheet_name)
        ws.append([zh_header(table, c) for c in cols])
        for row in zip(*cols.values(), strict=True):
            cells: list[Any] = []
            for col, v in zip(cols, row, strict=True):
                if col in ("start", "end"):
                    cells.append(excel_time(v))
                elif isinstance(v, list):
                    cells.append(";".join(v))
                elif col == "phone":
                    cells.append(int(v))  # a phone number typed as a number
                else:
                    cells.append(v)
            ws.append(cells)
    book.save(folder / "导出数据.xlsx")
    settings = {"taxonomy": "builtin", "timezone": "Asia/Shanghai", "tables": SHEETS, "columns": ZH,
                "extra_columns": {"volunteers": ["姓名", "电话"], "demands": ["联系人"]}}
    (folder / "settings.json").write_text(json.dumps(settings, ensure_ascii=False), encoding="utf-8")


def csv_rows(path: Path) -> list[dict[str, str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # a byte-order mark: Excel opens it as UTF-8
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))


def test_excel_and_gbk_exports_solve_to_the_same_answer_as_utf8(tmp_path: Path, community: dict[str, Any]) -> None:
    people = with_people(community)
    write_tables(community, tmp_path / "utf8", settings={"taxonomy": "builtin"})
    write_gbk(people, tmp_path / "gbk")
    write_xlsx(people, tmp_path / "xlsx")
    runs = {kind: run_batch(tmp_path / kind, tmp_path / f"runs-{kind}", overrides={"time_limit_s": 20, "seed": 0})
            for kind in ("utf8", "gbk", "xlsx")}
    prints = {kind: r.manifest["input"]["problem_sha256"] for kind, r in runs.items()}
    assert prints["gbk"] == prints["utf8"] != prints["xlsx"]  # the same problem (the workbook's names its timezone)
    assert runs["xlsx"].solution.coverage == runs["utf8"].solution.coverage
    assert runs["xlsx"].solution.unmet == runs["utf8"].solution.unmet
    plans = {kind: sorted((a.volunteer_id, a.demand_id) for a in r.solution.assignments) for kind, r in runs.items()}
    assert plans["gbk"] == plans["utf8"] == plans["xlsx"] and len(plans["utf8"]) > 100
    # the personal columns reach the dispatcher's tables, under the names the export gave them
    assign = csv_rows(runs["gbk"].path / "assignments.csv")
    assert list(assign[0])[-3:] == ["姓名", "电话", "联系人"]
    by_volunteer = {a["volunteer_id"]: a for a in assign}
    vid = next(iter(by_volunteer))
    i = community["volunteers"]["id"].index(vid)
    assert by_volunteer[vid]["姓名"] == f"张{i}"
    xlsx_assign = csv_rows(runs["xlsx"].path / "assignments.csv")
    assert [r["电话"] for r in xlsx_assign] == [r["电话"] for r in assign]  # the number typed as a number: its digits
    assert "姓名" not in csv_rows(runs["utf8"].path / "assignments.csv")[0]


def test_outputs_open_in_excel(tmp_path: Path, tiny_path: Path) -> None:
    run = run_batch(tiny_path, tmp_path / "runs", overrides={"time_limit_s": 5})
    for name in ("assignments", "roster", "unmet", "kpi_by_area", "kpi_by_category", "kpi_by_priority"):
        assert (run.path / f"{name}.csv").read_bytes().startswith(b"\xef\xbb\xbf")  # Excel reads UTF-8
    book = load_workbook(run.path / "run.xlsx", read_only=True)
    assert book.sheetnames == ["assignments", "roster", "unmet", "kpi_by_area", "kpi_by_category",
                               "kpi_by_priority", "volunteers_ledger", "services", "kpis"]  # (every table)
    rows = list(book["assignments"].iter_rows(values_only=True))
    assert rows[0][:3] == ("volunteer_id", "demand_id", "area_id") and len(rows) == 1 + 3
    assert all(isinstance(r[4], int) and isinstance(r[7], int | float) for r in rows[1:])  # numbers, not text
    kpis = {k: v for k, v in book["kpis"].iter_rows(min_row=2, values_only=True)}
    assert kpis["fill_rate"] == pytest.approx(3 / 7, abs=1e-6)
    roster = list(book["roster"].iter_rows(values_only=True))
    assert roster[0][:6] == ("volunteer_id", "day", "weekday", "start", "end", "hours")
    assert [r[0] for r in roster[1:]] == sorted(r[0] for r in roster[1:])
    book.close()
    with zipfile.ZipFile(run.path / "run.xlsx") as z:  # the same tables give the same bytes
        assert {i.date_time[0] for i in z.infolist()} == {1980}  # fixed dates
    again = run_batch(tiny_path, tmp_path / "runs", overrides={"time_limit_s": 5})
    assert (again.path / "run.xlsx").read_bytes() == (run.path / "run.xlsx").read_bytes()


def test_roster_is_each_volunteers_week(tmp_path: Path, community: dict[str, Any]) -> None:
    write_tables(with_people(community), tmp_path / "in", settings={"taxonomy": "builtin",
                                                                    "extra_columns": ["name", "phone", "contact"]})
    run = run_batch(tmp_path / "in", tmp_path / "runs", overrides={"time_limit_s": 20})
    roster = csv_rows(run.path / "roster.csv")
    assert len(roster) == len(run.solution.assignments)
    names = dict(zip(community["volunteers"]["id"], with_people(community)["volunteers"]["name"], strict=True))
    for r in roster:
        assert r["name"] == names[r["volunteer_id"]] and r["phone"]
    weeks: dict[str, list[str]] = {}
    for r in roster:
        weeks.setdefault(r["volunteer_id"], []).append(r["start"])
    assert all(starts == sorted(starts) for starts in weeks.values())
    assert list(weeks) == sorted(weeks)


def test_a_misspelled_column_is_still_an_error(tmp_path: Path, community: dict[str, Any]) -> None:
    tables = with_people(community)
    tables["volunteers"]["max_task"] = tables["volunteers"].pop("max_tasks")
    write_tables(tables, tmp_path / "in", settings={"extra_columns": ["name", "phone"]})
    with pytest.raises(ProblemError) as err:
        read_tables(tmp_path / "in")
    assert "unknown column 'max_task' (did you mean 'max_tasks'?)" in str(err.value)
    tables["volunteers"]["max_tasks"] = tables["volunteers"].pop("max_task")
    write_tables(tables, tmp_path / "in2")
    with pytest.raises(ProblemError, match=r"unknown column 'name'.*listed in the settings' extra_columns"):
        read_tables(tmp_path / "in2")


def test_mapped_column_errors_name_the_header_as_written(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "volunteers.csv").write_text("编号,纬度,经度,技能\nV1,39.9,116.4,general\nV2,39.9,abc,general\n",
                                           encoding="gb18030")
    (folder / "demands.csv").write_text("id,category,headcount,start,end,lat,lon,priority\n", encoding="utf-8")
    settings = {"encoding": "gb18030", "columns": {"编号": "id", "纬度": "lat", "经度": "lon", "技能": "skills"}}
    (folder / "settings.json").write_text(json.dumps(settings, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(ProblemError) as err:
        read_tables(folder)
    assert "volunteers.csv line 3 (id 'V2'), column 经度 (lon): must be a number like 4.1, not 'abc'" in str(err.value)


def test_gbk_without_settings_says_how(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "volunteers.csv").write_bytes("id,lat,lon\n张三,39.9,116.4\n".encode("gbk"))
    (folder / "demands.csv").write_text("id,category,headcount,start,end,lat,lon,priority\n", encoding="utf-8")
    with pytest.raises(ProblemError, match=r"not UTF-8 text .* name its encoding in settings.json"):
        read_tables(folder)


@pytest.mark.parametrize(("settings", "message"), [
    ({"encoding": "latin-1"}, "encoding: must be one of utf-8, gb18030, gbk, gb2312"),
    ({"tables": {"志愿者": "volunteer"}}, "no such table (did you mean 'volunteers'?)"),
    ({"columns": {"volunteer": {"编号": "id"}}}, "columns: 'volunteer': must map a header"),
    ({"extra_columns": {"areas": ["name"]}}, "only volunteers and demands carry extra columns"),
    ({"extra_columns": ["nmae"]}, "extra_columns: 'nmae' is in none of the tables"),
    ({"encodng": "gbk"}, "unknown key 'encodng' (did you mean 'encoding'?)"),
])
def test_bad_settings_are_named(tmp_path: Path, tiny_tables_copy: Path, settings: dict[str, Any], message: str) -> None:
    (tiny_tables_copy / "settings.json").write_text(json.dumps(settings, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(ProblemError) as err:
        read_tables(tiny_tables_copy)
    assert message in str(err.value)


def test_workbook_mistakes_are_named(tmp_path: Path, tiny_tables_copy: Path) -> None:
    book = Workbook()
    book.active.title = "volunteer"  # type: ignore[union-attr]
    book.active.append(["id", "lat", "lon"])  # type: ignore[union-attr]
    book.save(tiny_tables_copy / "export.xlsx")
    with pytest.raises(ProblemError, match=r"unknown file 'export.xlsx'.*names each sheet after its table"):
        read_tables(tiny_tables_copy)
    book.create_sheet("areas").append(["id", "lat", "lon"])
    book.save(tiny_tables_copy / "export.xlsx")
    with pytest.raises(ProblemError) as err:
        read_tables(tiny_tables_copy)
    assert "sheet 'volunteer': not a table (did you mean 'volunteers'?)" in str(err.value)
    assert "table areas given twice" in str(err.value)
    (tiny_tables_copy / "export.xlsx").unlink()
    (tiny_tables_copy / "pinned.xlsx").write_bytes(b"not a workbook")
    with pytest.raises(ProblemError, match=r"pinned.xlsx: not a readable Excel workbook"):
        read_tables(tiny_tables_copy)


def test_excel_rows_are_named_by_their_row_number(tmp_path: Path, tiny_tables_copy: Path) -> None:
    (tiny_tables_copy / "areas.csv").unlink()
    book = Workbook()
    ws = book.active
    ws.title = "areas"  # type: ignore[union-attr]
    for row in (["id", "lat", "lon"], ["A1", 39.9, 116.4], ["A2", "north", 116.4], [None, None, None]):
        ws.append(row)  # type: ignore[union-attr]
    book.save(tiny_tables_copy / "areas.xlsx")
    with pytest.raises(ProblemError) as err:
        read_tables(tiny_tables_copy)
    assert "areas.xlsx sheet 'areas' row 3 (id 'A2'), column lat: must be a number" in str(err.value)
    ws["B3"] = 39.95  # type: ignore[index]
    book.save(tiny_tables_copy / "areas.xlsx")
    loaded = read_folder(tiny_tables_copy)
    assert [a.id for a in loaded.problem.areas] == ["A1", "A2"]
    assert "areas.xlsx" in loaded.files


def test_a_workbook_too_large_to_write_in_time_is_left_out_with_a_warning(
        tmp_path: Path, tiny_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import matcher.workflows.batch

    monkeypatch.setattr(matcher.workflows.batch, "WORKBOOK_MAX_CELLS", 50)
    run = run_batch(tiny_path, tmp_path / "runs", overrides={"time_limit_s": 5})
    assert not (run.path / "run.xlsx").exists() and (run.path / "assignments.csv").exists()
    assert any(w.startswith("run.xlsx was not written: the tables have") for w in run.manifest["warnings"])


def test_dropped_carries_the_personal_columns(tmp_path: Path, tiny_tables_copy: Path) -> None:
    volunteers = tiny_tables_copy / "volunteers.csv"
    lines = volunteers.read_text(encoding="utf-8").splitlines()
    lines = [lines[0] + ",name,phone"] + [f"{line},Name {i},{PHONE}" for i, line in enumerate(lines[1:])]
    volunteers.write_text("\n".join(lines) + "\n", encoding="utf-8")
    demands = tiny_tables_copy / "demands.csv"
    lines = demands.read_text(encoding="utf-8").splitlines()
    demands.write_text("\n".join([lines[0] + ",name"] + [f"{line},Household {i}" for i, line in
                                                          enumerate(lines[1:])]) + "\n", encoding="utf-8")
    (tiny_tables_copy / "settings.json").write_text('{"extra_columns": ["name", "phone"]}', encoding="utf-8")
    previous = tmp_path / "previous.csv"
    previous.write_text("volunteer_id,demand_id\nc,d1\na,d1\n", encoding="utf-8")  # c cannot do d1 (no nurse)
    run = run_batch(tiny_tables_copy, tmp_path / "runs", previous=previous, overrides={"time_limit_s": 5})
    dropped = csv_rows(run.path / "dropped.csv")
    assert list(dropped[0]) == ["volunteer_id", "demand_id", "why", "name", "phone", "demand_name"]
    assert dropped[0]["volunteer_id"] == "c" and dropped[0]["name"] == "Name 2" and dropped[0]["phone"] == PHONE
    assert dropped[0]["demand_name"] == "Household 0"
    assign = csv_rows(run.path / "assignments.csv")
    assert list(assign[0])[-4:] == ["change", "name", "phone", "demand_name"]
