"""A whole matching problem (SPEC.md's Problem), with the checks that span records.

Field-level rules are checked by each record's model (:mod:`matcher.model.records`);
rules that span records (unique ids, references, taxonomy codes) are checked here,
and every bad record is named at once in one :class:`~matcher.errors.ProblemError`.

A problem is immutable; :meth:`Problem.replace` is the one way to derive another.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal, Self

from pydantic import ValidationError, model_validator

from matcher.errors import ProblemError
from matcher.model.options import SolveOptions
from matcher.model.records import Area, Assignment, Demand, Frozen, Volunteer
from matcher.model.taxonomy import Taxonomy, resolve_taxonomy
from matcher.model.validation import Locator, RecordErrors, RecordIssue, format_validation_error, shown_id

__all__ = ["Problem"]


class Problem(Frozen):
    """A whole matching problem: the input of :func:`matcher.solve`.

    Extensions to SPEC.md: ``previous`` (assignments of an earlier solution,
    which the change term of the secondary objective prefers to keep) and
    ``taxonomy`` (``"builtin"`` or an inline :class:`Taxonomy`; when set, every
    category and skill code must come from it).
    """

    areas: tuple[Area, ...] = ()
    volunteers: tuple[Volunteer, ...] = ()
    demands: tuple[Demand, ...] = ()
    pinned: tuple[Assignment, ...] = ()
    forbidden: tuple[Assignment, ...] = ()
    previous: tuple[Assignment, ...] = ()
    options: SolveOptions | None = None
    taxonomy: Literal["builtin"] | Taxonomy | None = None

    @model_validator(mode="after")
    def _check_records(self) -> Self:
        errors: list[RecordIssue] = []
        area_ids = _unique_ids("areas", self.areas, errors)
        volunteer_ids = _unique_ids("volunteers", self.volunteers, errors)
        demand_ids = _unique_ids("demands", self.demands, errors)
        for i, d in enumerate(self.demands):
            if d.area_id is not None and d.area_id not in area_ids:
                errors.append((("demands", i, "area_id"), f"unknown area {d.area_id!r}"))
            for vid in d.preferred_volunteers:
                if vid not in volunteer_ids:
                    errors.append((("demands", i, "preferred_volunteers"), f"unknown volunteer {vid!r}"))
        for name in ("pinned", "forbidden", "previous"):
            seen: set[tuple[str, str]] = set()
            for i, a in enumerate(getattr(self, name)):
                if a.volunteer_id not in volunteer_ids:
                    errors.append(((name, i, "volunteer_id"), f"unknown volunteer {a.volunteer_id!r}"))
                if a.demand_id not in demand_ids:
                    errors.append(((name, i, "demand_id"), f"unknown demand {a.demand_id!r}"))
                key = (a.volunteer_id, a.demand_id)
                if key in seen:
                    errors.append(((name, i), f"pair ({a.volunteer_id!r}, {a.demand_id!r}) given twice"))
                seen.add(key)
        if self.taxonomy is not None:
            errors.extend(_taxonomy_errors(self))
        if errors:
            raise RecordErrors(errors)
        return self

    def resolved_taxonomy(self) -> Taxonomy | None:
        """The taxonomy object this problem names, loading the shipped one for ``"builtin"``."""
        return None if self.taxonomy is None else resolve_taxonomy(self.taxonomy)

    @classmethod
    def from_dict(cls, data: Any, *, source: str = "problem", locator: Locator | None = None) -> Problem:
        """Validate plain data (parsed JSON, or rows of tables) into a Problem.

        ``locator`` names an error's location for the messages (default: JSON style under ``source``).

        Raises
        ------
        ProblemError
            With one message per bad field, each naming record and field.

        """
        if not isinstance(data, Mapping):
            raise ProblemError([f"{source}: top level must be a JSON object, got {type(data).__name__}"])
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise ProblemError(format_validation_error(exc, data, source=source, locator=locator)) from None

    def replace(self, *, validate: bool = True, **changes: Any) -> Problem:
        """A copy with some top-level fields replaced: the one way to derive a problem.

        With ``validate`` (the default) the copy is checked whole, as a new
        problem is: every record, reference and code. ``validate=False`` is for
        callers that checked what they changed themselves (a repair checks each
        change it applies) and must not pay for checking a district again; the
        records must then be model instances, not plain data.

        Raises
        ------
        pydantic.ValidationError
            With ``validate``, when the copy breaks the contract.

        """
        data = {name: getattr(self, name) for name in type(self).model_fields}
        data.update(changes)
        if validate:
            return type(self).model_validate(data)
        return type(self).model_construct(**data)


def _unique_ids(kind: str, records: Iterable[Area | Volunteer | Demand], errors: list[RecordIssue]) -> set[str]:
    ids: set[str] = set()
    for i, r in enumerate(records):
        if r.id in ids:
            errors.append(((kind, i, "id"), f"duplicate id {shown_id(r.id)}"))
        ids.add(r.id)
    return ids


def _taxonomy_errors(problem: Problem) -> list[RecordIssue]:
    tax = problem.resolved_taxonomy()
    assert tax is not None
    categories, skills = tax.category_codes(), tax.skill_codes()
    errors: list[RecordIssue] = []
    for i, v in enumerate(problem.volunteers):
        for s in v.skills:
            if s not in skills:
                errors.append((("volunteers", i, "skills"), f"{s!r} is not a skill of taxonomy {tax.name!r}"))
    for i, d in enumerate(problem.demands):
        if d.category not in categories:
            errors.append((("demands", i, "category"), f"{d.category!r} is not in taxonomy {tax.name!r}"))
        for s in d.required_skills:
            if s not in skills:
                errors.append((("demands", i, "required_skills"), f"{s!r} is not a skill of taxonomy {tax.name!r}"))
    return errors
