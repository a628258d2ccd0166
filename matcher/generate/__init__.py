"""Realistic synthetic places (presets) for demos, tests, benchmarks and scenarios.

- :mod:`~matcher.generate.presets`: the presets' sizes and shapes, the worlds (``v1``, ``v2``) and their settings;
- :mod:`~matcher.generate.place`: drawing a place: geography, volunteers, a week of orders (v1);
- :mod:`~matcher.generate.world`: the v2 world on top: speeds and the 15-minute circle, households' weekly
  series, event crews, a history of ratings, preferred categories.

:func:`generate_tables` draws a place as columnar tables, :func:`generate_problem` as a validated
:class:`~matcher.model.Problem`. Same preset, seed and world, same output; a v1 draw is what the presets always
drew.
"""

from matcher.generate.place import generate_problem, generate_tables
from matcher.generate.presets import PRESETS, TRAVEL, WORLDS, Preset, Tables, World, generated_settings

__all__ = ["PRESETS", "TRAVEL", "WORLDS", "Preset", "Tables", "World", "generate_problem", "generate_tables",
           "generated_settings"]
