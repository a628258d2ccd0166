"""A database as input (SQLAlchemy): the tables of a problem read from a URL, in one transaction.

``matcher run sqlite:///district.db --out ...`` or ``postgresql://user@host/db``
(PostgreSQL through psycopg: ``pip install 'matcher[postgres]'``). The
database holds one table per SPEC table, named after it (``volunteers``,
``demands``, ``areas``, ``pinned``, ``forbidden``, ``previous``; other names
are mapped by the settings' ``tables``), with SPEC's columns (or the settings'
``columns`` names). An optional table ``matcher_settings`` (columns ``key``,
``value``: JSON text) holds the settings a folder's ``settings.json`` would
(:mod:`matcher.io.settings`). Other tables are left alone, except that one
named like a SPEC table (``pined``) is an error with a "did you mean".

Every table is read in one transaction (PostgreSQL: repeatable read), ordered
by its ``id`` (pairs: by volunteer, then demand), so that a run sees one
consistent state. Cells are read as a Parquet file's are, strictly by their
column's kind; ``NUMERIC`` values count as numbers, an ``INTEGER`` in a text
column (an id) as its digits, PostgreSQL arrays as lists, ``timestamptz`` as
instants (a ``timestamp`` without zone needs the ``timezone`` setting).
Errors name the database (its password hidden), the table, the row in that
order, the record's id and the column.

A database URL's password is never written anywhere: :func:`redact` hides it
in every message, log line and manifest.
"""

from __future__ import annotations

import difflib
import json
import re
from decimal import Decimal
from typing import Any

from matcher.errors import ProblemError
from matcher.io.assemble import Loaded, RawSource, assemble
from matcher.io.columns import COLUMNS, row_label
from matcher.io.settings import Settings, parse_settings

__all__ = ["SETTINGS_TABLE", "database_error", "engine_for", "is_database_url", "read_database", "redact"]

SETTINGS_TABLE = "matcher_settings"
"""The table of a database's settings (``key``, ``value`` as JSON text)."""
OUTPUT_PREFIX = "matcher_"
"""Tables matcher writes (runs and their tables) start with this."""
SCHEMES = ("sqlite", "postgresql", "postgres")
LOOKALIKE = 0.85
"""A database table this close to a SPEC table's name (``pined``, ``volunteer``) is taken for a misspelling: an
error. Other tables (``volunteer_log``) are the database's own business."""
_URL = re.compile(r"^([a-z][a-z0-9]*)(\+[a-z0-9_]+)?://", re.IGNORECASE)
_PASSWORD = re.compile(r"([a-z][a-z0-9+.\-]*://[^:/@\s]*:)([^@\s]*)(@)", re.IGNORECASE)


def is_database_url(text: Any) -> bool:
    """Whether ``text`` is a database URL matcher reads or writes (``sqlite://``, ``postgresql://``)."""
    match = _URL.match(str(text))
    return bool(match) and match.group(1).lower() in SCHEMES  # type: ignore[union-attr]


def redact(text: str) -> str:
    """``text`` with the password of every URL in it replaced by ``***``."""
    return _PASSWORD.sub(r"\1***\3", text)


def database_error(url: str, exc: BaseException, doing: str) -> ProblemError:
    """A database failure as a one-line input error naming the database (password hidden), never the data."""
    orig = getattr(exc, "orig", None) or exc
    text = " ".join(str(orig).split())[:500]
    password = _password(url)
    if password:
        text = text.replace(password, "***")
    return ProblemError([f"{redact(url)}: {doing}: {redact(text)}"])


def _password(url: str) -> str | None:
    try:
        from sqlalchemy.engine import make_url

        password = make_url(url).password
        return None if password is None else str(password)
    except Exception:  # an unparsable URL has no password to hide beyond redact()'s pattern
        return None


