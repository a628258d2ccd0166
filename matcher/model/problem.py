"""A whole matching problem (SPEC.md's Problem), with the checks that span records.

Field-level rules are checked by each record's model (:mod:`matcher.model.records`);
rules that span records (unique ids, references, taxonomy codes) are checked here,
and every bad record is named at once in one :class:`~matcher.errors.ProblemError`.

Input means what the caller meant (SPEC.md):

- times written without a UTC offset are read in the problem's ``timezone``
  (an IANA name), when it names one; otherwise they are an error;
- **hard references** (a pinned pair's volunteer and demand, a demand's
  ``area_id``) must name existing records: an error;
- **soft references** that went stale (a departed volunteer still in a
  demand's ``preferred_volunteers``; a ``forbidden`` or ``previous`` pair naming
  a withdrawn order or a departed volunteer; a rating of a departed volunteer)
  are dropped and reported in ``warnings``, which a solve copies into its
  solution. A rating's demand and series are history: they need not be in the
  problem.

A problem is immutable; :meth:`Problem.replace` is the one way to derive another.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any, Literal, Self

from pydantic import Field, ValidationError, ValidationInfo, field_validator, model_validator

from matcher.errors import ProblemError
from matcher.model.options import SolveOptions
from matcher.model.records import Area, Assignment, Demand, Frozen, Rating, Travel, Volunteer
from matcher.model.taxonomy import Taxonomy, resolve_taxonomy
from matcher.model.validation import (
    Locator,
    RecordErrors,
    RecordIssue,
    format_validation_error,
    json_locator,
    shown_id,
)
from matcher.model.values import localize_naive, zone

__all__ = ["Problem"]


class Problem(Frozen):
    """A whole matching problem: the input of :func:`matcher.solve`.

    Extensions to SPEC.md: ``previous`` (assignments of an earlier solution,
    which the change term of the secondary objective prefers to keep) and
    ``taxonomy`` (``"builtin"`` or an inline :class:`Taxonomy`; when set, every
    category and skill code must come from it); ``warnings`` (what reading the
    input noticed and left out, e.g. stale soft references). SPEC's v2 fields:
    ``timezone``, ``travel`` and ``ratings``.
    """

    areas: tuple[Area, ...] = ()
    volunteers: tuple[Volunteer, ...] = ()
    demands: tuple[Demand, ...] = ()
    pinned: tuple[Assignment, ...] = ()
    forbidden: tuple[Assignment, ...] = ()
    previous: tuple[Assignment, ...] = ()
    options: SolveOptions | None = None
    taxonomy: Literal["builtin"] | Taxonomy | None = None
    timezone: str | None = Field(default=None, description="IANA zone for times written without an offset")
    travel: Travel | None = Field(default=None, description="v2: reach and time between tasks by travel minutes")
    ratings: tuple[Rating, ...] = Field(default=(), description="v2: past ratings after service (评单)")
    warnings: tuple[str, ...] = Field(default=(), description="what reading the input left out, and why")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None:
            zone(value)
        return value

    @model_validator(mode="before")
    @classmethod
    def _as_meant(cls, data: Any, info: ValidationInfo) -> Any:
        """Read naive times in the problem's zone; drop stale soft references, each with a warning."""
        if not isinstance(data, Mapping):
            return data
        data = dict(data)
        if isinstance(data.get("timezone"), str):
            try:
                tz = zone(data["timezone"])
            except ValueError:
                pass  # the field's own check names it
            else:
                _localize(data, tz)
        render = (info.context or {}).get("locator") or json_locator("problem")
        source = (info.context or {}).get("data", data)
        warnings = _drop_stale(data, lambda loc: render(loc, source))
        if warnings:
            data["warnings"] = (*tuple(data.get("warnings") or ()), *warnings)
        return data

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
        render = locator or json_locator(source)
        try:
            return cls.model_validate(data, context={"locator": render, "data": data})
        except ValidationError as exc:
            raise ProblemError(format_validation_error(exc, data, source=source, locator=locator)) from None

    def fingerprint(self) -> str:
        """SHA-256 (hex) of the problem's content: its canonical JSON, ``warnings`` left out.

        The same problem read from JSON, CSV or Parquet has the same fingerprint. A run records it, so
        that ``matcher explain`` can refuse a run made for another input.
        """
        return hashlib.sha256(self.model_dump_json(exclude={"warnings"}).encode("utf-8")).hexdigest()

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


