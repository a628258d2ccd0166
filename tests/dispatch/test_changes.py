"""Change records are validated exactly as records are: a bad one is named, and the plan stays as it was."""

from __future__ import annotations

from typing import Any

import pytest

from matcher import Dispatcher, Problem, ProblemError, SolveOptions, VolunteerUnavailable, apply_changes

BAD_CHANGES: list[tuple[dict[str, Any], str]] = [
    ({"kind": "volunteer_unavailable", "volunteer_id": "a", "start": "2026-11-23T12:00:00+08:00",
      "end": "2026-11-23T08:00:00+08:00"},
     r"changes\[0\]\.volunteer_unavailable: start \(2026-11-23T12:00:00\+08:00\) must be before end"),
    ({"kind": "volunteer_unavailable", "volunteer_id": "a", "start": 1_700_000_000},
     r"changes\[0\]\.volunteer_unavailable\.start: a time must be an ISO 8601 date-time string.*not the number"),
    ({"kind": "volunteer_unavailable", "volunteer_id": "a", "end": "46363.375"},
     r"changes\[0\]\.volunteer_unavailable\.end: '46363.375' is a number, not a time"),
    ({"kind": "volunteer_unavailable", "volunteer_id": "a", "start": "2026-11-23T08:00:00"},
     r"changes\[0\]\.volunteer_unavailable\.start: 2026-11-23T08:00:00 has no UTC offset"),
    ({"kind": "demand_withdrawn", "demand_id": 4}, r"changes\[0\]\.demand_withdrawn\.demand_id"),
    ({"kind": "volunteer_away", "volunteer_id": "a"}, r"changes\[0\]"),
]


@pytest.mark.parametrize(("change", "message"), BAD_CHANGES)
def test_a_bad_change_is_refused_and_named(tiny: Problem, change: dict[str, Any], message: str) -> None:
    with pytest.raises(ProblemError, match=message):
        apply_changes(tiny, [change])
    desk = Dispatcher(tiny, SolveOptions(time_limit_s=5))
    before = desk.solution
    with pytest.raises(ProblemError, match=message):
        desk.repair([change])
    assert desk.solution is before and desk.revision == 0


def test_a_reversed_window_in_a_model_is_refused_at_construction() -> None:
    with pytest.raises(ValueError, match="must be before end"):
        VolunteerUnavailable(volunteer_id="a", start="2026-11-23T12:00:00+08:00",  # type: ignore[arg-type]
                             end="2026-11-23T08:00:00+08:00")  # type: ignore[arg-type]


def test_a_change_reads_its_times_in_the_problems_zone(tiny: Problem) -> None:
    zoned = tiny.replace(timezone="Asia/Shanghai")
    new, touched, _ = apply_changes(zoned, [{"kind": "volunteer_unavailable", "volunteer_id": "a",
                                             "start": "2026-11-23T08:00:00", "end": "2026-11-23T10:00:00"}])
    assert touched == {"a"}
    assert [w.start.isoformat() for w in new.volunteers[0].availability] == ["2026-11-23T10:00:00+08:00"]
