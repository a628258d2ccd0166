"""The ``matcher`` command.

Exit codes: 0 solved (also when some demand is unmet), 2 bad input (a one-line
message naming file, record and field), 3 pinned assignments break a hard rule,
1 an internal error (a bug: please report it with the input).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Sequence

from matcher.errors import PinnedError, ProblemError

EXIT_OK, EXIT_INTERNAL, EXIT_BAD_INPUT, EXIT_PINNED = 0, 1, 2, 3
WRITE_SHARE = 0.05
"""Share of the time limit kept back for writing the solution."""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="matcher", description="Volunteer-task matching optimiser.")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("solve", help="solve a SPEC JSON problem")
    s.add_argument("problem", help="problem JSON file")
    s.add_argument("--out", required=True, help="where to write the solution JSON (atomically)")
    s.add_argument("--options", help="SolveOptions as JSON or TOML (command-line flags override it)")
    s.add_argument("--time-limit", type=float, dest="time_limit_s",
                   help="seconds for the whole command: loading, solving and writing (default: the options' limit)")
    s.add_argument("--seed", type=int)
    s.add_argument("--threads", type=int)
    s.add_argument("-q", "--quiet", action="store_true", help="no progress lines on stderr")
    sc = sub.add_parser("schema", help="print the JSON Schema of a model")
    sc.add_argument("model", nargs="?", default="problem", choices=["problem", "solution", "options"])
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    started = time.perf_counter()
    args = _parser().parse_args(argv)
    args.started = started
    try:
        if args.command == "schema":
            return _schema(args.model)
        return _solve(args)
    except PinnedError as exc:
        print(f"matcher: pinned assignments break a hard rule: {exc}", file=sys.stderr)
        return EXIT_PINNED
    except ProblemError as exc:
        print(f"matcher: bad input: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT


def _schema(name: str) -> int:
    from pydantic import BaseModel

    from matcher.model import Problem, Solution, SolveOptions

    models: dict[str, type[BaseModel]] = {"problem": Problem, "solution": Solution, "options": SolveOptions}
    model = models[name]
    print(json.dumps(model.model_json_schema(), indent=1))
    return EXIT_OK


def _solve(args: argparse.Namespace) -> int:
    root = logging.getLogger("matcher")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("matcher: %(message)s"))
    if not args.quiet:
        root.addHandler(handler)
        root.setLevel(logging.INFO)
    try:
        return _solve_logged(args)
    finally:
        root.removeHandler(handler)


def _solve_logged(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from matcher.io import load_problem, write_json_atomic
    from matcher.model import SolveOptions, format_validation_error
    from matcher.solve import solve

    problem = load_problem(args.problem)
    base = SolveOptions.from_file(args.options) if args.options else (problem.options or SolveOptions())
    flags = {k: getattr(args, k) for k in ("time_limit_s", "seed", "threads") if getattr(args, k) is not None}
    try:
        options = SolveOptions.model_validate({**base.model_dump(), **flags})
    except ValidationError as exc:
        raise ProblemError(format_validation_error(exc, flags, source="command line")) from None
    # the limit covers the whole command: the solver's wall deadline counts from the start and
    # keeps a reserve for writing (its deterministic budgets still follow the limit itself)
    solution = solve(problem, options, deadline=args.started + options.time_limit_s * (1 - WRITE_SHARE))
    write_json_atomic(args.out, solution)
    unmet = sum(u.missing for u in solution.unmet)
    print(
        f"matcher: {solution.status.value}: coverage {solution.coverage:g} of bound {solution.coverage_bound:g}, "
        f"{len(solution.assignments)} assignments, {unmet} seats unmet, {solution.runtime_s:.2f} s -> {args.out}",
        file=sys.stderr,
    )
    return EXIT_OK


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":
    run()
