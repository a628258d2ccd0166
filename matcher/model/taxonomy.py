"""The service taxonomy: categories, subcategories and skill codes, and the one matcher ships.

The builtin taxonomy (``matcher/data/taxonomy.json``) is a needs menu of 12
categories x 4 subcategories drawn from community surveys, each subcategory
naming the skill codes it needs; skills that need a certificate (doctor, nurse,
lawyer, counsellor, electrician, rescue) are flagged. It is package data, read
once through :mod:`importlib.resources` (the model reads no user files).

A problem that sets ``"taxonomy": "builtin"`` must use these codes. A problem
may instead carry its own :class:`Taxonomy` (inline, or a file path relative to
the problem file, which :mod:`matcher.io` reads); with ``"extends": "builtin"``
its codes are added to the shipped ones, so a district can keep the menu and
add its own services and skills.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cache
from importlib import resources
from typing import Literal

from pydantic import Field

from matcher.model.records import Frozen
from matcher.model.values import Flag

__all__ = ["Category", "Skill", "Subcategory", "Taxonomy", "builtin_taxonomy", "resolve_taxonomy"]


class Skill(Frozen):
    """A skill code of a taxonomy, with its English and Chinese names (for reports)."""

    code: str = Field(min_length=1)
    name: str = ""
    name_zh: str = ""
    certificate: Flag = False


class Subcategory(Frozen):
    """A subcategory of a service category, with the skills it usually needs."""

    code: str = Field(min_length=1)
    name: str = ""
    name_zh: str = ""
    skills: tuple[str, ...] = ()


class Category(Frozen):
    """A service category of a needs menu."""

    code: str = Field(min_length=1)
    name: str = ""
    name_zh: str = ""
    subcategories: tuple[Subcategory, ...] = ()


class Taxonomy(Frozen):
    """Categories, subcategories and skill codes that a problem's codes must come from."""

    name: str = "custom"
    extends: Literal["builtin"] | None = Field(
        default=None, description='"builtin": these codes are added to the shipped taxonomy (same code: this one wins)'
    )
    categories: tuple[Category, ...] = ()
    skills: tuple[Skill, ...] = ()

    def merged_onto(self, base: Taxonomy) -> Taxonomy:
        """``base`` extended by this taxonomy: new codes added; a category's subcategories merged; same code wins."""
        cats = {c.code: c for c in base.categories}
        for c in self.categories:
            if c.code in cats:
                subs = {s.code: s for s in cats[c.code].subcategories}
                subs.update((s.code, s) for s in c.subcategories)
                c = Category(code=c.code, name=c.name or cats[c.code].name,
                             name_zh=c.name_zh or cats[c.code].name_zh, subcategories=tuple(subs.values()))
            cats[c.code] = c
        skills = {s.code: s for s in base.skills}
        skills.update((s.code, s) for s in self.skills)
        return Taxonomy(name=self.name, categories=tuple(cats.values()), skills=tuple(skills.values()))

    def category_codes(self) -> frozenset[str]:
        """Codes a demand's ``category`` may take: categories and subcategories."""
        codes = {c.code for c in self.categories}
        codes.update(s.code for c in self.categories for s in c.subcategories)
        return frozenset(codes)

    def category_names(self, lang: str = "zh") -> dict[str, str]:
        """Display names of the category and subcategory codes: ``name_zh`` for ``lang="zh"``, else ``name``.

        A missing name falls back to the other language, then to the code.
        """
        return _names([*self.categories, *(s for c in self.categories for s in c.subcategories)], lang)

    def skill_names(self, lang: str = "zh") -> dict[str, str]:
        """Display names of the skill codes, as :meth:`category_names`."""
        return _names(list(self.skills), lang)

    def skill_codes(self) -> frozenset[str]:
        """Codes a skill list may contain."""
        return frozenset(s.code for s in self.skills)


def _names(items: Sequence[Skill | Category | Subcategory], lang: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        first, second = (item.name_zh, item.name) if lang == "zh" else (item.name, item.name_zh)
        out[item.code] = first or second or item.code
    return out


@cache
def builtin_taxonomy() -> Taxonomy:
    """The shipped taxonomy (read once; immutable)."""
    text = resources.files("matcher").joinpath("data/taxonomy.json").read_text(encoding="utf-8")
    return Taxonomy.model_validate(json.loads(text))


def resolve_taxonomy(value: Taxonomy | str) -> Taxonomy:
    """The taxonomy a problem's ``taxonomy`` field names.

    ``"builtin"`` is the shipped one; a problem's own is merged onto it when it says ``"extends": "builtin"``.

    Raises
    ------
    ValueError
        For a name other than ``"builtin"``.

    """
    if isinstance(value, str):
        if value != "builtin":
            raise ValueError(f"unknown taxonomy {value!r}")
        return builtin_taxonomy()
    return value.merged_onto(builtin_taxonomy()) if value.extends == "builtin" else value
