"""A plan during the day: repair it after changes, recommend who to send, explain why.

- :mod:`~matcher.dispatch.workspace`: a plan with its arrays and candidate pairs; changes applied to a problem;
- :mod:`~matcher.dispatch.repair`: re-optimise a region around the changes, moving as little as possible;
- :mod:`~matcher.dispatch.dispatcher`: :class:`Dispatcher`, the object a dispatch service keeps all day;
- :mod:`~matcher.dispatch.explain`: why a demand's seats are (not) filled, an assignment's score parts;
- :mod:`~matcher.dispatch.recommend`: the best volunteers for one demand, priced against the plan.
"""

from matcher.dispatch.dispatcher import Dispatcher
from matcher.dispatch.explain import (
    AssignmentScore,
    CandidateNote,
    DemandExplanation,
    Exclusion,
    VolunteerExplanation,
    explain_demand,
    explain_volunteer,
)
from matcher.dispatch.recommend import Recommendation, recommend
from matcher.dispatch.repair import repair
from matcher.dispatch.workspace import Workspace, apply_changes

__all__ = [
    "AssignmentScore",
    "CandidateNote",
    "DemandExplanation",
    "Dispatcher",
    "Exclusion",
    "Recommendation",
    "VolunteerExplanation",
    "Workspace",
    "apply_changes",
    "explain_demand",
    "explain_volunteer",
    "recommend",
    "repair",
]
