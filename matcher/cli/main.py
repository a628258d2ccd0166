"""The ``matcher`` command.

Commands: ``solve`` (one solution JSON), ``run`` (the nightly batch run: a
published folder of tables and a manifest, see :mod:`matcher.workflows.batch`),
``scenario run|check`` (what-if files, see :mod:`matcher.workflows.scenario`),
``explain`` (why a demand is unmet, see :mod:`matcher.dispatch.explain`),
``rate`` (services and ratings into the ledger) and ``ledger`` (its settings, see
:mod:`matcher.cli.ledger`), ``generate`` (synthetic places), ``schema``.

Exit codes: 0 solved (also when some demand is unmet), 2 bad input (a message
naming file, record and field; nothing is written), 3 pinned assignments break
a hard rule, 4 too large for this machine (the memory estimate is in the
message; nothing is written), 5 another run holds the output's lock (nothing
is done), 130 / 143 interrupted by SIGINT (Ctrl-C) /
SIGTERM (nothing is published; see :mod:`matcher.cli.signals`), 1 an internal
error (a bug: please report it with the input).
Killed or failed runs publish nothing.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Sequence

from matcher.cli import commands
from matcher.cli import ledger as ledger_commands
from matcher.cli.clock import command_started
from matcher.cli.signals import Interrupted, interrupted_in, stop_on_signals
from matcher.engine.beside import fork_beside
from matcher.errors import OutputBusyError, PinnedError, ProblemError, ResourceLimitError
from matcher.io.gcpause import freeze_loaded

__all__ = ["main", "run"]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="matcher", description="Volunteer-task matching optimiser.")
    p.add_argument("--version", action=_VersionAction, help="print the version and exit")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("solve", help="solve a problem: a SPEC JSON file or a folder of CSV/Parquet tables")
    s.add_argument("problem", help="problem JSON file, or a folder of tables (see matcher.tables)")
    s.add_argument("--out", required=True, help="where to write the solution JSON (atomically)")
    _solve_flags(s, "seconds for the whole command: loading, solving and writing (default: the options' limit)")
    _verbosity(s)
    r = sub.add_parser("run", help="the nightly batch run: a new folder of assignments, unmet, KPIs and a manifest")
    r.add_argument("input", help="a folder of tables (CSV/Parquet/Excel), a SPEC JSON problem, or a database URL "
                   "(sqlite:///FILE.db, postgresql://USER@HOST/DB)")
    r.add_argument("--out", required=True,
                   help="folder holding the runs: the run goes to OUT/run-<UTC time>, OUT/latest links to it; or a "
                        "database URL: the run's tables are written in one transaction, keyed by run id")
    r.add_argument("--previous", help="the previous plan to keep where possible: a run folder (e.g. OUT/latest), "
                   "an assignments table, or a database URL (its latest run)")
    _solve_flags(r, "seconds for the whole run: loading, solving and writing")
    _report_flags(r)
    r.add_argument("--report-personal", action="store_true",
                   help="put personal columns (names, phones) in report.html; by default they are left out")
    ledger_commands.add_run_flags(r)
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
    wr.add_argument("--no-charts", action="store_true", help="no PNG charts (report.html is still written)")
    _report_flags(wr)
    _verbosity(wr)
    wc = wsub.add_parser("check", help="check a scenario file and build its variants without solving")
    wc.add_argument("file")
    wc.add_argument("--data-root")
    _verbosity(wc)
    x = sub.add_parser("explain", help="why a demand's seats are (not) filled, or a volunteer's score parts")
    x.add_argument("input", help="the problem: a folder of tables or a SPEC JSON file")
    x.add_argument("solution", help="its solution: a solution JSON, a run folder (e.g. RUNS/latest), or a database "
                   "URL (its latest run)")
    who = x.add_mutually_exclusive_group(required=True)
    who.add_argument("--demand", help="a demand id")
    who.add_argument("--volunteer", help="a volunteer id")
    x.add_argument("--json", action="store_true", help="print the explanation as JSON")
    g = sub.add_parser("generate", help="write a realistic synthetic place (tables and a SPEC JSON problem)")
    g.add_argument("--preset", default="community",
                   help="community, street, district or city (default community: 1,000 volunteers)")
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--scale", type=float, default=1.0, help="multiply volunteers, teams and demands (default 1)")
    g.add_argument("--holiday", action="store_true", help="a school-holiday week (students free on weekdays)")
    g.add_argument("--world", default="v1", choices=["v1", "v2"],
                   help="v1 (default: SPEC v1's fields) or v2: travel times, walking and cycling speeds, the "
                   "15-minute circle, households' weekly series, event crews, past ratings, preferred categories")
    g.add_argument("--out", required=True, help="folder to write: csv/, parquet/ and problem.json")
    g.add_argument("--formats", default="csv,parquet,json", help="which to write (default csv,parquet,json)")
    ledger_commands.add_commands(sub)
    sc = sub.add_parser("schema", help="print the JSON Schema of a model")
    sc.add_argument("model", nargs="?", default="problem", choices=["problem", "solution", "options"])
    return p


class _VersionAction(argparse.Action):
    """argparse's ``version`` action, looking the version up only when asked for.

    The lookups (``importlib.metadata``) take about 0.01 s, which every command would otherwise pay.
    """

    def __init__(self, option_strings: Sequence[str], dest: str, help: str | None = None) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help=help)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: object,
                 option_string: str | None = None) -> None:
        print(_version())
        parser.exit()


def _version() -> str:
    """``matcher 0.1.0 (OR-Tools 9.15, Python 3.11.7)``."""
    from importlib import metadata

    def of(dist: str) -> str:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return "not installed"

    return f"matcher {of('matcher')} (OR-Tools {of('ortools')}, Python {platform.python_version()})"


def _solve_flags(p: argparse.ArgumentParser, limit_help: str) -> None:
    p.add_argument("--options", help="SolveOptions as TOML, YAML or JSON (command-line flags override it)")
    p.add_argument("--time-limit", type=float, dest="time_limit_s", help=limit_help)
    p.add_argument("--seed", type=int)
    p.add_argument("--threads", type=int)


def _report_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--lang", choices=["zh", "en"], default="zh",
                   help="language of report.html and the charts: zh (Chinese, the default) or en")


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
        with stop_on_signals() as cancel:
            args.cancel = cancel
            return _command(args)
    except Interrupted as exc:
        return _interrupted(exc)
    except PinnedError as exc:
        _print_errors("pinned assignments break a hard rule", exc)
        return commands.EXIT_PINNED
    except ProblemError as exc:
        _print_errors("bad input", exc)
        return commands.EXIT_BAD_INPUT
    except ResourceLimitError as exc:
        print(f"matcher: too large for this machine: {exc}", file=sys.stderr)
        return commands.EXIT_TOO_LARGE
    except OutputBusyError as exc:
        print(f"matcher: busy: {exc}", file=sys.stderr)
        return commands.EXIT_BUSY
    except Exception as exc:
        signal_exc = interrupted_in(exc)
        if signal_exc is None:
            raise
        return _interrupted(signal_exc)


def _interrupted(exc: Interrupted) -> int:
    print(f"matcher: interrupted by {exc}; nothing was published", file=sys.stderr)
    return exc.exit_code


def _command(args: argparse.Namespace) -> int:
    if args.command == "schema":
        return commands.schema(args.model)
    if args.command == "generate":
        return commands.generate(args)
    if args.command == "run":
        return commands.run_batch(args)
    if args.command == "scenario":
        return commands.scenario(args)
    if args.command == "explain":
        return commands.explain(args)
    if args.command in ledger_commands.COMMANDS:
        return ledger_commands.COMMANDS[args.command](args)
    return commands.solve(args)


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


def run() -> None:
    """Console-script entry point.

    Leaves through ``os._exit`` once output is flushed: the solution is already
    on disk (fsynced), and tearing down a district's millions of objects would
    only add about half a second to the run.

    The command owns its process, so the input's fingerprint is hashed in a forked child on the other core
    (:func:`~matcher.engine.beside.fork_beside`), and the loaded input is left out of the garbage collector's
    scans (:func:`~matcher.io.gcpause.freeze_loaded`).
    """
    fork_beside()
    freeze_loaded()
    try:
        code = main(started=command_started())
        sys.stdout.flush()
    except BrokenPipeError:  # the reader went away (``matcher explain ... | head``): not an error of ours
        code = commands.EXIT_OK
    sys.stderr.flush()
    os._exit(code)

