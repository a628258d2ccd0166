"""``matcher.__all__`` is the public surface: every public name is listed, and every listed name is real.

(After httpx's ``tests/test_exported_members.py``.) Subpackages (``matcher.model``, ``matcher.engine``, ...)
are the layers behind the surface; each lists its own ``__all__`` the same way.
"""

from __future__ import annotations

import importlib
import types

import pytest

import matcher

SUBPACKAGES = ["matcher.model", "matcher.io", "matcher.engine", "matcher.dispatch", "matcher.workflows",
               "matcher.cli"]


def test_all_is_sorted_and_unique() -> None:
    assert len(set(matcher.__all__)) == len(matcher.__all__)
    assert matcher.__all__ == sorted(matcher.__all__, key=lambda n: (not n.isupper(), not n[0].isupper(), n))


def test_every_public_name_is_listed_and_every_listed_name_exists() -> None:
    public = {name for name, value in vars(matcher).items()
              if not name.startswith("_") and not isinstance(value, types.ModuleType)}
    assert public - {"annotations"} == set(matcher.__all__)  # (the __future__ feature is not an export)
    for name in matcher.__all__:
        assert getattr(matcher, name) is not None


@pytest.mark.parametrize("name", matcher.__all__)
def test_each_export_is_defined_inside_the_package(name: str) -> None:
    value = getattr(matcher, name)
    home = getattr(value, "__module__", None)
    if home is None or home == "types":  # constants and type aliases: found in some subpackage's __all__
        assert any(name in importlib.import_module(p).__all__ for p in SUBPACKAGES) or name == "PRESETS"
    else:
        assert home.startswith("matcher."), f"{name} comes from {home}"


@pytest.mark.parametrize("package", SUBPACKAGES)
def test_subpackage_all_lists_real_names(package: str) -> None:
    mod = importlib.import_module(package)
    assert mod.__all__, f"{package} lists nothing"
    for name in mod.__all__:
        assert hasattr(mod, name), f"{package}.__all__ lists {name}, which it does not have"


def test_version() -> None:
    assert matcher.__version__.count(".") == 2
