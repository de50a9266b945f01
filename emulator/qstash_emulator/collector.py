"""How the server process uses CPython's cyclic garbage collector.

A stored message leaves about eight GC-tracked objects behind (the message, its log events,
its delivery records), and they live long. CPython's generational collector rescans such
survivors in every young collection until one promotes them, and then in every middle one:
with thresholds high enough to make collections rare, each pause is tens of ms, and those
pauses were the p99 of publish-to-delivery latency.

Here young collections stay small (`YOUNG_THRESHOLD`), and every `FREEZE_EVERY_S` whatever
survived is moved to the permanent generation (`gc.freeze()`), which no collection scans. A
cycle that dies there is reclaimed by a full sweep (unfreeze, collect, freeze again), a pause
as long as the heap is large. It runs once the frozen set has grown by a quarter since the
last sweep (the rule CPython applies to its own oldest generation) and the process is quiet
(few survivors in the last second). Under sustained load it waits, for at most
`BUSY_SWEEP_TICKS` ticks, or until the set is eight times as large: what dead cycles can hold
meanwhile stays bounded.
"""

from __future__ import annotations

import asyncio
import gc

YOUNG_THRESHOLD = 5_000
MIDDLE_THRESHOLD = 20
OLD_THRESHOLD = 100
FREEZE_EVERY_S = 1.0
SWEEP_GROWTH = 1.25
BUSY_SWEEP_GROWTH = 8.0
BUSY_SWEEP_TICKS = 600
QUIET_SURVIVORS = 1_000
"""Fewer objects than this frozen in a tick: the process is quiet enough for a sweep."""


class Freezer:
    """Freezes the survivors of young collections; sweeps when the frozen set has grown.

    Counting the frozen set walks all of it, so it is counted only when an estimate (the
    objects frozen since, ignoring those freed meanwhile) says it may have grown enough.
    """

    def __init__(self) -> None:
        gc.freeze()  # what start-up made lives as long as the process
        gc.set_threshold(YOUNG_THRESHOLD, MIDDLE_THRESHOLD, OLD_THRESHOLD)
        self.swept_size = max(gc.get_freeze_count(), 1)
        self.estimate = self.swept_size
        self.sweeps = 0
        self.ticks = 0  # since the last sweep

    def tick(self) -> None:
        """Freeze what survived since the last tick; sweep if the frozen set has grown."""
        survivors = sum(len(gc.get_objects(generation)) for generation in range(3))
        self.estimate += survivors
        self.ticks += 1
        gc.freeze()
        patient = survivors >= QUIET_SURVIVORS and self.ticks < BUSY_SWEEP_TICKS
        growth = BUSY_SWEEP_GROWTH if patient else SWEEP_GROWTH
        if self.estimate < self.swept_size * growth:
            return
        self.estimate = gc.get_freeze_count()
        if self.estimate >= self.swept_size * growth:
            self.sweep()

    def sweep(self) -> None:
        """One full collection over everything, then freeze what is left."""
        gc.unfreeze()
        gc.collect()
        gc.freeze()
        self.swept_size = self.estimate = max(gc.get_freeze_count(), 1)
        self.sweeps += 1
        self.ticks = 0

    def every(self, loop: asyncio.AbstractEventLoop, seconds: float = FREEZE_EVERY_S) -> None:
        """Tick every `seconds` of wall time on `loop`, as long as it runs."""

        def tick_and_again() -> None:
            self.tick()
            loop.call_later(seconds, tick_and_again)

        loop.call_later(seconds, tick_and_again)
