"""A second large instance of another shape: the district with tight hour caps and windows on a half-hour grid.

Built from the generator's district (seed 1, a school-holiday week, so students
are free on weekdays too), then:

- every volunteer's ``max_hours`` is drawn from 1.5, 2, 2.5, 3 and 4 hours, so
  the hour cap binds across unequal durations (the preset's caps are 4-12 h);
- half of the demands start 30 minutes earlier (their windows fall on the
  half-hour grid, and they last half an hour longer).

80,000 volunteers and 20,000 demands, like the district. Nothing is committed:
``python benchmarks/shapes.py OUT`` writes the Parquet tables to ``OUT``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import numpy as np

from matcher.generate import generate_tables

__all__ = ["tight_district"]


def tight_district(seed: int = 1) -> dict[str, dict[str, list[Any]]]:
    """The district preset reshaped as in the module docstring (tables: table -> column -> values)."""
    tables = generate_tables("district", seed, holiday=True)
    rng = np.random.default_rng(seed + 1000)
    vols, dems = tables["volunteers"], tables["demands"]
    vols["max_hours"] = rng.choice([1.5, 2.0, 2.5, 3.0, 4.0], size=len(vols["id"])).tolist()
    early = rng.random(len(dems["id"])) < 0.5
    dems["start"] = [
        (datetime.fromisoformat(s) - timedelta(minutes=30)).isoformat() if e else s
        for s, e in zip(dems["start"], early.tolist())
    ]
    return tables


if __name__ == "__main__":
    import sys

    from matcher.io import write_tables

    write_tables(tight_district(), sys.argv[1], fmt="parquet", settings={"taxonomy": "builtin"})
    print(sys.argv[1])
