"""The shipped taxonomy's Chinese names (``name_zh``), and the display names reports take from a taxonomy."""

from __future__ import annotations

import re

from matcher import Taxonomy, builtin_taxonomy
from matcher.model.taxonomy import Category, Skill, Subcategory

CJK = re.compile(r"[\u4e00-\u9fff]")


def test_every_builtin_code_has_a_chinese_and_an_english_name() -> None:
    tax = builtin_taxonomy()
    items = [*tax.skills, *tax.categories, *(s for c in tax.categories for s in c.subcategories)]
    assert len(items) == 29 + 12 + 48
    for item in items:
        assert CJK.search(item.name_zh), item.code
        assert item.name and not CJK.search(item.name), item.code
    names = tax.category_names("zh")
    assert names["health"] == "医疗健康" and names["medicine_delivery"] == "送药上门"
    assert tax.category_names("en")["health"] == "Health"
    # a code that is both a skill and a category keeps one name per kind
    assert tax.skill_names()["elder_care"] != names["elder_care"]


def test_names_fall_back_to_the_other_language_then_the_code() -> None:
    tax = Taxonomy(categories=(Category(code="a", name="Apples", subcategories=(Subcategory(code="a1"),)),
                               Category(code="b", name_zh="香蕉")),
                   skills=(Skill(code="s"),))
    assert tax.category_names("zh") == {"a": "Apples", "a1": "a1", "b": "香蕉"}
    assert tax.category_names("en") == {"a": "Apples", "a1": "a1", "b": "香蕉"}
    assert tax.skill_names("en") == {"s": "s"}


def test_an_extension_keeps_the_builtin_chinese_name_of_a_category_it_extends() -> None:
    extra = Taxonomy(extends="builtin", categories=(
        Category(code="elder_care", subcategories=(Subcategory(code="haircut", name_zh="理发"),)),))
    merged = extra.merged_onto(builtin_taxonomy())
    names = merged.category_names("zh")
    assert names["elder_care"] == "为老服务" and names["haircut"] == "理发" and names["meal_help"] == "助餐"
