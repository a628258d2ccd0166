"""The service taxonomy matcher ships (categories, subcategories, skill codes).

A problem that sets ``"taxonomy": "builtin"`` must use these codes; a problem
may instead carry its own :class:`~matcher.model.Taxonomy` (inline, or a file
path relative to the problem file).
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

from matcher.model import Taxonomy

__all__ = ["builtin_taxonomy"]


@cache
def builtin_taxonomy() -> Taxonomy:
    """The shipped taxonomy (read once; immutable)."""
    text = resources.files("matcher").joinpath("data/taxonomy.json").read_text(encoding="utf-8")
    return Taxonomy.model_validate(json.loads(text))
