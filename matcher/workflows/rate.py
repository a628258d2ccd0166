"""Recording services and ratings after the fact (评单) into the ledger: ``matcher rate``.

:func:`record_services` reads a file of services, resolves each against the run that sent the
volunteers (its ``services.csv`` and ``volunteers_ledger.csv``, see :mod:`matcher.workflows.ledger`),
and records them in the ledger next to the runs (``RUNS/ledger.sqlite``) in one transaction.

A run written to a database (``matcher run INPUT --out DB_URL``) is named ``DB_URL`` (its latest run) or
``DB_URL#run-id`` (that run, as ``matcher run`` printed it); its ids resolve against the same tables,
stored as ``matcher_services`` and ``matcher_volunteers_ledger`` (:func:`matcher.io.rundb.read_run_services`),
and the ledger is that database's ``ledger_*`` tables.

The file is a CSV or Parquet table, or JSON (a list of objects, or ``{"services": [...]}``), with:

================  ==========================================================================
``volunteer_id``  required: a volunteer of the run
``demand_id``     required: a demand of the run, to which the run sent this volunteer
``series_id``     optional: when given, must be the demand's series in the run
``stars``         optional: the household's rating, a whole number 1..5
``hours``         optional: hours served, a number above 0 and at most 24 (default: the demand's
                  length in the run)
``at``            optional: when it was served, ISO 8601 with an offset, or without one when a
                  ``timezone`` is named (default: the demand's end); not before the demand's start,
                  not in the future
================  ==========================================================================

Strict, and all or nothing: every bad cell, unknown volunteer or demand, pair the run did not make
(unless ``unplanned``: a change during the day), and pair given twice is reported, each naming the
file, the line and the column, and then nothing is recorded.

The ledger holds one record per (volunteer_id, demand_id). Recording a pair it holds updates it:
the fields the file gives replace the ledger's, those it leaves empty keep the ledger's
(:func:`matcher.model.merged`). Recording the same file again changes nothing.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from matcher.engine.types import duration_us, hours_us
from matcher.errors import ProblemError
from matcher.io import is_database_url, parse_cell, read_columns, read_json, redact
from matcher.io.cells import MISSING, CellError, Kind, NoOffsetError
from matcher.io.columns import did_you_mean
from matcher.io.ledger_store import LEDGER_FILE, Recording, open_ledger
from matcher.io.rundb import read_run_services, split_run_url
from matcher.model import ServiceUpdate, parse_time, zone
from matcher.workflows.ledger import hours_text

__all__ = ["MAX_HOURS", "RATE_COLUMNS", "RateResult", "RunServices", "record_services", "resolve_run"]

log = logging.getLogger(__name__)

RATE_COLUMNS: dict[str, Kind] = {"volunteer_id": "text", "demand_id": "text", "series_id": "text",
                                 "stars": "count", "hours": "real", "at": "time"}
"""The columns of a file of services, and how each cell is read (:mod:`matcher.io.cells`)."""
MAX_HOURS = 24
"""The most hours one record may give."""
MAX_ERRORS = 200
"""A file stops being checked after this many errors."""


@dataclass(frozen=True)
class RunDemand:
    """A demand as a run wrote it in ``services.csv``."""

    series_id: str | None
    start: datetime
    end: datetime
    sent: frozenset[str]


@dataclass(frozen=True)
class RunServices:
    """What ``matcher rate`` needs of a run: its name, demands, and volunteers, and where its ledger is.

    ``folder`` is the run folder (``None`` for a run in a database); ``ledger`` is the ledger beside the run:
    ``RUNS/ledger.sqlite``, or the run's database URL (its ``ledger_*`` tables).
    """

    name: str
    folder: Path | None
    demands: Mapping[str, RunDemand]
    volunteers: frozenset[str]
    ledger: str | Path


@dataclass(frozen=True)
class RateResult:
    """A recording done: what the ledger did (:class:`~matcher.io.ledger_store.Recording`), and notes."""

    recording: Recording
    run: str
    notes: tuple[str, ...]


def resolve_run(run: str | Path) -> RunServices:
    """Read a run for rating its services: a run folder, or a run in a database.

    A folder is ``RUNS/latest`` or ``RUNS/run-...``; a database run is ``DB_URL`` (its latest run) or
    ``DB_URL#run-id`` (that run).

    Raises
    ------
    ProblemError
        When the path is not a run folder, or one made before runs recorded their services; for a database,
        when it cannot be read, holds no run, no run of that id, or a run that stored no services (the URL's
        password hidden).

    """
    if is_database_url(run):
        return _database_run(str(run))
    path = Path(run)
    folder = path.resolve()
    if path.is_file():  # `latest` written as a text file naming the run folder (where links are not allowed)
        folder = (path.parent / path.read_text(encoding="utf-8").strip()).resolve()
    if not folder.is_dir():
        raise ProblemError([f"{run}: not a run folder (give RUNS/latest or RUNS/run-<time>)"])
    missing = [n for n in ("services.csv", "volunteers_ledger.csv") if not (folder / n).exists()]
    if missing:
        raise ProblemError([f"{run}: no {' or '.join(missing)}: not a folder written by matcher run (a run made "
                            "before runs recorded their services cannot be rated against)"])
    table = read_columns(folder / "services.csv")
    cols = table.columns
    demands: dict[str, RunDemand] = {}
    try:
        for i, did in enumerate(cols["demand_id"]):
            sent = frozenset(x for x in str(cols["volunteers"][i]).split(";") if x)
            demands[did] = RunDemand(cols["series_id"][i] or None, parse_time(cols["start"][i]),
                                     parse_time(cols["end"][i]), sent)
        volunteers = frozenset(read_columns(folder / "volunteers_ledger.csv").columns["volunteer_id"])
    except (KeyError, ValueError, IndexError) as exc:
        raise ProblemError([f"{folder}: services.csv or volunteers_ledger.csv is damaged ({exc}); rate against "
                            "another run"]) from None
    return RunServices(folder.name, folder, demands, volunteers, folder.parent / LEDGER_FILE)


def _database_run(run: str) -> RunServices:
    """A run stored in a database (``DB_URL`` or ``DB_URL#run-id``) for rating its services."""
    url, run_id = split_run_url(run)
    stored = read_run_services(url, run_id)
    demands: dict[str, RunDemand] = {}
    try:
        for did, series, start, end, sent in stored.services:
            demands[did] = RunDemand(series, parse_time(start), parse_time(end),
                                     frozenset(x for x in sent.split(";") if x))
    except ValueError as exc:
        raise ProblemError([f"{redact(url)}#{stored.run_id}: matcher_services is damaged ({exc}); rate against "
                            "another run"]) from None
    return RunServices(stored.run_id, None, demands, frozenset(stored.volunteers), url)


def _rows(path: Path) -> tuple[dict[str, list[Any]], list[str]]:
    """The file's cells by column, and a label naming each row (``file line 3``, ``file item 2``)."""
    if path.suffix.lower() == ".json":
        data = read_json(path)
        items = data.get("services") if isinstance(data, Mapping) else data
        if not isinstance(items, list):
            raise ProblemError([f"{path}: expected a list of services, or an object with a 'services' list"])
        bad = [f"{path} item {i + 1}: must be an object of {', '.join(RATE_COLUMNS)}" for i, x in enumerate(items)
               if not isinstance(x, Mapping)]
        if bad:
            raise ProblemError(bad[:MAX_ERRORS])
        names = list(RATE_COLUMNS) + sorted({k for x in items for k in x if k not in RATE_COLUMNS})
        return {n: [x.get(n) for x in items] for n in names}, [f"{path} item {i + 1}" for i in range(len(items))]
    if path.suffix.lower() not in (".csv", ".parquet"):
        raise ProblemError([f"{path}: a file of services is .csv, .parquet or .json"])
    table = read_columns(path)
    n = len(next(iter(table.columns.values()), []))
    return dict(table.columns), [table.label(i) for i in range(n)] if n else []


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def record_services(
    path: str | Path,
    run: str | Path,
    *,
    ledger: str | Path | None = None,
    timezone: str | None = None,
    now: datetime | None = None,
    unplanned: bool = False,
) -> RateResult:
    """Record a file of services and ratings in the ledger, against the run that sent the volunteers.

    Parameters
    ----------
    path
        The services: CSV, Parquet or JSON (see the module docstring for the columns).
    run
        The run that sent them: a run folder (``RUNS/latest``, ``RUNS/run-<time>``), or a run in a database
        (``DB_URL`` for its latest run, ``DB_URL#run-id`` for one); ids resolve against it.
    ledger
        The ledger: a file or a database URL (default: ``ledger.sqlite`` in the run's parent folder, ``RUNS``;
        for a run in a database, that database's ``ledger_*`` tables); created when missing.
    timezone
        IANA name in which times written without an offset are read (default: such times are errors).
    now
        The moment no service may be later than (default: the clock).
    unplanned
        Accept pairs the run did not make (a volunteer sent by a change during the day).

    Raises
    ------
    ProblemError
        Naming file, line and column of every problem found, or what is wrong with the run (see
        :func:`resolve_run`); nothing is recorded.

    """
    path = Path(path)
    now = now or datetime.now(UTC)
    try:
        tz = zone(timezone) if timezone else None
    except ValueError as exc:
        raise ProblemError([f"--timezone: {exc}"]) from None
    services = resolve_run(run)
    columns, labels = _rows(path)
    unknown = [c for c in columns if c not in RATE_COLUMNS]
    missing = [c for c in ("volunteer_id", "demand_id") if c not in columns]
    if unknown or missing:
        raise ProblemError([f"{path}: unknown column {c!r}{did_you_mean(c, tuple(RATE_COLUMNS))} (known: "
                            f"{', '.join(RATE_COLUMNS)})" for c in unknown]
                           + [f"{path}: missing column {c!r}" for c in missing])
    errors: list[str] = []
    updates: list[ServiceUpdate] = []
    first_line: dict[tuple[str, str], str] = {}
    longer: list[str] = []  # records giving more hours than their demand's window
    for i, label in enumerate(labels):
        cells: dict[str, Any] = {}
        bad: dict[str, str] = {}
        for col, kind in RATE_COLUMNS.items():
            raw = columns[col][i] if col in columns else None
            try:
                cells[col] = parse_cell(kind, raw, tz, lambda note: None)
            except NoOffsetError:  # (a rate file's timezone is the command's flag, not a folder's settings.json)
                bad[col] = f"{raw!s} has no UTC offset: write one (e.g. +08:00), or name its timezone (--timezone " \
                           "Asia/Shanghai; record_services(timezone=...))"
            except CellError as exc:
                bad[col] = str(exc)
        got = {k: v for k, v in cells.items() if v is not MISSING}
        vid, did = got.get("volunteer_id"), got.get("demand_id")
        who = f"{label} (volunteer {vid!r}, demand {did!r})" if vid is not None and did is not None else label
        errors += [f"{who}, column {col}: {msg}" for col, msg in bad.items()]
        if vid is None or did is None:
            errors += [f"{label}, column {c}: empty; every service names its volunteer and demand"
                       for c in ("volunteer_id", "demand_id") if c not in got and c not in bad]
            continue
        problems = _check(got, services, unplanned, now)
        errors += [f"{who}, column {col}: {msg}" for col, msg in problems]
        if (vid, did) in first_line:  # (also when a copy has a bad cell: every repeated pair is named)
            errors.append(f"{who}: the pair is given twice (first at {first_line[(vid, did)]}); give each service "
                          "once (recording it again later updates it)")
            continue
        first_line[(vid, did)] = label
        if bad or problems:
            continue
        d = services.demands[did]
        served = hours_us(got["hours"]) if "hours" in got else None
        if served is not None and served > duration_us(d.start, d.end):
            longer.append(f"{who.removeprefix(f'{path} ')}: {hours_text(served)} h in a "  # (the note names the file)
                          f"{hours_text(duration_us(d.start, d.end))} h window")
        updates.append(ServiceUpdate(
            volunteer_id=vid, demand_id=did, series_id=d.series_id, stars=got.get("stars"), served_us=served,
            at=got.get("at"), run=services.name, default_served_us=duration_us(d.start, d.end), default_at=d.end))
        if len(errors) >= MAX_ERRORS:
            errors.append(f"{path}: stopped after {MAX_ERRORS} errors")
            break
    if not labels:  # (a wrong export, most likely: nothing to record is not a recording)
        errors.append(f"{path}: no services in it (its header alone); nothing recorded")
    if errors:
        raise ProblemError(errors)
    store = open_ledger(ledger if ledger is not None else services.ledger)
    assert store is not None  # (created when missing)
    try:
        recording = store.record(updates, source=str(path.resolve()), sha256=_sha256(path))
    finally:
        store.close()
    notes = [f"{len(longer)} record(s) give more hours than their demand's window: " + "; ".join(longer[:10])
             + (f"; and {len(longer) - 10} more" if len(longer) > 10 else "")] if longer else []
    for note in notes:
        log.warning("%s: %s", path, note)
    log.debug("recorded %s against %s in %s: %d new, %d changed, %d unchanged", path, services.name,
             recording.where, recording.added, recording.changed, recording.unchanged)
    return RateResult(recording, services.name, tuple(notes))


def _check(got: dict[str, Any], run: RunServices, unplanned: bool, now: datetime) -> list[tuple[str, str]]:
    """What is wrong with one service's values against the run: ``(column, message)`` each."""
    out: list[tuple[str, str]] = []
    vid, did = got.get("volunteer_id"), got.get("demand_id")
    if vid is not None and vid not in run.volunteers:
        out.append(("volunteer_id", f"unknown volunteer {vid!r}: not a volunteer of run {run.name}"))
    if did is not None and did not in run.demands:
        out.append(("demand_id", f"unknown demand {did!r}: not a demand of run {run.name}"))
    if out or vid is None or did is None:
        return out
    d = run.demands[did]
    if not unplanned and vid not in d.sent:
        sent = ", ".join(sorted(d.sent)[:5]) or "nobody"
        out.append(("demand_id", f"run {run.name} did not send {vid!r} to {did!r} (it sent {sent}); a change during "
                                 "the day? record it with --unplanned"))
    if "series_id" in got and got["series_id"] != d.series_id:
        of = f"series {d.series_id!r}" if d.series_id is not None else "no series"
        out.append(("series_id", f"{did!r} is of {of} in run {run.name}, not {got['series_id']!r}"))
    if "stars" in got and not 1 <= got["stars"] <= 5:
        out.append(("stars", f"must be a whole number from 1 to 5, not {got['stars']}"))
    if "hours" in got and not 0 < got["hours"] <= MAX_HOURS:
        out.append(("hours", f"must be above 0 and at most {MAX_HOURS} (a no-show is not a service: leave it out), "
                             f"not {got['hours']:g}"))
    later = f"later than now ({now.isoformat(timespec='seconds')}): a service is recorded once it was served"
    if "at" in got and got["at"] < d.start:
        out.append(("at", f"{got['at'].isoformat()} is before the demand starts ({d.start.isoformat()})"))
    elif "at" in got and got["at"] > now:
        out.append(("at", f"{got['at'].isoformat()} is {later}"))
    elif "at" not in got and d.end > now:
        out.append(("at", f"not given, and the demand ends at {d.end.isoformat()}, {later}"))
    return out
