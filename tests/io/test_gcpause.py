"""Loading with the garbage collector paused, and freezing what was loaded when the process allows it."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from matcher.io.gcpause import freeze_loaded, paused_gc
from matcher.io.load import load_input


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    try:
        yield
    finally:
        freeze_loaded(False)
        gc.unfreeze()


def test_a_library_caller_keeps_its_collector(unfrozen: None) -> None:
    was = gc.isenabled()
    with paused_gc():
        assert not gc.isenabled()
        load_input("matcher/data/sample_problem.json")
    assert gc.isenabled() == was and gc.get_freeze_count() == 0  # nothing frozen: cycles are collected as before


def test_the_command_line_freezes_what_it_loaded(unfrozen: None) -> None:
    freeze_loaded()
    problem = load_input("matcher/data/sample_problem.json")
    assert gc.get_freeze_count() > len(problem.volunteers)
    objects = {id(o) for o in gc.get_objects()}  # the collector's generations leave out what was frozen
    assert id(problem.volunteers[0].__dict__) not in objects
