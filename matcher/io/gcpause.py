"""Loading without the cyclic garbage collector: a district's tables make a million objects and no cycles.

Reading a district (80,000 volunteers) allocates well over a million lists,
dicts and records, all of them kept. CPython's cyclic collector runs every
few hundred allocations and, as the objects survive, scans the older
generations again and again: about 40% of a district's load time, to find
nothing (the loaders make no reference cycles). :func:`paused_gc` turns it
off for the duration of a load and back on after (only if it was on); the
objects are collected as usual by reference counting.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["paused_gc"]


@contextmanager
def paused_gc() -> Iterator[None]:
    """Run the block with the cyclic garbage collector off; re-enable it after, if it was on (nesting is fine)."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()
