"""The nightly batch run: tables in, a finished folder of outputs with a manifest out.

:func:`run_batch` loads a problem (a folder of tables or a SPEC JSON file),
takes yesterday's assignments when given (the solver then prefers keeping
them), solves within a time limit and publishes a new folder
``OUT_ROOT/run-<UTC time>`` at once (see :func:`matcher.io.durable.publish_dir`):

=====================  =====================================================
``assignments.csv``    who goes where, with the demand's area, category,
                       priority and window, travel, and ``kept``/``new``
                       against the previous plan
``roster.csv``         each volunteer's tasks in time order (their week)
``unmet.csv``          seats left unmet, with the reason
``dropped.csv``        previous assignments not kept, and why (with
                       ``--previous`` only): the people to tell
``kpi_by_area.csv``,   demanded and filled headcount, fill rate and unmet
``kpi_by_category.csv``, headcount by reason
``kpi_by_priority.csv``
``volunteers_ledger.csv`` each volunteer's hours in this plan and to date, star
                       level, time-bank points and ratings (:mod:`~matcher.workflows.ledger`)
``services.csv``       each demand's series, window, hours and volunteers sent:
                       what ``matcher rate`` resolves ratings against
``kpis.json``          the solution's KPIs (coverage, travel, load spread)
``report.html``        the page people open (:mod:`matcher.workflows.report`)
``solution.json``      the SPEC.md solution
``run.xlsx``           the same tables (and the KPIs) as one Excel workbook
``manifest.json``      input file hashes, options, versions, status, coverage
                       and bound, timings per phase, output file hashes
=====================  =====================================================

CSV files start with a byte-order mark, so that Excel reads them as UTF-8. The
input's extra columns (names, phones: personal data) are passed through to
``assignments``, ``roster`` and ``dropped`` (and their sheets) and nowhere else.
The run reads the ledger ``OUT_ROOT/ledger.sqlite`` when it exists (``matcher rate``
writes it): recent hours and ratings come from it (:func:`~matcher.workflows.ledger.apply_ledger`).

``OUT_ROOT/latest`` links to the last finished run. A run that fails or is
killed publishes nothing and leaves ``latest`` alone. The tables are the same
bytes for the same input, options and seed whenever the manifest says
``"reproducible": true`` (the wall clock cut nothing short; otherwise ``why_not_reproducible`` says what).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from matcher.engine import solve_keeping
from matcher.engine.beside import Beside
from matcher.engine.context import Cancel
from matcher.errors import MatcherError, ProblemError
from matcher.io import (
    WORKBOOK_MAX_CELLS,
    Personal,
    is_database_url,
    load_options,
    output_lock,
    publish_dir,
    publish_run_db,
    read_assignments,
    read_input,
    redact,
    shown_source,
    workbook_bytes,
    workbook_cells,
    write_bytes_synced,
    write_csv,
    write_text_synced,
)
from matcher.model import Assignment, Problem, Solution, SolveOptions, format_validation_error
from matcher.workflows.ledger import apply_ledger, ledger_tables
from matcher.workflows.outputs import Table, flat_kpis, result_tables, software_versions, utc_stamp
from matcher.workflows.report import (
    REPORT_NAME,
    PersonalColumns,
    ReportOptions,
    RunInputs,
    run_report_html,
    write_report,
    write_seconds,
)

__all__ = ["WRITE_SHARE", "RunCancelled", "RunResult", "resolve_options", "run_batch"]

log = logging.getLogger(__name__)

WRITE_SHARE = 0.025
"""Share of the time limit kept back for writing the outputs; at least :func:`write_seconds` (tables and report).
The district's solution.json takes about 0.1 s: the rest is a margin for a machine running slow."""

STALE_SHARE = 0.5
"""A previous plan of which at least this share names records the input does not have gets a warning."""


class RunCancelled(MatcherError):
    """The run was cancelled (its ``cancel`` event was set): nothing was published."""


@dataclass(frozen=True)
class RunResult:
    """A finished run: where it was published, the solution and the manifest written with it.

    ``path`` is the run folder, or for a database ``URL#run-id`` (the URL's password hidden).
    """

    path: Path | str
    solution: Solution
    manifest: dict[str, Any]


FLAGS = {"time_limit_s": "--time-limit", "seed": "--seed", "threads": "--threads"}
"""The command line's flag for each :class:`SolveOptions` field it takes (named so in errors)."""


