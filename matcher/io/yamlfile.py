"""Reading YAML files safely, remembering where each key was written.

Options and scenario files are data, never code: they are parsed with PyYAML's
``SafeLoader`` (no object tags), and non-standard tags, aliases and repeated
keys are refused. Every value's line is kept, so an error can name the file, the line
and the key: ``flu.yaml line 12, variants[0].edits[1].scale_demand.factor: ...``.
"""

from __future__ import annotations

from collections.abc import Hashable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from matcher.errors import ProblemError
from matcher.io.files import read_text

if TYPE_CHECKING:  # PyYAML is imported when a file is read (0.02 s that every command would pay)
    import yaml

__all__ = ["YamlDoc", "read_yaml"]

_PLAIN_TAGS = {f"tag:yaml.org,2002:{t}" for t in ("map", "seq", "str", "int", "float", "bool", "null", "timestamp")}
MAX_NODES = 100_000
"""A scenario or options file is small; more nodes than this is refused."""


class YamlDoc:
    """A parsed YAML document: its data and the line of every key path."""

    def __init__(self, path: Path, data: Any, lines: dict[tuple[str, ...], int]) -> None:
        self.path = path
        self.data = data
        self._lines = lines

    def line(self, loc: tuple[Any, ...]) -> int:
        """The line (1-based) of the deepest written key on the path ``loc``."""
        parts = tuple(str(p) for p in loc)
        while parts and parts not in self._lines:
            parts = parts[:-1]
        return self._lines.get(parts, 1)

    def where(self, loc: tuple[Any, ...]) -> str:
        """``file line N, dotted.key[2]`` for an error message."""
        key = ""
        for p in loc:
            key += f"[{p}]" if isinstance(p, int) else (f".{p}" if key else str(p))
        return f"{self.path} line {self.line(loc)}" + (f", {key}" if key else "")

    def render(self, loc: tuple[str | int, ...], _data: Any = None) -> str:
        """A :data:`~matcher.model.Locator` for :func:`~matcher.model.format_validation_error`."""
        return self.where(loc)


def read_yaml(path: str | Path) -> YamlDoc:
    """Parse a YAML file with the safe loader, keeping each key's line.

    Raises
    ------
    ProblemError
        When the file cannot be read, is empty, is not valid YAML, uses a
        non-standard tag or an alias, or repeats a key (each naming file and line).

    """
    import yaml

    path = Path(path)
    text = read_text(path)
    if not text.strip():
        raise ProblemError([f"{path}: file is empty"])
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f" line {mark.line + 1}" if mark is not None else ""
        raise ProblemError([f"{path}{line}: invalid YAML: {exc.problem or exc.context}"]) from None
    except yaml.YAMLError as exc:
        raise ProblemError([f"{path}: invalid YAML: {exc}"]) from None
    if root is None:
        raise ProblemError([f"{path}: file is empty"])
    lines: dict[tuple[str, ...], int] = {}
    data = _build(path, root, (), lines, [0], set())
    return YamlDoc(path, data, lines)


def _build(path: Path, node: yaml.Node, loc: tuple[str, ...], lines: dict[tuple[str, ...], int],
           count: list[int], seen: set[int]) -> Any:
    """Construct plain data from a node tree (scalars through the safe constructor)."""
    import yaml

    count[0] += 1
    if count[0] > MAX_NODES:
        raise ProblemError([f"{path}: more than {MAX_NODES} values; a scenario or options file is small"])
    line = node.start_mark.line + 1
    lines.setdefault(loc, line)
    if id(node) in seen:
        raise ProblemError([f"{path} line {line}: aliases (*name) are not allowed; write the value out"])
    seen.add(id(node))
    if node.tag not in _PLAIN_TAGS:
        raise ProblemError([f"{path} line {line}: tag {node.tag!r} is not allowed (files are data, not code)"])
    if isinstance(node, yaml.MappingNode):
        out: dict[Hashable, Any] = {}
        for key_node, value_node in node.value:
            key = _build(path, key_node, loc, {}, count, seen)
            if not isinstance(key, str | int | float | bool) or key is None:
                raise ProblemError([f"{path} line {key_node.start_mark.line + 1}: a key must be a plain value"])
            if key in out:
                raise ProblemError([f"{path} line {key_node.start_mark.line + 1}: key {key!r} given twice"])
            sub = (*loc, str(key))
            lines[sub] = key_node.start_mark.line + 1
            out[key] = _build(path, value_node, sub, lines, count, seen)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(path, item, (*loc, str(i)), lines, count, seen) for i, item in enumerate(node.value)]
    try:
        return yaml.SafeLoader("").construct_object(node, deep=True)
    except yaml.YAMLError as exc:
        raise ProblemError([f"{path} line {line}: {getattr(exc, 'problem', None) or exc}"]) from None