def _field(record: Any, name: str) -> Any:
    """A field of a record given as a mapping or as a model (None when absent)."""
    return record.get(name) if isinstance(record, Mapping) else getattr(record, name, None)


def _ids(records: Any) -> set[str] | None:
    """The ids of a list of records, or None when the list is not well formed (its validation will say why)."""
    if not isinstance(records, list | tuple):
        return None
    ids = [_field(r, "id") for r in records]
    return {i for i in ids if isinstance(i, str)} if all(isinstance(i, str) for i in ids) else None


def _localize(data: dict[str, Any], tz: Any) -> None:
    """Times without an offset, in volunteers' windows and demands' windows, read in ``tz`` (in place)."""

    def times(record: Any, names: tuple[str, ...]) -> Any:
        if not isinstance(record, Mapping):
            return record
        return {**record, **{n: localize_naive(record[n], tz) for n in names if n in record}}

    if isinstance(data.get("demands"), list | tuple):
        data["demands"] = [times(d, ("start", "end")) for d in data["demands"]]
    if isinstance(data.get("volunteers"), list | tuple):
        data["volunteers"] = [
            {**v, "availability": [times(w, ("start", "end")) for w in v["availability"]]}
            if isinstance(v, Mapping) and isinstance(v.get("availability"), list | tuple) else v
            for v in data["volunteers"]]


def _drop_stale(data: dict[str, Any], where: Any) -> list[str]:
    """Drop soft references to records that are not there (in place); one warning line each."""
    volunteer_ids, demand_ids = _ids(data.get("volunteers", ())), _ids(data.get("demands", ()))
    if volunteer_ids is None or demand_ids is None:
        return []
    out: list[str] = []
    demands = list(data.get("demands", ()))
    for i, d in enumerate(demands):
        preferred = _field(d, "preferred_volunteers")
        if not isinstance(preferred, list | tuple) or all(p in volunteer_ids for p in preferred if isinstance(p, str)):
            continue
        gone = [p for p in preferred if isinstance(p, str) and p not in volunteer_ids]
        out += [f"{where(('demands', i, 'preferred_volunteers'))}: unknown volunteer {p!r}, dropped" for p in gone]
        kept = [p for p in preferred if p not in gone]
        demands[i] = {**d, "preferred_volunteers": kept} if isinstance(d, Mapping) else d.model_copy(
            update={"preferred_volunteers": tuple(kept)})
    if out:
        data["demands"] = demands
    ratings = data.get("ratings")
    if isinstance(ratings, list | tuple):
        kept_ratings = []
        for i, r in enumerate(ratings):
            vid = _field(r, "volunteer_id")
            if isinstance(vid, str) and vid not in volunteer_ids:
                out.append(f"{where(('ratings', i, 'volunteer_id'))}: unknown volunteer {vid!r}, rating dropped")
            else:
                kept_ratings.append(r)
        if len(kept_ratings) != len(ratings):
            data["ratings"] = kept_ratings
    for name in ("forbidden", "previous"):
        pairs = data.get(name)
        if not isinstance(pairs, list | tuple):
            continue
        kept_pairs = []
        for i, a in enumerate(pairs):
            vid, did = _field(a, "volunteer_id"), _field(a, "demand_id")
            stale = [(key, kind, x) for key, kind, x, known in (("volunteer_id", "volunteer", vid, volunteer_ids),
                                                                 ("demand_id", "demand", did, demand_ids))
                     if isinstance(x, str) and x not in known]
            if stale:
                out += [f"{where((name, i, key))}: unknown {kind} {x!r}, pair dropped" for key, kind, x in stale[:1]]
            else:
                kept_pairs.append(a)
        if len(kept_pairs) != len(pairs):
            data[name] = kept_pairs
    return out