def resolve_options(problem: Problem | None, options_file: str | Path | None,
                    overrides: Mapping[str, Any]) -> SolveOptions:
    """Options from the file (else the problem's, else defaults), with ``overrides`` (command-line flags) on top.

    With ``problem`` None (before it is loaded) the file and the flags are checked on their own: a bad flag or
    options file is named before the input is read. Raises :class:`ProblemError` naming the flag or the file's line.
    """
    base = load_options(options_file) if options_file else (problem.options if problem is not None and
                                                            problem.options else SolveOptions())
    flags = {k: v for k, v in overrides.items() if v is not None}
    try:
        return SolveOptions.model_validate({**base.model_dump(), **flags})
    except ValidationError as exc:
        raise ProblemError(format_validation_error(
            exc, flags, source="command line",
            locator=lambda loc, data: FLAGS.get(str(loc[0]), f"command line.{loc[0]}") if loc else "command line",
        )) from None


def _with_previous(problem: Problem, pairs: Sequence[tuple[str, str]], source: str
                   ) -> tuple[Problem, list[tuple[str, str, str]]]:
    """The problem with ``previous`` set to the pairs it knows; the rest returned with why they cannot stay."""
    if problem.previous:
        raise ProblemError([f"{source}: the input already has a 'previous' table; give previous assignments once"])
    vids = {v.id for v in problem.volunteers}
    dids = {d.id for d in problem.demands}
    kept: list[Assignment] = []
    stale: list[tuple[str, str, str]] = []
    seen: set[tuple[str, str]] = set()
    for vid, did in pairs:
        if (vid, did) in seen:
            continue
        seen.add((vid, did))
        if did not in dids:
            stale.append((vid, did, "demand withdrawn"))
        elif vid not in vids:
            stale.append((vid, did, "volunteer withdrawn"))
        else:
            kept.append(Assignment(volunteer_id=vid, demand_id=did))
    if stale and len(stale) >= STALE_SHARE * len(seen):
        log.warning("%d of %d previous assignments (%s) name demands or volunteers this input does not have: "
                    "is it the plan of another problem?", len(stale), len(seen), source)
    # every id was checked above, so the copy needs no second validation of the whole problem
    return problem.replace(validate=False, previous=tuple(kept)), stale


def _fill_rate(filled: int, unmet: int) -> float:
    """Seats filled of seats ordered (1.0 when none were ordered), to 4 places."""
    return round(filled / (filled + unmet), 4) if filled + unmet else 1.0


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def personal_columns(personal: Personal) -> PersonalColumns:
    """The loaded personal columns as the report takes them: table -> record id -> column -> value."""
    return {table: {rid: dict(zip(names, personal.values.get(table, {}).get(rid, ()), strict=False))
                    for rid in personal.values.get(table, {})}
            for table, names in personal.columns.items()}


def _report(inputs: RunInputs, options: ReportOptions) -> str | None:
    """The run's ``report.html``; None (with the error logged) if it cannot be built: the tables still go out."""
    try:
        return run_report_html(inputs, options)
    except Exception:
        log.exception("report.html not written: building it failed (the tables are written; please report this)")
        return None


