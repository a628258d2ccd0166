"""Large instances of other shapes than the district preset, built from it (80,000 volunteers, 20,000 demands).

Both start from the generator's district (seed 1) in a school-holiday week
(students free on weekdays too), with half of the demands starting 30 minutes
earlier: their windows fall on the half-hour grid and last half an hour longer
(``halfhour``). ``tight`` also draws every volunteer's ``max_hours`` from 1.5,
2, 2.5, 3 and 4 hours, so the hour cap binds across unequal durations (the
preset's caps are 4-12 h); its LP is far more fractional (about 7,000
fractional columns against the district's 700).

Nothing is committed: ``python benchmarks/shapes.py halfhour|tight OUT`` writes
the Parquet tables to ``OUT``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import numpy as np

from matcher.generate import generate_tables

__all__ = ["SHAPES", "halfhour_district", "tight_district"]


def halfhour_district(seed: int = 1) -> dict[str, dict[str, list[Any]]]:
    """The district preset with half of its demands on the half-hour grid (tables: table -> column -> values)."""
    tables = generate_tables("district", seed, holiday=True)
    rng = np.random.default_rng(seed + 1000)
    dems = tables["demands"]
    early = rng.random(len(dems["id"])) < 0.5
    dems["start"] = [
        (datetime.fromisoformat(s) - timedelta(minutes=30)).isoformat() if e else s
        for s, e in zip(dems["start"], early.tolist())
    ]
    return tables


def tight_district(seed: int = 1) -> dict[str, dict[str, list[Any]]]:
    """:func:`halfhour_district` with tight hour caps (tables: table -> column -> values)."""
    tables = halfhour_district(seed)
    rng = np.random.default_rng(seed + 2000)
    vols = tables["volunteers"]
    vols["max_hours"] = rng.choice([1.5, 2.0, 2.5, 3.0, 4.0], size=len(vols["id"])).tolist()
    return tables


SHAPES = {"halfhour": halfhour_district, "tight": tight_district}


if __name__ == "__main__":
    import sys

    from matcher.io import write_tables

    write_tables(SHAPES[sys.argv[1]](), sys.argv[2], fmt="parquet", settings={"taxonomy": "builtin"})
    print(sys.argv[2])
