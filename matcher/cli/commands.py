"""The commands of the ``matcher`` command line, one function each; each returns its exit code."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path

from pydantic import BaseModel, ValidationError

from matcher.cli.ledger import run_ledger
from matcher.cli.progress import cli_logging
from matcher.dispatch import DemandExplanation, VolunteerExplanation, explain_demand, explain_volunteer
from matcher.engine import check_plan
from matcher.engine import solve as solve_problem
from matcher.engine.beside import Beside
from matcher.errors import ProblemError
from matcher.generate import PRESETS, generate_tables, generated_settings
from matcher.io import (
    follow_latest,
    generated_files,
    is_database_url,
    load_input,
    read_json,
    read_run_solution,
    redact,
    table_rows,
    write_json_atomic,
    write_tables,
)
from matcher.model import Problem, Solution, SolveOptions
from matcher.workflows.batch import WRITE_SHARE, resolve_options
from matcher.workflows.batch import run_batch as publish_run
from matcher.workflows.compare import format_comparison, publish_scenario, run_scenario
from matcher.workflows.report import ReportOptions
from matcher.workflows.scenario import load_scenario

__all__ = ["EXIT_BAD_INPUT", "EXIT_BUSY", "EXIT_INTERNAL", "EXIT_OK", "EXIT_PINNED", "EXIT_TOO_LARGE", "SOLVE_FLAGS",
           "explain", "generate", "overrides", "run_batch", "scenario", "schema", "solve"]

EXIT_OK, EXIT_INTERNAL, EXIT_BAD_INPUT, EXIT_PINNED, EXIT_TOO_LARGE, EXIT_BUSY = 0, 1, 2, 3, 4, 5

SOLVE_FLAGS = ("time_limit_s", "seed", "threads")
"""SolveOptions fields that ``solve`` and ``run`` take as flags (on top of ``--options``)."""


def overrides(args: argparse.Namespace) -> dict[str, object]:
    """The :data:`SOLVE_FLAGS` given on the command line (None where not given)."""
    return {k: getattr(args, k) for k in SOLVE_FLAGS}


def schema(name: str) -> int:
    """``matcher schema``: print the JSON Schema of a model."""
    models: dict[str, type[BaseModel]] = {"problem": Problem, "solution": Solution, "options": SolveOptions}
    model = models[name]
    print(json.dumps(model.model_json_schema(), indent=1))
    return EXIT_OK


def generate(args: argparse.Namespace) -> int:
    """``matcher generate``: write a preset's tables and problem."""
    if args.preset not in PRESETS:
        raise ProblemError([f"--preset: unknown preset {args.preset!r} (known: {', '.join(PRESETS)})"])
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    bad = [f for f in formats if f not in ("csv", "parquet", "json")]
    if bad or not formats:
        raise ProblemError([f"--formats: unknown format {bad[0] if bad else ''!r} (csv, parquet, json)"])
    if not args.scale > 0:
        raise ProblemError(["--scale: must be > 0"])
    if args.seed < 0:
        raise ProblemError(["--seed: must be >= 0"])
    out = Path(args.out)
    earlier = generated_files(out)  # (refused before the work when --out holds other files)
    tables = generate_tables(args.preset, args.seed, scale=args.scale, holiday=args.holiday or None,
                             world=args.world)
    settings = generated_settings(args.world)
    try:
        for p in earlier:  # an earlier place's tables must not stay beside the new one's
            p.unlink(missing_ok=True)
        for fmt in ("csv", "parquet"):
            if fmt in formats:
                write_tables(tables, out / fmt, fmt=fmt, settings=settings)
        if "json" in formats:
            data = {name: table_rows(name, cols) for name, cols in tables.items()} | settings
            write_json_atomic(out / "problem.json", data)
    except OSError as exc:
        raise ProblemError([f"--out {out}: cannot write: {exc.strerror or exc}"]) from None
    nv, nd = len(tables["volunteers"]["id"]), len(tables["demands"]["id"])
    world = f", world {args.world}" if args.world != "v1" else ""
    replaced = f"; the {len(earlier)} files of an earlier place removed" if earlier else ""
    print(f"matcher: {args.preset} (seed {args.seed}{world}): {nv} volunteers, {nd} demands -> {out} "
          f"({', '.join(formats)}){replaced}", file=sys.stderr)
    return EXIT_OK


