"""Figures computed from the emulator's delivery log (`EmulatorControl.deliveries()`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def max_in_flight(deliveries: Iterable[Mapping[str, Any]]) -> int:
    """The most attempts that were in flight at once.

    Each record's `[startSeq, endSeq]` places its attempt in the emulator's one event sequence,
    so overlap is exact even on a virtual clock, where start and end share a millisecond.
    """
    edges = []
    for record in deliveries:
        edges += [(record["startSeq"], 1), (record["endSeq"], -1)]
    level = peak = 0
    for _, step in sorted(edges):
        level += step
        peak = max(peak, level)
    return peak


def max_in_window(deliveries: Iterable[Mapping[str, Any]], window_ms: int) -> int:
    """The most attempts started within any `window_ms` long (half-open) interval."""
    times = sorted(record["time"] for record in deliveries)
    peak = start = 0
    for end, time_ms in enumerate(times):
        while times[start] <= time_ms - window_ms:
            start += 1
        peak = max(peak, end - start + 1)
    return peak