def run_batch(
    input_path: str | Path,
    out_root: str | Path,
    *,
    options_file: str | Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    previous: str | Path | None = None,
    started: float | None = None,
    command: Sequence[str] | None = None,
    cancel: Cancel | None = None,
    report: ReportOptions | None = None,
    ledger: str | Path | bool = True,
) -> RunResult:
    """Load, solve and publish one batch run; see the module docstring for the outputs.

    Parameters
    ----------
    input_path
        A folder of tables (:mod:`matcher.io.tables`), a SPEC JSON file, or a database URL
        (:mod:`matcher.io.database`).
    out_root
        The folder that holds the runs; the new run is ``out_root/run-<UTC time>``. Or a database URL
        (``sqlite:///runs.db``, ``postgresql://...``): the run's tables are written in one transaction,
        keyed by run id (:mod:`matcher.io.rundb`).
    options_file
        SolveOptions as TOML, YAML or JSON (default: the problem's own, else defaults).
    overrides
        Option values that win over the file (``time_limit_s``, ``seed``, ``threads``, ...).
    previous
        The previous plan (a run folder, an assignments table, or a database URL: its latest run): the solver
        prefers keeping these assignments (``SolveOptions.change_weight``).
    started
        The ``time.perf_counter()`` value the time limit counts from (default: now).
    command
        The command line, recorded in the manifest.
    cancel
        Cooperative cancellation (e.g. a :class:`threading.Event`): once set, the
        solve stops at its next step and the run publishes nothing.
    report
        How ``report.html`` is written (language, personal columns); default Chinese, without personal columns.
    ledger
        The ledger to read recent hours and ratings from: ``True`` (``out_root/ledger.sqlite``, when it
        exists), a file or database URL, or ``False`` (not read; the input's values stand).

    Raises
    ------
    ProblemError
        Bad input, options or previous assignments; nothing is written.
    RunCancelled
        ``cancel`` was set; nothing is written.
    OutputBusyError
        Another run holds ``out_root``'s lock; nothing is done.

    """
    started = time.perf_counter() if started is None else started
    with output_lock(out_root):  # two nightly runs on one output never overlap
        return _run_locked(input_path, out_root, options_file=options_file, overrides=overrides, previous=previous,
                           started=started, command=command, cancel=cancel, report=report, ledger=ledger)


