"""The ``matcher`` command.

Commands: ``solve`` (one solution JSON), ``run`` (the nightly batch run: a
published folder of tables and a manifest, see :mod:`matcher.batch`),
``scenario run|check`` (what-if files, see :mod:`matcher.scenario`),
``explain`` (why a demand is unmet, see :mod:`matcher.explain`),
``generate`` (synthetic places), ``schema``.

Exit codes: 0 solved (also when some demand is unmet), 2 bad input (a message
naming file, record and field; nothing is written), 3 pinned assignments break
a hard rule, 4 too large for this machine (the memory estimate is in the
message; nothing is written), 1 an internal error (a bug: please report it
with the input).
Killed or failed runs publish nothing.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Sequence

from matcher.errors import PinnedError, ProblemError, ResourceLimitError

EXIT_OK, EXIT_INTERNAL, EXIT_BAD_INPUT, EXIT_PINNED, EXIT_TOO_LARGE = 0, 1, 2, 3, 4


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="matcher", description="Volunteer-task matching optimiser.")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("solve", help="solve a problem: a SPEC JSON file or a folder of CSV/Parquet tables")
    s.add_argument("problem", help="problem JSON file, or a folder of tables (see matcher.tables)")
    s.add_argument("--out", required=True, help="where to write the solution JSON (atomically)")
    _solve_flags(s, "seconds for the whole command: loading, solving and writing (default: the options' limit)")
    _verbosity(s)
    r = sub.add_parser("run", help="the nightly batch run: a new folder of assignments, unmet, KPIs and a manifest")
    r.add_argument("input", help="a folder of tables (CSV/Parquet) or a SPEC JSON problem")
    r.add_argument("--out", required=True,
                   help="folder holding the runs: the run goes to OUT/run-<UTC time>, OUT/latest links to it")
    r.add_argument("--previous", help="the previous plan to keep where possible: a run folder (e.g. OUT/latest) "
                   "or an assignments table")
    _solve_flags(r, "seconds for the whole run: loading, solving and writing")
    _verbosity(r)
    w = sub.add_parser("scenario", help="what-if scenarios: solve a base and its variants and compare them")
    wsub = w.add_subparsers(dest="scenario_command", required=True)
    wr = wsub.add_parser("run", help="solve the base and every variant; print the comparison, write tables and charts")
    wr.add_argument("file", help="a scenario YAML file (see scenarios/)")
    wr.add_argument("--out", default="scenario-results",
                    help="folder for the results: OUT/<file stem>-<UTC time>, linked as OUT/<file stem>-latest "
                         "(default scenario-results)")
    wr.add_argument("--time-limit", type=float, dest="time_limit_s", help="seconds per solve (overrides the file)")
    wr.add_argument("--data-root", help="folder a base 'data:' path must stay inside (default: the file's folder)")
    wr.add_argument("--no-charts", action="store_true", help="tables only")
    _verbosity(wr)
    wc = wsub.add_parser("check", help="check a scenario file and build its variants without solving")
    wc.add_argument("file")
    wc.add_argument("--data-root")
    _verbosity(wc)
    x = sub.add_parser("explain", help="why a demand's seats are (not) filled, or a volunteer's score parts")
    x.add_argument("input", help="the problem: a folder of tables or a SPEC JSON file")
    x.add_argument("solution", help="its solution: a solution JSON, or a run folder (e.g. RUNS/latest)")
    who = x.add_mutually_exclusive_group(required=True)
    who.add_argument("--demand", help="a demand id")
    who.add_argument("--volunteer", help="a volunteer id")
    x.add_argument("--json", action="store_true", help="print the explanation as JSON")
    g = sub.add_parser("generate", help="write a realistic synthetic place (tables and a SPEC JSON problem)")
    g.add_argument("--preset", default="district", help="community, street, district or city (default district)")
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--scale", type=float, default=1.0, help="multiply volunteers, teams and demands (default 1)")
    g.add_argument("--holiday", action="store_true", help="a school-holiday week (students free on weekdays)")
    g.add_argument("--out", required=True, help="folder to write: csv/, parquet/ and problem.json")
    g.add_argument("--formats", default="csv,parquet,json", help="which to write (default csv,parquet,json)")
    sc = sub.add_parser("schema", help="print the JSON Schema of a model")
    sc.add_argument("model", nargs="?", default="problem", choices=["problem", "solution", "options"])
    return p


_SOLVE_FLAGS = ("time_limit_s", "seed", "threads")
"""SolveOptions fields that ``solve`` and ``run`` take as flags (on top of ``--options``)."""


def _solve_flags(p: argparse.ArgumentParser, limit_help: str) -> None:
    p.add_argument("--options", help="SolveOptions as TOML, YAML or JSON (command-line flags override it)")
    p.add_argument("--time-limit", type=float, dest="time_limit_s", help=limit_help)
    p.add_argument("--seed", type=int)
    p.add_argument("--threads", type=int)


def _overrides(args: argparse.Namespace) -> dict[str, object]:
    """The :data:`_SOLVE_FLAGS` given on the command line (None where not given)."""
    return {k: getattr(args, k) for k in _SOLVE_FLAGS}


def _verbosity(p: argparse.ArgumentParser) -> None:
    g = p.add_mutually_exclusive_group()
    g.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only")
    g.add_argument("-v", "--verbose", action="store_true", help="every step, as plain lines")


def main(argv: Sequence[str] | None = None, *, started: float | None = None) -> int:
    """Run the command line; returns the exit code.

    ``started`` is the ``time.perf_counter()`` value the time limit counts from
    (default: now; the console script passes its process start).
    """
    started = time.perf_counter() if started is None else started
    args = _parser().parse_args(argv)
    args.started = started
    try:
        if args.command == "schema":
            return _schema(args.model)
        if args.command == "generate":
            return _generate(args)
        if args.command == "run":
            return _run(args)
        if args.command == "scenario":
            return _scenario(args)
        if args.command == "explain":
            return _explain(args)
        return _solve(args)
    except PinnedError as exc:
        _print_errors("pinned assignments break a hard rule", exc)
        return EXIT_PINNED
    except ProblemError as exc:
        _print_errors("bad input", exc)
        return EXIT_BAD_INPUT
    except ResourceLimitError as exc:
        print(f"matcher: too large for this machine: {exc}", file=sys.stderr)
        return EXIT_TOO_LARGE


MAX_SHOWN_ERRORS = 50
"""The command line prints at most this many problems of one input (it says how many there were)."""


def _print_errors(kind: str, exc: ProblemError) -> None:
    """One line per problem found, up to :data:`MAX_SHOWN_ERRORS`."""
    errors = exc.errors or [str(exc)]
    if len(errors) == 1:
        print(f"matcher: {kind}: {errors[0]}", file=sys.stderr)
        return
    more = f", the first {MAX_SHOWN_ERRORS} shown" if len(errors) > MAX_SHOWN_ERRORS else ""
    print(f"matcher: {kind}: {len(errors)} problems{more}:", file=sys.stderr)
    for line in errors[:MAX_SHOWN_ERRORS]:
        print(f"  {line}", file=sys.stderr)


def _process_age_s() -> float:
    """Seconds since this process started (Linux; 0 elsewhere), so that ``--time-limit`` counts start-up too."""
    try:
        with open("/proc/self/stat", encoding="ascii") as fh:
            start_ticks = int(fh.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime", encoding="ascii") as fh:
            uptime = float(fh.read().split()[0])
        return max(0.0, uptime - start_ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return 0.0


START_SLACK_S = 2.0
"""More than this between process start and importing matcher means the process did other work first."""


def _command_started() -> float:
    """The ``time.perf_counter()`` value the command's time limit counts from.

    The process start, so that interpreter start-up counts too, unless the
    process ran something else before becoming ``matcher`` (``sh -c "pip
    install ... && matcher run ..."`` may exec into it): then the moment
    matcher began importing.
    """
    from matcher import _IMPORT_STARTED

    process_start = time.perf_counter() - _process_age_s()
    return process_start if _IMPORT_STARTED - process_start < START_SLACK_S else _IMPORT_STARTED


def _schema(name: str) -> int:
    from pydantic import BaseModel

    from matcher.model import Problem, Solution, SolveOptions

    models: dict[str, type[BaseModel]] = {"problem": Problem, "solution": Solution, "options": SolveOptions}
    model = models[name]
    print(json.dumps(model.model_json_schema(), indent=1))
    return EXIT_OK


def _generate(args: argparse.Namespace) -> int:
    from pathlib import Path

    from matcher.generate import PRESETS, generate_tables
    from matcher.io import write_json_atomic
    from matcher.tables import table_rows, write_tables

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
    tables = generate_tables(args.preset, args.seed, scale=args.scale, holiday=args.holiday or None)
    out = Path(args.out)
    settings = {"taxonomy": "builtin"}
    try:
        for fmt in ("csv", "parquet"):
            if fmt in formats:
                write_tables(tables, out / fmt, fmt=fmt, settings=settings)
        if "json" in formats:
            data = {name: table_rows(name, cols) for name, cols in tables.items()} | settings
            write_json_atomic(out / "problem.json", data)
    except OSError as exc:
        raise ProblemError([f"--out {out}: cannot write: {exc.strerror or exc}"]) from None
    nv, nd = len(tables["volunteers"]["id"]), len(tables["demands"]["id"])
    print(f"matcher: {args.preset} (seed {args.seed}): {nv} volunteers, {nd} demands -> {out} ({', '.join(formats)})",
          file=sys.stderr)
    return EXIT_OK


def _solve(args: argparse.Namespace) -> int:
    from matcher.progress import cli_logging

    with cli_logging(sys.stderr, quiet=args.quiet, verbose=args.verbose, started=args.started,
                     budget_s=args.time_limit_s):
        return _solve_logged(args)


def _explain(args: argparse.Namespace) -> int:
    from pathlib import Path

    from pydantic import ValidationError

    from matcher.batch import load_input
    from matcher.explain import DemandExplanation, VolunteerExplanation, explain_demand, explain_volunteer
    from matcher.io import read_json
    from matcher.model import Solution

    problem = load_input(args.input)
    path = Path(args.solution)
    path = path / "solution.json" if path.is_dir() else path
    try:
        solution = Solution.model_validate(read_json(path))
    except ValidationError as exc:
        raise ProblemError([f"{path}: not a matcher solution ({exc.error_count()} problems)"]) from None
    result: DemandExplanation | VolunteerExplanation = explain_demand(problem, solution, args.demand) \
        if args.demand else explain_volunteer(problem, solution, args.volunteer)
    print(result.model_dump_json(indent=1) if args.json else result.text())
    return EXIT_OK


def _scenario(args: argparse.Namespace) -> int:
    from matcher.progress import cli_logging
    from matcher.scenario import load_scenario

    with cli_logging(sys.stderr, quiet=args.quiet, verbose=args.verbose, started=args.started, budget_s=None):
        scenario = load_scenario(args.file, data_root=args.data_root,
                                 time_limit_s=getattr(args, "time_limit_s", None))
        cases = 1 + len(scenario.variants)
        if args.scenario_command == "check":
            for variant, problem, _opts in scenario.variants:
                print(f"{variant.name}: {len(problem.volunteers)} volunteers, {len(problem.demands)} demands")
            print(f"matcher: {args.file}: valid; base and {cases - 1} variant(s) built", file=sys.stderr)
            return EXIT_OK
        from matcher.compare import format_comparison, publish_scenario, run_scenario

        results = run_scenario(scenario)
        try:
            path = publish_scenario(scenario, results, args.out, charts=not args.no_charts)
        except OSError as exc:
            raise ProblemError([f"--out {args.out}: cannot write: {exc.strerror or exc}"]) from None
    print(format_comparison(results, f"{scenario.name}: base and {cases - 1} variant(s)"))
    print(f"matcher: tables and charts in {path}", file=sys.stderr)
    print(path)
    return EXIT_OK


def _run(args: argparse.Namespace) -> int:
    from matcher.batch import run_batch
    from matcher.progress import cli_logging

    overrides = _overrides(args)
    with cli_logging(sys.stderr, quiet=args.quiet, verbose=args.verbose, started=args.started,
                     budget_s=args.time_limit_s):
        result = run_batch(args.input, args.out, options_file=args.options, overrides=overrides,
                           previous=args.previous, started=args.started, command=["matcher", *sys.argv[1:]])
    res = result.manifest["result"]
    print(f"matcher: {res['status']}: coverage {res['coverage']:g} of bound {res['coverage_bound']:g}, "
          f"{res['assignments']} assignments, {res['unmet_headcount']} seats unmet, "
          f"{result.manifest['seconds']['total']:.2f} s", file=sys.stderr)
    print(result.path)
    return EXIT_OK


def _solve_logged(args: argparse.Namespace) -> int:
    from matcher.batch import WRITE_SHARE, load_input, resolve_options
    from matcher.io import write_json_atomic
    from matcher.solve import solve

    problem = load_input(args.problem)
    logging.getLogger("matcher.cli").info(
        "loaded %s: %d volunteers, %d demands in %.2f s", args.problem, len(problem.volunteers),
        len(problem.demands), time.perf_counter() - args.started)
    options = resolve_options(problem, args.options, _overrides(args))
    # the limit covers the whole command: the solver's wall deadline counts from the start and
    # keeps a reserve for writing (its deterministic budgets still follow the limit itself)
    solution = solve(problem, options, deadline=args.started + options.time_limit_s * (1 - WRITE_SHARE))
    try:
        write_json_atomic(args.out, solution)
    except OSError as exc:
        raise ProblemError([f"--out {args.out}: cannot write: {exc.strerror or exc}"]) from None
    unmet = sum(u.missing for u in solution.unmet)
    print(
        f"matcher: {solution.status.value}: coverage {solution.coverage:g} of bound {solution.coverage_bound:g}, "
        f"{len(solution.assignments)} assignments, {unmet} seats unmet, {solution.runtime_s:.2f} s -> {args.out}",
        file=sys.stderr,
    )
    return EXIT_OK


def run() -> None:
    """Console-script entry point.

    Leaves through ``os._exit`` once output is flushed: the solution is already
    on disk (fsynced), and tearing down a district's millions of objects would
    only add about half a second to the run.
    """
    try:
        code = main(started=_command_started())
        sys.stdout.flush()
    except BrokenPipeError:  # the reader went away (``matcher explain ... | head``): not an error of ours
        code = EXIT_OK
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    run()
