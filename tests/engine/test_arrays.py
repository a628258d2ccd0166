"""The array layer: exact time conversion and window merging."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone

import numpy as np

from matcher.engine.intervals import merge_windows
from matcher.engine.types import timestamps_us, utc_timestamp_us


def test_fast_timestamps_are_exact_to_the_microsecond() -> None:
    rng = random.Random(0)
    values = [
        datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=rng.randint(-12, 14))))
        + timedelta(microseconds=rng.randint(-10**15, 2 * 10**15))
        for _ in range(50_000)
    ]
    exact = np.array([utc_timestamp_us(v) for v in values])
    assert (timestamps_us(values) == exact).all()
    far = [datetime(2200, 5, 1, 0, 0, 0, 1, tzinfo=UTC)]  # past the fast path's range
    assert timestamps_us(far)[0] == utc_timestamp_us(far[0])


def test_merge_joins_overlapping_and_touching_windows_per_volunteer() -> None:
    vol = np.array([0, 0, 0, 1, 1])
    start = np.array([5, 0, 10, 0, 3])
    end = np.array([10, 4, 12, 2, 4])
    v, s, e = merge_windows(vol, start, end)
    # volunteer 0: [0,4] stays apart from [5,10] (a gap), [5,10] and [10,12] touch and join
    assert list(zip(v.tolist(), s.tolist(), e.tolist())) == [(0, 0, 4), (0, 5, 12), (1, 0, 2), (1, 3, 4)]


def test_a_liked_category_covers_its_subcategories_and_only_them() -> None:
    from matcher.engine.arrays import build_arrays
    from matcher.model import Problem

    when = {"start": "2026-03-02T09:00:00+08:00", "end": "2026-03-02T10:00:00+08:00"}
    likes = {"v-parent": ["elder_care"], "v-sub": ["home_visit"], "v-other": ["health"], "v-none": [],
             "v-unknown-here": ["free_clinic"], "v-both": ["elder_care", "meal_help"]}
    problem = Problem.model_validate({
        "taxonomy": "builtin",
        "volunteers": [{"id": v, "lat": 31.2, "lon": 121.4, "availability": [when], "preferred_categories": c}
                       for v, c in likes.items()],
        "demands": [{"id": f"d-{c}", "lat": 31.2, "lon": 121.4, "category": c, "headcount": 1, "priority": 1, **when}
                    for c in ("meal_help", "home_visit", "elder_care", "health_check")],
    })
    arr = build_arrays(problem)
    got = {(arr.volunteer_ids[v], arr.categories[c]) for v, c in zip(*arr.liked, strict=True)}
    assert got == {
        ("v-parent", "elder_care"), ("v-parent", "meal_help"), ("v-parent", "home_visit"),
        ("v-sub", "home_visit"), ("v-other", "health_check"),
        ("v-both", "elder_care"), ("v-both", "meal_help"), ("v-both", "home_visit"),
    }
    assert arr.v_says_likes is not None
    assert [bool(x) for x in arr.v_says_likes] == [bool(c) for c in likes.values()]
