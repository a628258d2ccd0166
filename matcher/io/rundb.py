"""A database as output: each run's tables written in one transaction, keyed by run id.

``matcher run INPUT --out sqlite:///runs.db`` (or ``postgresql://...``) writes,
all in one transaction, a row of ``matcher_runs`` (run id, times, status,
coverage and bound, fill rate, and the manifest, solution and KPIs as JSON text)
and the run's tables, each as ``matcher_<table>`` with a ``run_id`` column:
``matcher_assignments``, ``matcher_roster``, ``matcher_unmet``,
``matcher_dropped``, ``matcher_kpi_by_area|category|priority``, and the
ledger's ``matcher_services`` and ``matcher_volunteers_ledger`` (what
``matcher rate --run DB_URL`` resolves ratings against:
:func:`read_run_services`). The tables are created when missing, and the columns a
table made by an older matcher lacks are added (a new unmet reason's). A run that
fails or is killed before the commit leaves the database as it was; the
latest run is the greatest run id (``run-<UTC time>``). ``DB_URL#run-id``
names one run (:func:`split_run_url`), as ``matcher run`` prints it.

Personal columns passed through (names, phones) go to the ``extra`` column of
``matcher_assignments``, ``matcher_roster`` and ``matcher_dropped`` (a JSON
object), and nowhere else.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from matcher.errors import ProblemError
from matcher.io.database import database_error, engine_for, redact
from matcher.io.xlsx import typed_value
from matcher.model import UnmetReason

__all__ = ["RUNS_TABLE", "RunServiceRows", "latest_run", "publish_run_db", "read_run_assignments",
           "read_run_services", "read_run_solution", "split_run_url"]

RUNS_TABLE = "matcher_runs"
_INT = ("priority", "missing", "demanded", "filled", "tasks_in_plan", "star_level", "ratings",
        *(f"unmet_{r.value}" for r in UnmetReason))
_FLOAT = ("travel_km", "fill_rate", "hours", "hours_in_plan", "hours_to_date", "hours_to_next_star", "points",
          "rating_mean", "recent_hours")
_TEXT = ("volunteers",)  # (a demand's volunteers, ;-joined: longer than an id)
_COLUMNS: dict[str, tuple[str, ...]] = {
    "assignments": ("volunteer_id", "demand_id", "area_id", "category", "priority", "start", "end", "travel_km",
                    "change"),
    "roster": ("volunteer_id", "day", "weekday", "start", "end", "hours", "demand_id", "category", "area_id",
               "priority"),
    "unmet": ("demand_id", "area_id", "category", "priority", "start", "end", "missing", "reason"),
    "dropped": ("volunteer_id", "demand_id", "why"),
    "kpi_by_area": ("area_id", "community", "street"),
    "kpi_by_category": ("category", "subcategory"),
    "kpi_by_priority": ("priority",),
    "services": ("demand_id", "series_id", "start", "end", "hours", "volunteers"),
    "volunteers_ledger": ("volunteer_id", "hours_in_plan", "tasks_in_plan", "hours_to_date", "star_level",
                          "hours_to_next_star", "points", "rating_mean", "ratings", "recent_hours",
                          "recent_hours_from"),
}
_KPI = ("demanded", "filled", "fill_rate", *(f"unmet_{r.value}" for r in UnmetReason))
_PERSONAL = ("assignments", "roster", "dropped")
_LEDGER = ("matcher_services", "matcher_volunteers_ledger")
SHOWN_RUNS = 5
"""An unknown run id's message names this many of the latest runs."""


@dataclass(frozen=True)
class RunServiceRows:
    """What one run stored for ``matcher rate``: its id, its demands, and its volunteers' ids.

    ``services`` are ``matcher_services`` rows: ``demand_id, series_id, start, end, volunteers``, as text.
    """

    run_id: str
    services: tuple[tuple[str, str | None, str, str, str], ...]
    volunteers: tuple[str, ...]


