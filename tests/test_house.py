"""The house: imports run down the layers, no circle, no private name across modules, small modules.

Layers, lowest first (DESIGN.md): errors ← model ← (io | engine) ← (dispatch | generate) ← workflows ← cli.
Siblings in one layer do not import each other. ``matcher/__init__.py`` is the public façade and may import
anything. Solver packages are imported only under ``matcher/engine/solvers/``, which imports only numpy, scipy,
highspy (justified in BENCHMARKS.md, issue 14),
OR-Tools and ``matcher.engine.types`` / ``matcher.engine.intervals``. A matcher module is imported inside a
function only when it loads a heavy solver (``matcher.engine.solvers.*``), never to dodge a circle.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parent.parent / "matcher"
MAX_LINES = 400
LAYERS: list[tuple[str, ...]] = [
    ("errors",),
    ("model",),
    ("io", "engine"),
    ("dispatch", "generate"),
    ("workflows",),
    ("cli",),
]
SOLVER_PACKAGES = {"ortools", "highspy", "pyscipopt", "pylmcf"}
SOLVERS = "matcher.engine.solvers"
SOLVERS_MAY_IMPORT = {"matcher.engine.types", "matcher.engine.intervals"}


@dataclass(frozen=True)
class Edge:
    source: str
    target: str  # a module of the package, or a top-level third-party / stdlib name
    names: tuple[str, ...]
    lazy: bool  # inside a function (or under TYPE_CHECKING: not at import time)
    line: int


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def owning_module(name: str) -> str:
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name


def edges_of(module: str) -> list[Edge]:
    path = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: list[Edge] = []

    def visit(node: ast.AST, lazy: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inner = lazy or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) or (
                isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test))
            if isinstance(child, ast.Import):
                for a in child.names:
                    target = owning_module(a.name) if a.name.startswith("matcher") else a.name.split(".")[0]
                    out.append(Edge(module, target, (), inner, child.lineno))
            elif isinstance(child, ast.ImportFrom):
                base = resolve(module, path.name == "__init__.py", child)
                if base.startswith("matcher"):
                    for a in child.names:
                        full = f"{base}.{a.name}"
                        target = full if full in MODULES else owning_module(base)
                        out.append(Edge(module, target, (a.name,), inner, child.lineno))
                else:
                    out.append(Edge(module, base.split(".")[0], tuple(a.name for a in child.names), inner,
                                    child.lineno))
            visit(child, inner)

    visit(tree, False)
    return out


EDGES = {m: edges_of(m) for m in MODULES}


def layer_of(module: str) -> tuple[int, str] | None:
    """(rank, group) of a package module; None for the façade (``matcher`` and ``python -m matcher``)."""
    if module in ("matcher", "matcher.__main__"):
        return None
    group = module.split(".")[1]
    for rank, groups in enumerate(LAYERS):
        if group in groups:
            return rank, group
    raise AssertionError(f"{module}: not in any layer; add its folder to LAYERS and DESIGN.md")


def internal(edge: Edge) -> bool:
    return edge.target.startswith("matcher") and edge.target != edge.source


def test_every_module_belongs_to_a_layer() -> None:
    for m in MODULES:
        layer_of(m)


def test_imports_run_down_the_layers() -> None:
    wrong = []
    for m, edges in EDGES.items():
        mine = layer_of(m)
        for e in filter(internal, edges):
            theirs = layer_of(e.target)
            if mine is None or theirs is None:
                if theirs is None:
                    wrong.append(f"{m}:{e.line} imports the façade matcher (import the module that defines it)")
                continue
            if theirs[0] > mine[0] or (theirs[0] == mine[0] and theirs[1] != mine[1]):
                wrong.append(f"{m}:{e.line} ({mine[1]}) imports {e.target} ({theirs[1]})")
    assert wrong == []


def test_no_import_circle() -> None:
    graph = {m: {e.target for e in EDGES[m] if internal(e)} for m in MODULES}
    # a package's own __init__ re-exports its modules: edges into it from inside are not circles
    for m in graph:
        graph[m] = {t for t in graph[m] if not (MODULES[t].name == "__init__.py" and m.startswith(t + "."))}
    graph["matcher"] = graph["matcher.__main__"] = set()  # the façade imports everything and nothing imports it
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    circles: list[list[str]] = []
    sys.setrecursionlimit(10_000)

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                circles.append(sorted(comp))

    for v in graph:
        if v not in index:
            strong(v)
    assert circles == []


def test_no_private_name_is_imported_across_modules() -> None:
    private = [f"{m}:{e.line} imports {n} from {e.target}" for m, edges in EDGES.items() for e in edges
               if internal(e) for n in e.names if n.startswith("_") and not n.startswith("__")]
    assert private == []


def test_solvers_only_under_the_solvers_folder() -> None:
    outside = [f"{m}:{e.line} imports {e.target}" for m, edges in EDGES.items() if not m.startswith(SOLVERS)
               for e in edges if e.target in SOLVER_PACKAGES]
    assert outside == []


def test_the_solvers_folder_imports_only_numpy_scipy_ortools_and_the_engine_basics() -> None:
    # highspy: the warm-started sifting LP and the region MIP need it (BENCHMARKS.md, issue 14)
    allowed_third_party = {"numpy", "scipy", "ortools", "highspy"}
    wrong = []
    for m, edges in EDGES.items():
        if not m.startswith(SOLVERS):
            continue
        for e in edges:
            if e.target.startswith("matcher"):
                if e.target not in SOLVERS_MAY_IMPORT and not e.target.startswith(SOLVERS):
                    wrong.append(f"{m}:{e.line} imports {e.target}")
            elif e.target not in allowed_third_party and e.target not in sys.stdlib_module_names \
                    and e.target != "__future__":
                wrong.append(f"{m}:{e.line} imports {e.target}")
    assert wrong == []


def test_a_module_is_imported_lazily_only_to_load_a_solver() -> None:
    lazy = [f"{m}:{e.line} imports {e.target} inside a function" for m, edges in EDGES.items() for e in edges
            if e.lazy and internal(e) and not e.target.startswith(SOLVERS)]
    assert lazy == []


@pytest.mark.parametrize("module", sorted(MODULES))
def test_module_is_small(module: str) -> None:
    lines = MODULES[module].read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_LINES, f"{module} has {lines} lines; split it by concern"


def test_at_least_four_subpackages_by_concern() -> None:
    subpackages = {m for m, p in MODULES.items() if p.name == "__init__.py" and m.count(".") == 1}
    assert subpackages >= {"matcher.model", "matcher.io", "matcher.engine", "matcher.dispatch",
                           "matcher.workflows", "matcher.cli"}


def test_the_check_can_fail() -> None:
    """The walker sees imports at every depth, relative ones included, and tells lazy from eager ones."""
    edges = EDGES["matcher.engine.regions"]
    assert any(e.target == "matcher.engine.solvers.cpsat" and e.lazy for e in edges)
    assert any(e.target == "matcher.engine.context" and not e.lazy for e in edges)
    assert layer_of("matcher.engine.rules") == (2, "engine")
    assert layer_of("matcher.io.tables") == (2, "io")
