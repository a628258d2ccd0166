"""Loading without the cyclic garbage collector: a district's tables make a million objects and no cycles.

Reading a district (80,000 volunteers) allocates well over a million lists,
dicts and records, all of them kept. CPython's cyclic collector runs every
few hundred allocations and, as the objects survive, scans the older
generations again and again: about 40% of a district's load time, to find
nothing (the loaders make no reference cycles). :func:`paused_gc` turns it
off for the duration of a load and back on after (only if it was on); the
objects are collected as usual by reference counting.

When the collector comes back on, its next runs would scan the loaded objects
three times over (as the youngest generation, the middle one, then in a full
collection: 0.5 s on a district) to find nothing. A process that only runs
one command (the command line, :func:`freeze_loaded`) moves them to the
collector's permanent generation instead (:func:`gc.freeze`, which Python's
documentation gives for this). A library caller's process keeps its
collector as it was: freezing takes in every object the process holds, and
cyclic garbage among them would then never be freed.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["freeze_loaded", "paused_gc"]

_FREEZE: list[bool] = [False]  # whether paused_gc freezes what was loaded (freeze_loaded)


def freeze_loaded(on: bool = True) -> None:
    """Let :func:`paused_gc` move what exists when it ends to the permanent generation (:func:`gc.freeze`).

    For a process that runs one command and ends (the command line); off by default.
    """
    _FREEZE[0] = on


@contextmanager
def paused_gc() -> Iterator[None]:
    """Run the block with the cyclic garbage collector off; re-enable it after, if it was on (nesting is fine).

    With :func:`freeze_loaded`, what exists at the end is frozen first (:func:`gc.freeze`).
    """
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if _FREEZE[0]:
            gc.freeze()
        if was_on:
            gc.enable()