def solve(args: argparse.Namespace) -> int:
    """``matcher solve``: one solution JSON, written atomically."""
    with cli_logging(sys.stderr, quiet=args.quiet, verbose=args.verbose, started=args.started,
                     budget_s=args.time_limit_s):
        return _solve_logged(args)


def explain(args: argparse.Namespace) -> int:
    """``matcher explain``: why a demand's seats are (not) filled, or a volunteer's score parts."""
    problem = load_input(args.input)
    if is_database_url(args.solution):  # the latest run stored in a database
        path, data = Path(redact(args.solution)), read_run_solution(args.solution)
    else:
        path = follow_latest(args.solution)  # RUNS/latest: a link, or a text file where links are not allowed
        path = path / "solution.json" if path.is_dir() else path
        data = read_json(path)
    try:
        solution = Solution.model_validate(data)
    except ValidationError as exc:
        raise ProblemError([f"{path}: not a matcher solution ({exc.error_count()} problems)"]) from None
    fits_input(problem, solution, args.input, path)
    result: DemandExplanation | VolunteerExplanation = explain_demand(problem, solution, args.demand) \
        if args.demand else explain_volunteer(problem, solution, args.volunteer)
    print(result.model_dump_json(indent=1) if args.json else result.text())
    return EXIT_OK


def fits_input(problem: Problem, solution: Solution, input_path: str, path: Path) -> None:
    """Refuse a solution made for another input: by the fingerprint it records, else by checking its plan.

    Raises
    ------
    ProblemError
        When the recorded fingerprint differs from ``problem``'s, or (for a solution that records none)
        when its assignments name unknown records or break a hard rule.

    """
    if solution.problem_sha256 is not None:
        if solution.problem_sha256 != problem.fingerprint():
            raise ProblemError([f"{path}: this run was made for another input than {input_path} (input fingerprint "
                                f"{solution.problem_sha256[:12]}, this input's {problem.fingerprint()[:12]}); "
                                "give the problem the run was made for"])
        return
    broken = check_plan(problem, solution.assignments)
    if broken:
        raise ProblemError([f"{path}: this run does not fit {input_path}: {line}" for line in broken[:20]])
    logging.getLogger("matcher.cli").warning("%s records no input fingerprint (an older run): its assignments fit "
                                             "%s, but it may have been made for another version of it", path,
                                             input_path)


def scenario(args: argparse.Namespace) -> int:
    """``matcher scenario run|check``: solve and compare a scenario's cases, or only check the file."""
    with cli_logging(sys.stderr, quiet=args.quiet, verbose=args.verbose, started=args.started, budget_s=None):
        scenario = load_scenario(args.file, data_root=args.data_root,
                                 time_limit_s=getattr(args, "time_limit_s", None))
        cases = 1 + len(scenario.variants)
        if args.scenario_command == "check":
            for variant, problem, _opts in scenario.variants:
                print(f"{variant.name}: {len(problem.volunteers)} volunteers, {len(problem.demands)} demands")
            print(f"matcher: {args.file}: valid; base and {cases - 1} variant(s) built", file=sys.stderr)
            return EXIT_OK
        _check_out(args.out, folder=True)
        results = run_scenario(scenario, cancel=args.cancel)
        try:
            path = publish_scenario(scenario, results, args.out, charts=not args.no_charts,
                                    report=ReportOptions(lang=args.lang))
        except OSError as exc:
            raise ProblemError([f"--out {args.out}: cannot write: {exc.strerror or exc}"]) from None
    print(format_comparison(results, f"{scenario.name}: base and {cases - 1} variant(s)"))
    print(f"matcher: tables and charts in {path}", file=sys.stderr)
    print(path)
    return EXIT_OK


