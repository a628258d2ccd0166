"""The sort orders of :mod:`matcher.engine.sorting` are numpy's stable argsort and lexsort, exactly."""

from __future__ import annotations

import numpy as np
import pytest

from matcher.engine.sorting import SMALL, stable_order, stable_order_by


@pytest.mark.parametrize("n", [0, 1, 7, SMALL - 1, SMALL, 50_000])
@pytest.mark.parametrize("spread", [1, 3, 1000, 10**12, 2**62])
def test_stable_order_is_numpys_stable_argsort(n: int, spread: int) -> None:
    rng = np.random.default_rng(n + spread % 1000)
    key = rng.integers(-spread, spread, n, dtype=np.int64)  # many ties when the spread is small
    got = stable_order(key)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, np.argsort(key, kind="stable"))


def test_stable_order_takes_narrow_integer_types() -> None:
    rng = np.random.default_rng(3)
    for dtype in (np.int8, np.int32, np.uint16, np.uint32):
        key = rng.integers(0, 100, 20_000).astype(dtype)
        np.testing.assert_array_equal(stable_order(key), np.argsort(key, kind="stable"))


def test_uint64_keys_fall_back_to_numpy() -> None:
    key = np.array([2**63 + 7, 2**63, 5, 2**64 - 1] * 2000, dtype=np.uint64)  # not int64 values
    np.testing.assert_array_equal(stable_order(key), np.argsort(key, kind="stable"))
    np.testing.assert_array_equal(stable_order_by(key, key % 3), np.lexsort((key, key % 3)))


def test_extreme_keys_fall_back_to_numpy() -> None:
    key = np.array([2**62, -(2**62), 0, 5, 2**62, -(2**62)] * 2000, dtype=np.int64)  # the combined key would overflow
    np.testing.assert_array_equal(stable_order(key), np.argsort(key, kind="stable"))


@pytest.mark.parametrize("n", [0, 5, 30_000])
def test_stable_order_by_is_lexsort(n: int) -> None:
    rng = np.random.default_rng(n)
    cost = rng.integers(-50, 5000, n)
    weight = rng.integers(1, 4, n)
    demand = rng.integers(0, 300, n)
    for keys in ((cost,), (cost, -weight), (cost, demand), (cost, weight, demand)):
        np.testing.assert_array_equal(stable_order_by(*keys), np.lexsort(keys))


def test_stable_order_by_falls_back_when_the_packed_key_overflows() -> None:
    rng = np.random.default_rng(5)
    a = rng.integers(0, 2**40, 20_000)
    b = rng.integers(0, 2**30, 20_000)
    np.testing.assert_array_equal(stable_order_by(a, b), np.lexsort((a, b)))


def test_stable_order_by_needs_a_key() -> None:
    with pytest.raises(ValueError, match="at least one key"):
        stable_order_by()
