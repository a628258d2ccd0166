"""Changes to a problem during the day, as a dispatch service reports them.

A list of changes is applied in order by :func:`matcher.apply_changes` (and a
repair). Plain dicts with a ``kind`` work too; :func:`parse_changes` turns
them into these models, naming a bad one by its place in the list.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from matcher.errors import ProblemError
from matcher.model.records import Demand
from matcher.model.validation import format_validation_error

__all__ = ["AssignmentPinned", "Change", "DemandAdded", "DemandChanged", "DemandWithdrawn", "PairForbidden",
           "VolunteerUnavailable", "parse_changes"]


class ChangeRecord(BaseModel):
    """Base of the change kinds: immutable, unknown fields refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class VolunteerUnavailable(ChangeRecord):
    """A volunteer cancels: unavailable from ``start`` to ``end`` (default: the whole horizon)."""

    kind: Literal["volunteer_unavailable"] = "volunteer_unavailable"
    volunteer_id: str
    start: AwareDatetime | None = None
    end: AwareDatetime | None = None


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


def parse_changes(changes: Sequence[Change] | Sequence[dict[str, object]]) -> list[Change]:
    """Validate a list of changes (models or plain dicts with a ``kind``).

    Raises
    ------
    ProblemError
        Naming each bad change as ``changes[i]`` and its field.

    """
    try:
        return _ADAPTER.validate_python(list(changes))
    except ValidationError as exc:
        raise ProblemError(format_validation_error(exc, list(changes), source="changes")) from None
