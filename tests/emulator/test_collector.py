"""The server's garbage-collector policy: survivors frozen each tick, dead cycles swept."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from qstash_emulator.collector import BUSY_SWEEP_TICKS, SWEEP_GROWTH, Freezer


class Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the cyclic collector can free it


@pytest.fixture
def freezer() -> Iterator[Freezer]:
    thresholds = gc.get_threshold()
    try:
        yield Freezer()
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
        gc.collect()


def is_scanned(obj: object) -> bool:
    """Whether some collection would look at `obj` (frozen objects are in no generation)."""
    return any(candidate is obj for candidate in gc.get_objects())


def test_what_survives_until_a_tick_is_frozen(freezer: Freezer) -> None:
    survivor = Node()
    assert is_scanned(survivor)
    freezer.tick()
    assert not is_scanned(survivor)


def test_a_cycle_that_died_frozen_is_swept_once_the_set_grew_and_it_is_quiet(
        freezer: Freezer) -> None:
    cycle = Node()
    freezer.tick()
    dead = weakref.ref(cycle)
    del cycle
    gc.collect()
    assert dead() is not None  # frozen: no collection sees it
    grown = [[n] for n in range(int(freezer.swept_size * SWEEP_GROWTH))]
    freezer.tick()  # many survivors: busy, the set is not yet eight times as large
    assert freezer.sweeps == 0 and dead() is not None
    freezer.tick()  # quiet now: the set grew by more than a quarter, so a sweep
    assert freezer.sweeps == 1 and dead() is None
    assert len(grown) > 0


def test_under_sustained_load_a_sweep_waits_only_so_many_ticks(freezer: Freezer) -> None:
    cycle = Node()
    freezer.tick()
    dead = weakref.ref(cycle)
    del cycle
    kept = [[n] for n in range(int(freezer.swept_size * SWEEP_GROWTH))]
    freezer.ticks = BUSY_SWEEP_TICKS - 2
    freezer.tick()  # busy, and not yet waited long enough
    assert freezer.sweeps == 0 and dead() is not None
    kept += [[n] for n in range(2_000)]
    freezer.tick()  # still busy, but the wait is over
    assert freezer.sweeps == 1 and dead() is None and freezer.ticks == 0
