"""A solution as the tables an operator reads, and publishing a folder of outputs atomically.

:func:`result_tables` turns a :class:`~matcher.model.Problem` and its
:class:`~matcher.model.Solution` into plain rows: the assignments (with the
demand's area, category, priority and window), the unmet seats with reasons,
the assignments of a previous plan that were dropped, and coverage with unmet
headcount per area, category and priority. :func:`write_csv` writes rows the
same way every time (same rows, same bytes), and :func:`publish_dir` makes a
whole folder appear at once.
"""

from __future__ import annotations

import csv
import io
import os
import platform
import shutil
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from matcher.model import Problem, Solution, UnmetReason

__all__ = ["Table", "publish_dir", "result_tables", "seats_by_demand", "write_csv"]

Table = tuple[list[str], list[list[Any]]]
"""A table: its header and its rows."""

REASONS = [r.value for r in UnmetReason]
INCOMPLETE = ".incomplete-"
"""Prefix of a folder still being written (never a finished output)."""


def result_tables(
    problem: Problem, solution: Solution, stale_previous: Iterable[tuple[str, str, str]] = ()
) -> dict[str, Table]:
    """The operator's tables of a solved problem, keyed by file stem.

    ``assignments``, ``unmet``, ``kpi_by_area``, ``kpi_by_category`` and
    ``kpi_by_priority`` always; ``dropped`` (previous assignments not kept,
    with why) when previous assignments were given. ``stale_previous`` lists
    previous assignments that could not be part of the problem at all
    (``volunteer_id, demand_id, why``), e.g. for a demand no longer ordered.
    """
    stale = list(stale_previous)
    demands = {d.id: d for d in problem.demands}
    areas = {a.id: a for a in problem.areas}
    previous = {(a.volunteer_id, a.demand_id) for a in problem.previous}
    chosen = {(a.volunteer_id, a.demand_id) for a in solution.assignments}
    has_prev = bool(problem.previous) or bool(stale)
    rows: list[list[Any]] = []
    for a in solution.assignments:
        d = demands[a.demand_id]
        row = [a.volunteer_id, a.demand_id, d.area_id or "", d.category, d.priority, d.start.isoformat(),
               d.end.isoformat(), f"{a.travel_km:.3f}"]
        if has_prev:
            row.append("kept" if (a.volunteer_id, a.demand_id) in previous else "new")
        rows.append(row)
    head = ["volunteer_id", "demand_id", "area_id", "category", "priority", "start", "end", "travel_km"]
    tables: dict[str, Table] = {"assignments": (head + (["change"] if has_prev else []), rows)}
    tables["unmet"] = (
        ["demand_id", "area_id", "category", "priority", "start", "end", "missing", "reason"],
        [[u.demand_id, demands[u.demand_id].area_id or "", demands[u.demand_id].category,
          demands[u.demand_id].priority, demands[u.demand_id].start.isoformat(),
          demands[u.demand_id].end.isoformat(), u.missing, u.reason.value] for u in solution.unmet],
    )
    if has_prev:
        volunteer_ids = {v.id for v in problem.volunteers}
        dropped = [list(x) for x in stale]
        for p in problem.previous:
            if (p.volunteer_id, p.demand_id) in chosen:
                continue
            why = ("demand withdrawn" if p.demand_id not in demands else
                   "volunteer withdrawn" if p.volunteer_id not in volunteer_ids else "reassigned")
            dropped.append([p.volunteer_id, p.demand_id, why])
        tables["dropped"] = (["volunteer_id", "demand_id", "why"], sorted(dropped))
    filled, unmet = seats_by_demand(solution)

    def breakdown(key: Callable[[str], tuple[Any, ...]], names: list[str]) -> Table:
        acc: dict[tuple[Any, ...], list[int]] = {}
        for d in problem.demands:
            row = acc.setdefault(key(d.id), [0, 0] + [0] * len(REASONS))
            row[0] += d.headcount
            row[1] += min(filled.get(d.id, 0), d.headcount)
            for i, r in enumerate(REASONS):
                row[2 + i] += unmet[d.id][r] if d.id in unmet else 0
        out = [[*k, n[0], n[1], f"{n[1] / n[0]:.4f}" if n[0] else "1.0000", *n[2:]] for k, n in sorted(acc.items())]
        return [*names, "demanded", "filled", "fill_rate", *(f"unmet_{r}" for r in REASONS)], out

    def area_key(did: str) -> tuple[str, str, str]:
        aid = demands[did].area_id
        a = areas.get(aid) if aid else None
        return (aid or "", (a.community or "") if a else "", (a.street or "") if a else "")

    tables["kpi_by_area"] = breakdown(area_key, ["area_id", "community", "street"])
    tables["kpi_by_category"] = breakdown(lambda did: (demands[did].category,), ["category"])
    tables["kpi_by_priority"] = breakdown(lambda did: (demands[did].priority,), ["priority"])
    return tables