def _schema() -> tuple[Any, Any, dict[str, Any]]:
    import sqlalchemy as sa

    meta = sa.MetaData()
    runs = sa.Table(RUNS_TABLE, meta, sa.Column("run_id", sa.String(64), primary_key=True),
                    sa.Column("started_utc", sa.String(40)), sa.Column("finished_utc", sa.String(40)),
                    sa.Column("status", sa.String(40)), sa.Column("coverage", sa.Float),
                    sa.Column("coverage_bound", sa.Float), sa.Column("fill_rate", sa.Float),
                    sa.Column("assignments", sa.Integer), sa.Column("unmet_headcount", sa.Integer),
                    sa.Column("problem_sha256", sa.String(64)), sa.Column("manifest", sa.Text),
                    sa.Column("solution", sa.Text), sa.Column("kpis", sa.Text))
    tables: dict[str, Any] = {}
    for name, cols in _COLUMNS.items():
        cols = cols + (_KPI if name.startswith("kpi_") else ())

        def kind(c: str) -> Any:
            return sa.Integer if c in _INT else sa.Float if c in _FLOAT else sa.Text if c in _TEXT else sa.String(500)

        extra = (sa.Column("extra", sa.Text),) if name in _PERSONAL else ()
        tables[name] = sa.Table(f"matcher_{name}", meta,
                                sa.Column("run_id", sa.String(64), sa.ForeignKey(f"{RUNS_TABLE}.run_id"),
                                          nullable=False, index=True),
                                *(sa.Column(c, kind(c)) for c in cols), *extra)
    return meta, runs, tables


def _add_columns(conn: Any, meta: Any) -> None:
    """Add to the tables of a database an older matcher made the columns they lack (a new reason's, for one).

    Each is added nullable, so the old runs keep their rows.
    """
    import sqlalchemy as sa

    inspector = sa.inspect(conn)
    quote = conn.dialect.identifier_preparer.quote
    for table in meta.sorted_tables:
        have = {c["name"] for c in inspector.get_columns(table.name)}
        for col in table.columns:
            if col.name not in have:
                kind = col.type.compile(dialect=conn.dialect)
                conn.execute(sa.text(f"ALTER TABLE {quote(table.name)} ADD COLUMN {quote(col.name)} {kind}"))


def _records(name: str, header: Sequence[str], rows: Sequence[Sequence[Any]], run_id: str) -> list[dict[str, Any]]:
    known = set(_COLUMNS[name]) | (set(_KPI) if name.startswith("kpi_") else set())
    extra = [i for i, h in enumerate(header) if h not in known]
    out = []
    for row in rows:
        rec: dict[str, Any] = {"run_id": run_id}
        for h, v in zip(header, row, strict=True):
            if h in known:
                numeric = h in _INT or h in _FLOAT
                rec[h] = None if numeric and v == "" else _number(h, v) if numeric else v
        if name in _PERSONAL:
            rec["extra"] = json.dumps({header[i]: row[i] for i in extra}, ensure_ascii=False) if extra else None
        out.append(rec)
    return out


def _number(column: str, value: Any) -> Any:
    """An output cell of a numeric column as a number (``"12.50"`` -> 12.5), whatever the workbook's columns."""
    if not isinstance(value, str):
        return value
    try:
        return int(value) if column in _INT else float(value)
    except ValueError:
        return typed_value(column, value)  # ("1.0" in a whole-number column; anything else as given)


