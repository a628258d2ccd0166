"""What-if scenario files: a base place and variants of it, each a list of edits a planner understands.

A scenario file is YAML (parsed safely, see :mod:`matcher.io.yamlfile`)::

    name: Flu wave
    base: {preset: street, seed: 1}        # or {data: some/folder_or_problem.json}
    options: {time_limit_s: 10}            # SolveOptions for every solve
    variants:
      - name: a third off sick
        edits:
          - remove_volunteers: {share: 0.33, seed: 7}
          - scale_demand: {categories: [errands, medicine_delivery], factor: 2}

The edits (each a one-key mapping; their fields in :mod:`matcher.workflows.scenario_file`):

``remove_volunteers``
    take a share of volunteers away (at random with a seed), optionally only
    those living in some areas / communities / streets, of some teams, or
    holding some skills;
``add_volunteers``
    a new station or recruitment drive: ``count`` volunteers around a place,
    with skills, days and hours, optionally as a new team;
``scale_demand``
    multiply the orders of some categories / areas / priorities by
    ``factor`` (2 = each order gets a twin order; 0.5 = half are dropped);
``add_event``
    a large event needing ``headcount`` volunteers at one or more places;
``change_travel``
    scale (``factor``) or set (``km``, or ``minutes`` with travel times) how far volunteers travel;
``set_speed``
    walking or cycling: the ``speed_kmh`` of a share of some places' or teams' volunteers;
``set_travel``
    the problem's travel times: default ``speed_kmh`` and ``detour``;
``add_team_block`` / ``remove_team_block``
    bind a share of some areas' orders to a team (包干), or release them;
``set_options``
    change solve options, e.g. ``priority_weights``.

Every error names the file, the line and the key, and the whole file
(including each edit's references to areas, teams, skills, categories) is
checked before anything is solved or written.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from matcher.errors import ProblemError
from matcher.generate import generate_problem
from matcher.io import YamlDoc, load_input, read_yaml
from matcher.model import Problem, SolveOptions, format_validation_error
from matcher.workflows.edits import APPLY, EditError, VariantBuilder
from matcher.workflows.scenario_file import EDITS, Base, ScenarioFile, SetOptions, Variant

__all__ = ["Scenario", "load_scenario"]


@dataclass(frozen=True)
class Scenario:
    """A checked scenario: the base problem and each variant's problem and options, ready to solve."""

    name: str
    description: str
    path: Path
    base: Problem
    options: SolveOptions
    variants: list[tuple[Variant, Problem, SolveOptions]]


def load_scenario(path: str | Path, *, data_root: str | Path | None = None,
                  time_limit_s: float | None = None) -> Scenario:
    """Read, check and build a scenario: the base and every variant's problem (nothing is solved).

    Parameters
    ----------
    path
        The YAML file.
    data_root
        The folder a ``base.data`` path must stay inside (default: the scenario file's folder).
    time_limit_s
        Overrides every solve's time limit.

    Raises
    ------
    ProblemError
        Naming the file, the line and the key of every mistake found.

    """
    doc = read_yaml(path)
    try:
        spec = ScenarioFile.model_validate(doc.data)
    except ValidationError as exc:
        raise ProblemError(format_validation_error(exc, doc.data, source=str(doc.path), locator=doc.render)) from None
    edits = [[_parse_edit(doc, i, j, raw) for j, raw in enumerate(v.edits)] for i, v in enumerate(spec.variants)]
    try:
        options = SolveOptions.model_validate({**spec.options, **(
            {"time_limit_s": time_limit_s} if time_limit_s is not None else {})})
    except ValidationError as exc:
        raise ProblemError(format_validation_error(exc, spec.options, source=str(doc.path),
                                                   locator=lambda loc, d: doc.where(("options", *loc)))) from None
    base = _load_base(doc, spec.base, Path(data_root) if data_root else doc.path.parent)
    variants = []
    for i, (variant, variant_edits) in enumerate(zip(spec.variants, edits)):
        work = VariantBuilder.of(base)
        opts = options
        for j, (kind, edit) in enumerate(variant_edits):
            where = ("variants", i, "edits", j, kind)
            if isinstance(edit, SetOptions):
                given = edit.model_dump(exclude_unset=True)
                opts = SolveOptions.model_validate({**opts.model_dump(), **given})
                continue
            try:
                APPLY[type(edit)](work, edit)
            except EditError as exc:
                raise ProblemError([f"{doc.where((*where, *exc.loc))}: {exc.msg}"]) from None
        try:
            problem = work.problem()
        except ProblemError as exc:
            raise ProblemError([f"{doc.where(('variants', i))}: the edits make an invalid problem: {e}"
                                for e in exc.errors]) from None
        variants.append((variant, problem, opts))
    return Scenario(spec.name, spec.description, doc.path, base, options, variants)


def _parse_edit(doc: YamlDoc, i: int, j: int, raw: dict[str, Any]) -> tuple[str, BaseModel]:
    loc: tuple[str | int, ...] = ("variants", i, "edits", j)
    if len(raw) != 1:
        raise ProblemError([f"{doc.where(loc)}: an edit is one key naming it (known: {', '.join(EDITS)})"])
    kind, value = next(iter(raw.items()))
    if kind not in EDITS:
        raise ProblemError([f"{doc.where((*loc, kind))}: unknown edit {kind!r} (known: {', '.join(EDITS)})"])
    if not isinstance(value, dict):
        raise ProblemError([f"{doc.where((*loc, kind))}: expected a mapping of the edit's fields"])
    try:
        return kind, EDITS[kind].model_validate(value)
    except ValidationError as exc:
        raise ProblemError(format_validation_error(
            exc, value, source=str(doc.path), locator=lambda sub, d: doc.where((*loc, kind, *sub)))) from None


def _load_base(doc: YamlDoc, base: Base, root: Path) -> Problem:
    if base.preset is not None:
        return generate_problem(base.preset, base.seed, scale=base.scale, holiday=base.holiday,
                                world=base.world or "v1")
    assert base.data is not None
    target = (doc.path.parent / base.data).resolve()
    if not target.is_relative_to(root.resolve()):
        raise ProblemError([f"{doc.where(('base', 'data'))}: path {base.data!r} leaves {root} "
                            "(data must sit inside the scenario's folder, or pass --data-root)"])
    if not target.exists():
        raise ProblemError([f"{doc.where(('base', 'data'))}: no such file or folder: {target}"])
    return load_input(target)