def _run_locked(
    input_path: str | Path,
    out_root: str | Path,
    *,
    options_file: str | Path | None,
    overrides: Mapping[str, Any] | None,
    previous: str | Path | None,
    started: float,
    command: Sequence[str] | None,
    cancel: Cancel | None,
    report: ReportOptions | None,
    ledger: str | Path | bool,
) -> RunResult:
    started_utc = datetime.now(UTC)
    loaded = read_input(input_path)
    problem = loaded.problem
    # of the input as given (before the previous plan is added); the JSON it hashes is written beside the solve
    hashing = Beside(problem.fingerprint, "fingerprint")
    options = resolve_options(problem, options_file, overrides or {})
    seconds: dict[str, float] = {"load": round(time.perf_counter() - started, 4)}
    log.info("loaded %s: %d volunteers, %d demands in %.2f s", loaded.where, len(problem.volunteers),
             len(problem.demands), seconds["load"])
    problem, ledger_state, ledger_note = apply_ledger(problem, out_root, ledger, started_utc)
    stale: list[tuple[str, str, str]] = []
    if previous is not None:
        t = time.perf_counter()
        problem, stale = _with_previous(problem, read_assignments(previous), redact(str(previous)))
        seconds["previous"] = round(time.perf_counter() - t, 4)
        log.info("previous plan %s: %d assignments to keep if possible, %d withdrawn (demand or volunteer gone)",
                 redact(str(previous)), len(problem.previous), len(stale))
    deadline = started + options.time_limit_s - max(WRITE_SHARE * options.time_limit_s, write_seconds(problem))
    solved = solve_keeping(problem, options, deadline=deadline, cancel=cancel)
    solution = solved.solution
    if stale and len(stale) >= STALE_SHARE * (len(problem.previous) + len(stale)):
        note = (f"{len(stale)} of {len(problem.previous) + len(stale)} previous assignments "
                f"({redact(str(previous))}) name "
                "demands or volunteers this input does not have: is it the plan of another problem?")
        solution = solution.model_copy(update={"warnings": (*solution.warnings, note)})
    fingerprint = hashing.result()
    solution = solution.model_copy(update={"problem_sha256": fingerprint})
    seconds.update({f"solve.{k}": v for k, v in solution.stats.get("seconds", {}).items()})
    t_write = time.perf_counter()
    tables = {**result_tables(problem, solution, stale, loaded.personal),
              **ledger_tables(problem, solution, ledger_state)}
    sheets: dict[str, Table] = {**tables, "kpis": (["kpi", "value"], flat_kpis(dict(sorted(solution.kpis.items()))))}
    to_db = is_database_url(out_root)
    workbook = sheets if workbook_cells(sheets) <= WORKBOOK_MAX_CELLS else None
    if workbook is None and not to_db:  # (CSV only: a district's workbook would take too long to write)
        note = (f"run.xlsx was not written: the tables have {workbook_cells(sheets):,} cells, more than the "
                f"{WORKBOOK_MAX_CELLS:,} a workbook is written for; the CSV files hold the same tables")
        log.warning("%s", note)
        solution = solution.model_copy(update={"warnings": (*solution.warnings, note)})
    t = time.perf_counter()
    page = _report(RunInputs(problem, solution, solved.arr, (solved.v, solved.d), personal_columns(loaded.personal)),
                   report or ReportOptions())
    seconds["report"] = round(time.perf_counter() - t, 4)
    files = loaded.files
    for name, info in files.items():
        log.debug("input %s: %s", name, ", ".join(f"{k} {str(v)[:12]}" for k, v in info.items()))
    manifest: dict[str, Any] = {
        "matcher_run": 1,
        "started_utc": started_utc.isoformat(timespec="seconds"),
        "command": [redact(str(arg)) for arg in command] if command is not None else None,
        "input": {"path": loaded.where, "files": files, "problem_sha256": fingerprint},
        "options_file": {"path": str(Path(options_file).resolve()), "sha256": _sha256(Path(options_file))}
        if options_file else None,
        "previous": {"path": shown_source(previous), "assignments": len(problem.previous) + len(stale),
                     "withdrawn": len(stale)} if previous is not None else None,
        "options": options.model_dump(mode="json"),
        "ledger": ledger_note,
        "versions": software_versions(),
        "result": {
            "status": solution.status.value,
            "coverage": solution.coverage,
            "coverage_bound": solution.coverage_bound,
            "gap": solution.gap,
            "secondary": solution.secondary,
            "assignments": len(solution.assignments),
            "unmet_headcount": sum(u.missing for u in solution.unmet),
            "fill_rate": _fill_rate(len(solution.assignments), sum(u.missing for u in solution.unmet)),
            "reproducible": bool(solution.stats.get("reproducible", True)),
            "why_not_reproducible": solution.stats.get("why_not_reproducible"),
            "engine": solution.stats.get("engine"),
        },
        "warnings": list(solution.warnings),
    }

    def fill(folder: Path) -> None:
        if cancel is not None and cancel.is_set():
            raise RunCancelled("the run was cancelled; nothing was published")
        outputs: dict[str, str] = {}
        for name, (header, rows) in tables.items():
            write_csv(folder / f"{name}.csv", header, rows)
        write_text_synced(folder / "kpis.json", json.dumps(solution.kpis, indent=1, sort_keys=True) + "\n")
        if workbook is not None:
            write_bytes_synced(folder / "run.xlsx", workbook_bytes(workbook))
        write_text_synced(folder / "solution.json", solution.model_dump_json(indent=1) + "\n")
        if page is not None:
            write_report(folder / REPORT_NAME, page)
        for p in sorted(folder.iterdir()):
            outputs[p.name] = _sha256(p)
            log.debug("wrote %s (%d bytes, sha256 %s)", p.name, p.stat().st_size, outputs[p.name][:12])
        seconds["write"] = round(time.perf_counter() - t_write, 4)
        seconds["total"] = round(time.perf_counter() - started, 4)
        manifest.update(seconds=seconds, outputs=outputs,
                        finished_utc=datetime.now(UTC).isoformat(timespec="seconds"))
        write_text_synced(folder / "manifest.json", json.dumps(manifest, indent=1) + "\n")
        if cancel is not None and cancel.is_set():  # (the last moment to decide: next comes the commit)
            raise RunCancelled("the run was cancelled; nothing was published")

    def not_cancelled() -> None:
        if cancel is not None and cancel.is_set():
            raise RunCancelled("the run was cancelled; nothing was published")

    if to_db:  # the same tables, in one transaction keyed by run id
        not_cancelled()
        seconds["total"] = round(time.perf_counter() - started, 4)
        manifest.update(seconds=seconds, finished_utc=datetime.now(UTC).isoformat(timespec="seconds"))
        run_id = publish_run_db(str(out_root), f"run-{utc_stamp(started_utc)}", tables, manifest,
                                solution_json=solution.model_dump_json(), kpis=solution.kpis,
                                before_commit=not_cancelled)
        where = f"{redact(str(out_root))}#{run_id}"
        manifest["path"] = where
        log.info("published %s", where)
        return RunResult(where, solution, manifest)
    try:
        path = publish_dir(out_root, f"run-{utc_stamp(started_utc)}", fill, latest="latest")
    except OSError as exc:
        raise ProblemError([f"{out_root}: cannot write the run: {exc.strerror or exc}"]) from None
    manifest["path"] = str(path)
    log.info("published %s", path)
    return RunResult(path, solution, manifest)