def publish_run_db(url: str, name: str, tables: Mapping[str, tuple[Sequence[str], Sequence[Sequence[Any]]]],
                   manifest: dict[str, Any], *, solution_json: str, kpis: Mapping[str, Any],
                   before_commit: Callable[[], None] | None = None) -> str:
    """Write one run to the database at ``url`` in one transaction; returns its run id.

    The run id is ``name``, or ``name-2``, ``-3``, ... when taken. ``manifest`` gets ``run_id`` and its
    ``outputs`` (table -> rows) before it is stored. ``before_commit`` may raise to abandon the run.

    Raises
    ------
    ProblemError
        When the database cannot be reached or written (password hidden); nothing is written.

    """
    import sqlalchemy as sa

    meta, runs, out = _schema()
    engine = engine_for(url)
    try:
        with engine.begin() as conn:  # (its own step: creating missing tables and columns changes no run)
            meta.create_all(conn)
            _add_columns(conn, meta)
        with engine.begin() as conn:
            taken = {r for (r,) in conn.execute(sa.select(runs.c.run_id).where(runs.c.run_id.like(f"{name}%")))}
            run_id, n = name, 1
            while run_id in taken:
                n += 1
                run_id = f"{name}-{n}"
            manifest.update(run_id=run_id, outputs={f"matcher_{t}": {"rows": len(rows)}
                                                    for t, (_h, rows) in tables.items()})
            res = manifest.get("result", {})
            conn.execute(runs.insert(), [{
                "run_id": run_id, "started_utc": manifest.get("started_utc"),
                "finished_utc": manifest.get("finished_utc"), "status": res.get("status"),
                "coverage": res.get("coverage"), "coverage_bound": res.get("coverage_bound"),
                "fill_rate": res.get("fill_rate"), "assignments": res.get("assignments"),
                "unmet_headcount": res.get("unmet_headcount"),
                "problem_sha256": manifest.get("input", {}).get("problem_sha256"),
                "manifest": json.dumps(manifest, indent=1), "solution": solution_json,
                "kpis": json.dumps(kpis, sort_keys=True)}])
            for t, (header, rows) in tables.items():
                if t in out and rows:
                    conn.execute(out[t].insert(), _records(t, header, rows, run_id))
            if before_commit is not None:
                before_commit()
    except sa.exc.SQLAlchemyError as exc:
        raise database_error(url, exc, "cannot write the run") from None
    finally:
        engine.dispose()
    return run_id


def latest_run(conn: Any) -> str | None:
    """The latest run id stored (the greatest), or ``None``."""
    import sqlalchemy as sa

    if RUNS_TABLE not in sa.inspect(conn).get_table_names():
        return None
    runs = sa.Table(RUNS_TABLE, sa.MetaData(), autoload_with=conn)
    value = conn.execute(sa.select(sa.func.max(runs.c.run_id))).scalar()
    return None if value is None else str(value)


def read_run_assignments(url: str) -> list[tuple[str, str]]:
    """The latest run's assignments (``volunteer_id``, ``demand_id``): a previous plan kept in a database.

    Raises
    ------
    ProblemError
        When the database cannot be read or holds no run.

    """
    def read(conn: Any, sa: Any, run_id: str) -> Any:
        table = sa.Table("matcher_assignments", sa.MetaData(), autoload_with=conn)
        return conn.execute(sa.select(table.c.volunteer_id, table.c.demand_id).where(table.c.run_id == run_id)
                            .order_by(table.c.volunteer_id, table.c.demand_id)).all()

    return [(str(v), str(d)) for v, d in _read_latest(url, "cannot read the previous run", read)]


def read_run_solution(url: str) -> Any:
    """The latest run's solution (parsed JSON), as ``matcher explain`` reads it from a run folder.

    Raises
    ------
    ProblemError
        When the database cannot be read or holds no run.

    """
    def read(conn: Any, sa: Any, run_id: str) -> Any:
        runs = sa.Table(RUNS_TABLE, sa.MetaData(), autoload_with=conn)
        return conn.execute(sa.select(runs.c.solution).where(runs.c.run_id == run_id)).scalar()

    text = _read_latest(url, "cannot read the latest run", read)
    return json.loads(text)


