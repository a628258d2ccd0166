"""Hypothesis strategies shared by the fuzz tests: valid and near-valid problems as plain data, and CSV text."""

from __future__ import annotations

import copy
import csv
import io
import math
from datetime import datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st

T0 = datetime(2026, 11, 23, 8, tzinfo=timezone(timedelta(hours=8)))
def at(q: int) -> str:
    return (T0 + timedelta(minutes=15 * q)).isoformat()


@st.composite
def valid_data(draw: st.DrawFn) -> dict[str, Any]:
    """A valid problem as plain data, with areas, pins, forbidden pairs, previous assignments."""
    na, nv, nd = draw(st.integers(0, 3)), draw(st.integers(0, 7)), draw(st.integers(0, 7))
    areas = [{"id": f"A{k}", "lat": 39.9 + 0.01 * k, "lon": 116.4, "community": "C", "street": "S"}
             for k in range(na)]
    vols = []
    for i in range(nv):
        windows = [{"start": at(0), "end": at(60)}] if draw(st.booleans()) else []  # often free all day
        for _ in range(draw(st.integers(0, 2))):
            s = draw(st.integers(0, 40))
            windows.append({"start": at(s), "end": at(s + draw(st.integers(1, 24)))})
        vols.append({"id": f"v{i}", "lat": draw(st.floats(39.9, 39.93)), "lon": draw(st.floats(116.4, 116.43)),
                     "skills": draw(st.lists(st.sampled_from(["a", "b"]), unique=True)), "availability": windows,
                     "max_tasks": draw(st.integers(0, 3)), "max_hours": draw(st.sampled_from([0.5, 2.0, 8.0])),
                     "team_id": draw(st.sampled_from([None, "t1"])), "insured": draw(st.booleans())})
    dems = []
    for j in range(nd):
        s = draw(st.integers(0, 48))
        d: dict[str, Any] = {"id": f"d{j}", "category": "x", "headcount": draw(st.integers(1, 3)),
                             "required_skills": draw(st.lists(st.sampled_from(["a", "b"]), unique=True, max_size=1)),
                             "start": at(s), "end": at(s + draw(st.integers(1, 8))),
                             "priority": draw(st.integers(1, 5)), "requires_insured": draw(st.booleans())}
        if na and draw(st.booleans()):
            d["area_id"] = f"A{draw(st.integers(0, na - 1))}"
        else:
            d["lat"], d["lon"] = draw(st.floats(39.9, 39.93)), draw(st.floats(116.4, 116.43))
        dems.append(d)
    pairs = [{"volunteer_id": f"v{a}", "demand_id": f"d{b}"} for a in range(nv) for b in range(nd)]
    pick = st.lists(st.sampled_from(pairs), unique_by=lambda p: (p["volunteer_id"], p["demand_id"]), max_size=3) \
        if pairs else st.just([])
    return {"areas": areas, "volunteers": vols, "demands": dems, "pinned": draw(pick), "forbidden": draw(pick),
            "previous": draw(pick)}


ODD_VALUES = [None, "", "abc", -1, 0, 10**20, 1e308, math.nan, math.inf, -math.inf, True, [], {}, ["x"],
              "x" * 600, "网格", "2026-11-23T09:00:00", "2026-13-45T99:00:00+08:00", " 3 "]


@st.composite
def near_valid_data(draw: st.DrawFn) -> dict[str, Any]:
    """A valid problem with zero to three things broken: odd values, missing fields, clashes, bad references."""
    data = copy.deepcopy(draw(valid_data()))
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 2, 3]))):
        tables = [t for t in ("areas", "volunteers", "demands", "pinned", "forbidden", "previous") if data[t]]
        if not tables:
            break
        table = draw(st.sampled_from(tables))
        rec = draw(st.sampled_from(data[table]))
        if not rec:
            continue
        how = draw(st.sampled_from(["value", "drop", "duplicate", "dangling", "swap", "extra"]))
        field = draw(st.sampled_from(sorted(rec)))
        if how == "value":
            rec[field] = draw(st.sampled_from(ODD_VALUES))
        elif how == "drop":
            rec.pop(field)
        elif how == "duplicate":
            data[table].append(copy.deepcopy(rec))
        elif how == "dangling" and "volunteer_id" in rec:
            rec["volunteer_id"] = "nobody"
        elif how == "swap" and "start" in rec and "end" in rec:  # (an earlier step may have dropped one)
            rec["start"], rec["end"] = rec["end"], rec["start"]
        elif how == "extra":
            rec["colour"] = "blue"
    return data


def to_csv(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> str:
    """Rows as CSV text in the tables' encodings (lists joined by ';', windows as start/end)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    for r in rows:
        cells = []
        for c in columns:
            v = r.get(c)
            if c == "availability" and isinstance(v, list):
                v = ";".join(f"{x.get('start')}/{x.get('end')}" if isinstance(x, dict) else str(x) for x in v)
            elif isinstance(v, list):
                v = ";".join(str(x) for x in v)
            cells.append("" if v is None else str(v))
        w.writerow(cells)
    return buf.getvalue()
