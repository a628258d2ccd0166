"""The ledger's commands: ``matcher rate`` (record services and ratings, 评单) and ``matcher ledger`` (settings).

``matcher run`` takes :func:`add_run_flags` (``--ledger``, ``--no-ledger``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from matcher.cli.progress import cli_logging
from matcher.errors import ProblemError
from matcher.io.ledger_store import LEDGER_FILE, open_ledger
from matcher.model import LedgerSettings, format_validation_error
from matcher.workflows.ledger import hours_text
from matcher.workflows.rate import record_services

__all__ = ["COMMANDS", "LEDGER_SUFFIXES", "add_commands", "add_run_flags", "ledger", "rate", "run_ledger"]


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``rate`` and ``ledger`` subcommands."""
    r = sub.add_parser("rate", help="record services and ratings after the fact (评单) in the ledger beside the runs")
    r.add_argument("file", help="the services: CSV, Parquet or JSON with volunteer_id, demand_id and optionally "
                   "series_id, stars (1-5), hours, at")
    r.add_argument("--run", required=True, help="the run that sent the volunteers: RUNS/latest or RUNS/run-<time>, "
                   "or a run in a database: DB_URL (its latest run) or DB_URL#run-id (as matcher run printed it)")
    r.add_argument("--ledger", help="the ledger: a file or a database URL (default: ledger.sqlite in RUNS, beside "
                   "the run; for a run in a database, that database's ledger_* tables)")
    r.add_argument("--timezone", help="IANA zone for times written without an offset (e.g. Asia/Shanghai)")
    r.add_argument("--unplanned", action="store_true",
                   help="accept volunteers the run did not send to that demand (a change during the day)")
    _quiet(r)
    g = sub.add_parser("ledger", help="show the ledger's settings and totals, or change its settings")
    g.add_argument("where", help="the runs folder (its ledger.sqlite), a ledger file (.sqlite, .sqlite3, .db), or a "
                   "database URL")
    g.add_argument("--recent-days", type=int, help="recent_hours = hours served in this many days (default 30)")
    g.add_argument("--points-per-hour", help="time-bank points per hour served (default 1; at most 2 decimals)")


LEDGER_SUFFIXES = (".sqlite", ".sqlite3", ".db")
"""``matcher ledger WHERE``: a path with one of these suffixes is a ledger file; any other is a runs folder."""


def add_run_flags(p: argparse.ArgumentParser) -> None:
    """``matcher run``'s ``--ledger`` and ``--no-ledger``."""
    g = p.add_mutually_exclusive_group()
    g.add_argument("--ledger", help="read recent hours and ratings from this ledger (a file or a database URL; "
                   "default: OUT/ledger.sqlite when it exists)")
    g.add_argument("--no-ledger", action="store_true",
                   help="do not read the ledger: recent_hours and ratings are the input's")


def run_ledger(args: argparse.Namespace) -> str | bool:
    """What ``run_batch`` takes as ``ledger`` from ``matcher run``'s flags."""
    return False if args.no_ledger else (args.ledger or True)


def _quiet(p: argparse.ArgumentParser) -> None:
    g = p.add_mutually_exclusive_group()
    g.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only")
    g.add_argument("-v", "--verbose", action="store_true", help="every step, as plain lines")


def rate(args: argparse.Namespace) -> int:
    """``matcher rate``: record a file of services in the ledger, all or nothing."""
    with cli_logging(sys.stderr, quiet=args.quiet, verbose=args.verbose, started=args.started, budget_s=None):
        result = record_services(args.file, args.run, ledger=args.ledger, timezone=args.timezone,
                                 unplanned=args.unplanned)
    r = result.recording
    print(f"matcher: recorded {r.added + r.changed + r.unchanged} service(s) of run {result.run} in {r.where} "
          f"(recording {r.id}): {r.added} new, {r.changed} changed, {r.unchanged} already held", file=sys.stderr)
    return 0


def ledger(args: argparse.Namespace) -> int:
    """``matcher ledger``: print the settings and totals; with ``--recent-days`` / ``--points-per-hour``, set them."""
    where: str | Path = args.where
    if "://" not in args.where and Path(args.where).suffix not in LEDGER_SUFFIXES:
        where = Path(args.where) / LEDGER_FILE  # a runs folder
    changes = {k: v for k, v in (("recent_days", args.recent_days), ("points_per_hour", args.points_per_hour))
               if v is not None}
    if changes:  # checked before any file is made
        _settings(LedgerSettings(), changes)
    made = False
    if changes and isinstance(where, Path) and not where.exists():
        where.parent.mkdir(parents=True, exist_ok=True)
        made = True
    store = open_ledger(where, create=bool(changes))
    if store is None:
        print(f"matcher: no ledger at {where} yet (matcher rate makes it)", file=sys.stderr)
        return 0
    if made:  # settings before the first run, said aloud: a mistyped path makes a ledger of its own too
        print(f"matcher: no ledger at {where} yet: a new one made for these settings", file=sys.stderr)
    try:
        if changes:
            store.configure(_settings(store.settings(), changes))
        state = store.state(datetime.now(UTC))
    finally:
        store.close()
    totals = state.volunteers.values()
    served = sum(t.served_us for t in totals)
    rated = sum(t.stars_count for t in totals)
    mean = f" (mean {sum(t.stars_sum for t in totals) / rated:.2f})" if rated else ""
    print(f"{state.where}: {state.records} record(s) of {len(state.volunteers)} volunteer(s), {hours_text(served)} "
          f"hours, {rated} rating(s){mean}; last recording {state.last_recording or 'none'}")
    print(f"settings: recent_days {state.settings.recent_days}, points_per_hour {state.settings.points_per_hour}")
    return 0


def _settings(current: LedgerSettings, changes: dict[str, Any]) -> LedgerSettings:
    """``current`` with the command line's ``changes``; a :class:`ProblemError` naming the flag when one is bad."""
    try:
        return LedgerSettings.model_validate({**current.model_dump(), **changes})
    except ValidationError as exc:
        raise ProblemError(format_validation_error(
            exc, changes, source="command line",
            locator=lambda loc, data: "--" + str(loc[0]).replace("_", "-"))) from None


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {"rate": rate, "ledger": ledger}
"""The ledger's commands by name, for the command line's dispatch."""
