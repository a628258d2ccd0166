"""Benchmark instances: the generator's presets, written once per session as Parquet tables.

Nothing large is committed: each instance is generated from its preset and seed
(``matcher generate --preset NAME --seed 1``), the district in about 15 s.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from matcher.generate import generate_tables
from matcher.io import write_tables

sys.path.insert(0, str(Path(__file__).parent))  # highs_model
sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))  # the independent rule checker (oracle)

SEED = 1


@pytest.fixture(scope="session")
def preset_folder(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """A function giving the folder of Parquet tables of a preset (seed 1), generated on first use."""
    made: dict[str, Path] = {}

    def folder(name: str) -> Path:
        if name not in made:
            path = tmp_path_factory.mktemp(name)
            write_tables(generate_tables(name, SEED), path, fmt="parquet", settings={"taxonomy": "builtin"})
            made[name] = path
        return made[name]

    return folder
