"""Turning pydantic's validation errors into lines that name the record (with its id) and the field.

Every reader (JSON, tables, YAML) validates through the models and names an
error's location its own way: a :data:`Locator` renders a location (a path into
the input data) as text. Cross-record problems found by
:class:`~matcher.model.Problem` travel inside pydantic's error as
:class:`RecordErrors` and come out one line each.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pydantic import ValidationError

__all__ = ["Locator", "RecordErrors", "RecordIssue", "format_validation_error", "json_locator", "shown_id"]


def shown_id(value: str, limit: int = 40) -> str:
    """An id quoted for a message, shortened when it is absurdly long (the message must stay readable)."""
    return repr(value) if len(value) <= limit else f"{value[:limit]!r}... ({len(value)} characters)"


RecordIssue = tuple[tuple[str | int, ...], str]
"""A problem found across records: its location (table, row index, field) and the message."""


class RecordErrors(ValueError):
    """Cross-record problems found by :class:`~matcher.model.Problem`'s checks, with their locations."""

    def __init__(self, issues: list[RecordIssue]) -> None:
        self.issues = issues
        super().__init__("; ".join(f"{'.'.join(map(str, loc))}: {msg}" for loc, msg in issues[:20]))


Locator = Callable[[tuple[str | int, ...], Any], str]
"""Renders an error location (path into the input data) as text for a message."""


def json_locator(source: str) -> Locator:
    """Name a location as ``source.table[i] (id 'x').field``, the style of JSON input."""

    def render(loc: tuple[str | int, ...], data: Any) -> str:
        where = source
        node: Any = data
        for part in loc:
            if isinstance(part, int):
                where += f"[{part}]"
                node = node[part] if isinstance(node, list | tuple) and part < len(node) else None
                if isinstance(node, Mapping) and isinstance(node.get("id"), str):
                    where += f" (id {shown_id(node['id'])})"
            else:
                where += f".{part}"
                node = node.get(part) if isinstance(node, Mapping) else None
        return where

    return render


def format_validation_error(
    exc: ValidationError, data: Any, *, source: str, locator: Locator | None = None
) -> list[str]:
    """Turn a pydantic error into lines that name the record (with its id) and field.

    ``locator`` renders a location; the default names it in JSON style under ``source``.
    Cross-record problems (:class:`RecordErrors`) are expanded one line each.
    """
    render = locator or json_locator(source)
    lines: list[str] = []
    for err in exc.errors(include_url=False):
        inner = err.get("ctx", {}).get("error")
        if isinstance(inner, RecordErrors):
            lines.extend(f"{render(tuple(err['loc']) + loc, data)}: {msg}" for loc, msg in inner.issues)
            continue
        msg = err["msg"].removeprefix("Value error, ")
        lines.append(f"{render(tuple(err['loc']), data)}: {msg}")
    return lines
