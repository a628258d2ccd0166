"""Changes to a problem during the day, as a dispatch service reports them.

A list of changes is applied in order by :func:`matcher.apply_changes` (and a
repair). Plain dicts with a ``kind`` work too; :func:`parse_changes` turns
them into these models, naming a bad one by its place in the list.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal, Self
from zoneinfo import ZoneInfo

from pydantic import Field, TypeAdapter, ValidationError, model_validator

from matcher.errors import ProblemError
from matcher.model.records import Demand, Frozen
from matcher.model.validation import format_validation_error
from matcher.model.values import Time, localize_naive, zone

__all__ = ["AssignmentPinned", "Change", "DemandAdded", "DemandChanged", "DemandWithdrawn", "PairForbidden",
           "VolunteerUnavailable", "parse_changes"]


class ChangeRecord(Frozen):
    """Base of the change kinds: validated as strictly as the records they change."""


class VolunteerUnavailable(ChangeRecord):
    """A volunteer cancels: unavailable from ``start`` to ``end`` (default: the whole horizon)."""

    kind: Literal["volunteer_unavailable"] = "volunteer_unavailable"
    volunteer_id: str
    start: Time | None = None
    end: Time | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.start is not None and self.end is not None and not self.start < self.end:
            raise ValueError(f"start ({self.start.isoformat()}) must be before end ({self.end.isoformat()})")
        return self


class DemandAdded(ChangeRecord):
    """A new order."""

    kind: Literal["demand_added"] = "demand_added"
    demand: Demand


class DemandChanged(ChangeRecord):
    """An order changed (same id; any field may differ)."""

    kind: Literal["demand_changed"] = "demand_changed"
    demand: Demand


class DemandWithdrawn(ChangeRecord):
    """An order withdrawn."""

    kind: Literal["demand_withdrawn"] = "demand_withdrawn"
    demand_id: str


class PairForbidden(ChangeRecord):
    """A volunteer may not serve a demand (declined, or a conflict of interest)."""

    kind: Literal["pair_forbidden"] = "pair_forbidden"
    volunteer_id: str
    demand_id: str


class AssignmentPinned(ChangeRecord):
    """An assignment accepted (接单): it must stay."""

    kind: Literal["assignment_pinned"] = "assignment_pinned"
    volunteer_id: str
    demand_id: str


Change = Annotated[VolunteerUnavailable | DemandAdded | DemandChanged | DemandWithdrawn | PairForbidden
                   | AssignmentPinned, Field(discriminator="kind")]
"""One change to a problem; a list of them is applied in order."""

_ADAPTER: TypeAdapter[list[Change]] = TypeAdapter(list[Change])


def parse_changes(changes: Sequence[Change] | Sequence[dict[str, object]], *,
                  timezone: str | None = None) -> list[Change]:
    """Validate a list of changes (models or plain dicts with a ``kind``).

    ``timezone`` (the problem's, an IANA name) reads times written without an offset, as in the problem.

    Raises
    ------
    ProblemError
        Naming each bad change as ``changes[i]`` and its field.

    """
    raw: list[Any] = list(changes)
    if timezone is not None:
        tz = zone(timezone)
        raw = [_localized(c, tz) for c in raw]
    try:
        return _ADAPTER.validate_python(raw)
    except ValidationError as exc:
        raise ProblemError(format_validation_error(exc, list(changes), source="changes")) from None


def _localized(change: Any, tz: ZoneInfo) -> Any:
    """A change given as a dict, with its times written without an offset read in ``tz``."""
    if not isinstance(change, dict):
        return change
    out = {k: localize_naive(v, tz) if k in ("start", "end") else v for k, v in change.items()}
    demand = out.get("demand")
    if isinstance(demand, dict):
        out["demand"] = {k: localize_naive(v, tz) if k in ("start", "end") else v for k, v in demand.items()}
    return out