def run_batch(args: argparse.Namespace) -> int:
    """``matcher run``: the nightly batch run, published as a new run folder."""
    if not is_database_url(args.out):
        _check_out(args.out, folder=True)
    resolve_options(None, args.options, overrides(args))  # (a bad flag or options file, named before loading)
    with cli_logging(sys.stderr, quiet=args.quiet, verbose=args.verbose, started=args.started,
                     budget_s=args.time_limit_s):
        result = publish_run(args.input, args.out, options_file=args.options, overrides=overrides(args),
                             previous=args.previous, started=args.started, command=["matcher", *sys.argv[1:]],
                             cancel=args.cancel, report=ReportOptions(lang=args.lang, personal=args.report_personal),
                             ledger=run_ledger(args))
    res = result.manifest["result"]
    warned = len(result.manifest["warnings"])
    note = f", {warned} warning(s) in manifest.json" if warned else ""
    print(f"matcher: {res['status']}: fill rate {_percent(res['assignments'], res['unmet_headcount'])}, "
          f"coverage {res['coverage']:g} of bound {res['coverage_bound']:g}, "
          f"{res['assignments']} assignments, {res['unmet_headcount']} seats unmet, "
          f"{result.manifest['seconds']['total']:.2f} s{note}", file=sys.stderr)
    print(result.path)
    return EXIT_OK


def _percent(filled: int, unmet: int) -> str:
    """Seats filled of seats ordered (each assignment fills one seat; every missing seat is unmet), as ``87.5%``."""
    ordered = filled + unmet
    return f"{100 * filled / ordered:.1f}%" if ordered else "100.0% (no seats ordered)"


def _check_out(out: str | Path, *, folder: bool) -> None:
    """Refuse, before any work, an ``--out`` that cannot be written (a solve used to fail only after solving).

    ``folder``: ``out`` is a folder to write in (``matcher run``, ``scenario run``), else a file. Raises
    :class:`ProblemError` when it is of the other kind, or when its nearest existing parent is a file or is not
    writable.
    """
    path = Path(out)
    if path.exists() and path.is_dir() != folder:
        raise ProblemError([f"--out {out}: cannot write: it is a {'file' if folder else 'folder'}, not a "
                            f"{'folder' if folder else 'file'}"])
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise ProblemError([f"--out {out}: cannot write: {parent} is a file, not a folder"])
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ProblemError([f"--out {out}: cannot write: no permission to write in {parent}"])


def _solve_logged(args: argparse.Namespace) -> int:
    _check_out(args.out, folder=False)
    resolve_options(None, args.options, overrides(args))  # (a bad flag or options file, named before loading)
    problem = load_input(args.problem)
    logging.getLogger("matcher.cli").info(
        "loaded %s: %d volunteers, %d demands in %.2f s", args.problem, len(problem.volunteers),
        len(problem.demands), time.perf_counter() - args.started)
    options = resolve_options(problem, args.options, overrides(args))
    # the limit covers the whole command: the solver's wall deadline counts from the start and
    # keeps a reserve for writing (its deterministic budgets still follow the limit itself)
    fingerprint = Beside(problem.fingerprint, "fingerprint")  # (the JSON it hashes is written beside the solve)
    solution = solve_problem(problem, options, deadline=args.started + options.time_limit_s * (1 - WRITE_SHARE),
                             cancel=args.cancel)
    solution = solution.model_copy(update={"problem_sha256": fingerprint.result()})
    try:
        write_json_atomic(args.out, solution)
    except OSError as exc:
        raise ProblemError([f"--out {args.out}: cannot write: {exc.strerror or exc}"]) from None
    unmet = sum(u.missing for u in solution.unmet)
    print(
        f"matcher: {solution.status.value}: fill rate {_percent(len(solution.assignments), unmet)}, "
        f"coverage {solution.coverage:g} of bound {solution.coverage_bound:g}, "
        f"{len(solution.assignments)} assignments, {unmet} seats unmet, solved in {solution.runtime_s:.2f} s, "
        f"{time.perf_counter() - args.started:.2f} s since the command started (the time limit's clock) -> {args.out}",
        file=sys.stderr,
    )
    return EXIT_OK
