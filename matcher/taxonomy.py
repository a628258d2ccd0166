"""The service taxonomy matcher ships (categories, subcategories, skill codes).

The builtin taxonomy (``matcher/data/taxonomy.json``) is a needs menu of 12
categories x 4 subcategories drawn from community surveys, each subcategory
naming the skill codes it needs; skills that need a certificate (doctor, nurse,
lawyer, counsellor, electrician, rescue) are flagged.

A problem that sets ``"taxonomy": "builtin"`` must use these codes. A problem
may instead carry its own :class:`~matcher.model.Taxonomy` (inline, or a file
path relative to the problem file); with ``"extends": "builtin"`` its codes are
added to the shipped ones, so a district can keep the menu and add its own
services and skills.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

from matcher.model import Taxonomy

__all__ = ["builtin_taxonomy", "resolve_taxonomy"]


@cache
def builtin_taxonomy() -> Taxonomy:
    """The shipped taxonomy (read once; immutable)."""
    text = resources.files("matcher").joinpath("data/taxonomy.json").read_text(encoding="utf-8")
    return Taxonomy.model_validate(json.loads(text))


def resolve_taxonomy(value: Taxonomy | str) -> Taxonomy:
    """The taxonomy a problem's ``taxonomy`` field names.

    ``"builtin"`` is the shipped one; a problem's own is merged onto it when it says ``"extends": "builtin"``.
    """
    if isinstance(value, str):
        if value != "builtin":
            raise ValueError(f"unknown taxonomy {value!r}")
        return builtin_taxonomy()
    return value.merged_onto(builtin_taxonomy()) if value.extends == "builtin" else value