def engine_for(url: str) -> Any:
    """A SQLAlchemy engine for ``url`` (``postgres://`` read as ``postgresql://``), parameters hidden in errors.

    Raises
    ------
    ProblemError
        For a URL SQLAlchemy cannot use (an unknown driver, psycopg not installed), password hidden.

    """
    import sqlalchemy as sa

    if url.lower().startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    try:
        return sa.create_engine(url, hide_parameters=True, pool_pre_ping=True)
    except (sa.exc.ArgumentError, ImportError, sa.exc.NoSuchModuleError) as exc:
        hint = " (pip install 'matcher[postgres]')" if "psycopg" in str(exc) else ""
        raise database_error(url, exc, "cannot use this database URL" + hint) from None


def _settings(conn: Any, tables: list[str], where: str) -> Settings:
    if SETTINGS_TABLE not in tables:
        return Settings()
    import sqlalchemy as sa

    table = sa.Table(SETTINGS_TABLE, sa.MetaData(), autoload_with=conn)
    if not {"key", "value"} <= set(table.c.keys()):
        raise ProblemError([f"{where} table {SETTINGS_TABLE}: needs the columns key and value (JSON text)"])
    raw: dict[str, Any] = {}
    for key, value in conn.execute(sa.select(table.c.key, table.c.value).order_by(table.c.key)):
        try:
            raw[str(key)] = json.loads(value) if isinstance(value, str) else value
        except json.JSONDecodeError as exc:
            raise ProblemError([f"{where} table {SETTINGS_TABLE}, key {key!r}: value is not JSON ({exc.msg})"]) \
                from None
    return parse_settings(raw, f"{where} table {SETTINGS_TABLE}")


def _cell(value: Any) -> Any:
    return float(value) if isinstance(value, Decimal) else value


def _read_table(conn: Any, name: str, settings: Settings, where: str) -> dict[str, list[Any]]:
    import sqlalchemy as sa

    table = sa.Table(name, sa.MetaData(), autoload_with=conn)
    target = settings.table_of(name) or name
    mapping = {**settings.columns.get("*", {}), **settings.columns.get(target, {})}
    spec = {mapping.get(c, c): c for c in table.c.keys()}
    keys = [spec[k] for k in ("id", "volunteer_id", "demand_id") if k in spec]
    query = sa.select(table).order_by(*(table.c[k] for k in keys))
    rows = conn.execute(query).all()
    return {c: [_cell(r[i]) for r in rows] for i, c in enumerate(table.c.keys())}


def read_database(url: str) -> Loaded:
    """Load a problem from a database (see the module's notes), all tables in one transaction.

    Raises
    ------
    ProblemError
        For a database that cannot be reached or read, a missing table, a table named like a SPEC table,
        bad settings, and every bad cell or record, each named by database, table, row, id and column.

    """
    import sqlalchemy as sa

    where = redact(url)
    engine = engine_for(url)
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "postgresql":
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                names = sorted(sa.inspect(conn).get_table_names())
                settings = _settings(conn, names, where)
                raw: dict[str, RawSource] = {}
                errors: list[str] = []
                for name in names:
                    table = settings.table_of(name)
                    if table is None:
                        close = difflib.get_close_matches(name.lower(), list(COLUMNS), n=1, cutoff=LOOKALIKE)
                        if close and not name.startswith(OUTPUT_PREFIX):
                            errors.append(f"{where}: table {name!r} is not a table of a problem (did you mean "
                                          f"{close[0]!r}? other names are mapped in the settings' tables)")
                        continue
                    label = f"{where} table {name}"
                    if table in raw:
                        errors.append(f"{where}: tables {raw[table].where.rsplit(' ', 1)[-1]!r} and {name!r} both "
                                      f"hold {table!r}; keep one")
                        continue
                    raw[table] = RawSource(_read_table(conn, name, settings, where), row_label(label), label)
    except sa.exc.SQLAlchemyError as exc:
        raise database_error(url, exc, "cannot read the database") from None
    finally:
        engine.dispose()
    errors += [f"{where}: missing table {name!r}" for name in ("volunteers", "demands") if name not in raw]
    if errors:
        raise ProblemError(errors)
    problem, personal = assemble(raw, settings, source=where, whole_numbers_are_text=frozenset(raw))
    return Loaded(problem, personal, {name: {"rows": len(next(iter(t.columns.values()), []))}
                                      for name, t in raw.items()}, where)