def _read_latest(url: str, action: str, read: Callable[[Any, Any, str], Any]) -> Any:
    """``read(conn, sqlalchemy, run_id)`` on the latest run of the database at ``url``, in one connection."""
    import sqlalchemy as sa

    engine = engine_for(url)
    try:
        with engine.connect() as conn:
            run_id = latest_run(conn)
            if run_id is None:
                raise ProblemError([f"{redact(url)}: no run stored yet (table {RUNS_TABLE})"])
            return read(conn, sa, run_id)
    except sa.exc.SQLAlchemyError as exc:
        raise database_error(url, exc, action) from None
    finally:
        engine.dispose()


def split_run_url(text: str) -> tuple[str, str | None]:
    """A run in a database as ``(url, run id)``: ``DB_URL`` (run id ``None``: the latest) or ``DB_URL#run-id``.

    The run id is what follows the last ``#``, unless that holds a ``/`` or an ``@`` (then the ``#`` belongs to
    the URL, in a password for instance); ``DB_URL#`` is the latest run.
    """
    url, sep, run_id = text.rpartition("#")
    if sep and not set(run_id) & {"/", "@"}:
        return url, run_id or None
    return text, None


def read_run_services(url: str, run_id: str | None = None) -> RunServiceRows:
    """The services and volunteers the run ``run_id`` (or the latest) stored, read in one transaction.

    They are the run's rows of ``matcher_services`` and ``matcher_volunteers_ledger``.

    Raises
    ------
    ProblemError
        When the database cannot be read (password hidden), holds no run, holds no run ``run_id`` (the
        message names the latest runs), or the run stored no services (a run made before runs stored them).

    """
    import sqlalchemy as sa

    where = redact(url)
    engine = engine_for(url)
    try:
        with engine.connect() as conn, conn.begin():
            names = set(sa.inspect(conn).get_table_names())
            if RUNS_TABLE not in names:
                raise ProblemError([f"{where}: no run stored in this database (no table {RUNS_TABLE}); "
                                    "matcher run INPUT --out DB_URL writes runs there"])
            runs = sa.Table(RUNS_TABLE, sa.MetaData(), autoload_with=conn)
            ids = [str(r) for (r,) in conn.execute(sa.select(runs.c.run_id).order_by(runs.c.run_id.desc())
                                                   .limit(SHOWN_RUNS))]
            if not ids:
                raise ProblemError([f"{where}: no run stored yet (table {RUNS_TABLE} is empty)"])
            if run_id is None:
                run_id = ids[0]
            elif conn.execute(sa.select(runs.c.run_id).where(runs.c.run_id == run_id)).first() is None:
                raise ProblemError([f"{where}: no run {run_id!r} in this database (the latest: {', '.join(ids)}); "
                                    "give DB_URL#run-id as matcher run printed it, or DB_URL for the latest"])
            services: list[Any] = []
            volunteers: list[Any] = []
            if set(_LEDGER) <= names:
                meta = sa.MetaData()
                s, v = (sa.Table(t, meta, autoload_with=conn) for t in _LEDGER)
                services = list(conn.execute(sa.select(s.c.demand_id, s.c.series_id, s.c.start, s.c.end,
                                                       s.c.volunteers).where(s.c.run_id == run_id)))
                volunteers = [x for (x,) in conn.execute(sa.select(v.c.volunteer_id).where(v.c.run_id == run_id))]
    except sa.exc.SQLAlchemyError as exc:
        raise database_error(url, exc, "cannot read the run") from None
    finally:
        engine.dispose()
    if not services and not volunteers:
        raise ProblemError([f"{where}#{run_id}: the run stored no services (tables {' and '.join(_LEDGER)}): a run "
                            "made before runs stored them, or of an empty input, cannot be rated against"])
    return RunServiceRows(run_id, tuple((str(d), None if sr in (None, "") else str(sr), str(a), str(b),
                                         "" if vs is None else str(vs)) for d, sr, a, b, vs in services),
                          tuple(str(x) for x in volunteers))