def seats_by_demand(solution: Solution) -> tuple[dict[str, int], dict[str, dict[str, int]]]:
    """Seats filled per demand, and seats unmet per demand and reason (every reason present, 0 when none)."""
    filled: dict[str, int] = defaultdict(int)
    for a in solution.assignments:
        filled[a.demand_id] += 1
    unmet: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(REASONS, 0))
    for u in solution.unmet:
        unmet[u.demand_id][u.reason.value] += u.missing
    return dict(filled), dict(unmet)


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """CSV text with Unix line ends: the same bytes for the same rows."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def write_csv(path: str | Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Write a UTF-8 CSV file and flush it to disk."""
    _write_synced(Path(path), csv_text(header, rows).encode("utf-8"))


def write_text_synced(path: str | Path, text: str) -> None:
    """Write a UTF-8 text file and flush it to disk."""
    _write_synced(Path(path), text.encode("utf-8"))


def _write_synced(path: Path, data: bytes) -> None:
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def publish_dir(root: str | Path, name: str, fill: Callable[[Path], object], *, latest: str | None = None) -> Path:
    """Create ``root/name`` all at once and return its path.

    ``fill(staging)`` writes the files into a hidden ``root/.incomplete-name-PID``
    folder; once it returns, the folder is flushed and renamed to its final name
    (a single atomic rename), and the ``latest`` symbolic link, when named, is
    switched to it (also by an atomic rename). If ``fill`` fails, or the process
    dies, no folder called ``name`` appears, ``latest`` still points at the last
    finished output, and the staging folder is removed (or swept by the next
    call, once its process is gone). An existing ``root/name`` gets a suffix
    ``-2``, ``-3``, ... rather than being overwritten.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    sweep_incomplete(root)
    staging = root / f"{INCOMPLETE}{name}-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        fill(staging)
        _fsync_dir(staging)
        final, n = root / name, 1
        while final.exists() or final.is_symlink():
            n += 1
            final = root / f"{name}-{n}"
        os.rename(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if latest:
        link = root / latest
        tmp = root / f"{INCOMPLETE}{latest}-{os.getpid()}"
        tmp.unlink(missing_ok=True)
        os.symlink(final.name, tmp)
        os.replace(tmp, link)
    _fsync_dir(root)
    return final


def sweep_incomplete(root: Path) -> list[Path]:
    """Remove staging folders and links left by processes that died; returns what was removed."""
    removed = []
    for p in root.glob(f"{INCOMPLETE}*"):
        pid = p.name.rsplit("-", 1)[-1]
        if pid.isdigit() and _alive(int(pid)):
            continue
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)
        removed.append(p)
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # a leftover of an earlier process that had our pid
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def software_versions() -> dict[str, str]:
    """Versions of Python, the platform and the packages a result depends on, for manifests."""
    out = {"python": platform.python_version(), "platform": platform.platform()}
    for dist in ("matcher", "ortools", "numpy", "pydantic", "networkx", "scipy", "pyarrow"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


def utc_stamp(now: datetime | None = None) -> str:
    """A run name's time part: ``20261124T013000Z``."""
    return (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
