"""Values read from a store that other processes may share, reused for a short wall time."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")
MAX_ENTRIES = 10_000


class RecentReads(Generic[V]):
    """Reads kept for `max_age_s` of wall time, so another process's change shows up that soon
    (this process's own changes are `put` at once). Keys are tuples that start with a tenant."""

    def __init__(self, wall: Callable[[], float], max_age_s: float) -> None:
        self._wall = wall
        self._max_age_s = max_age_s
        self._entries: dict[tuple[Hashable, ...], tuple[float, V]] = {}

    def get(self, key: tuple[Hashable, ...], read: Callable[[], V]) -> V:
        held = self._entries.get(key)
        if held is not None and self._wall() - held[0] < self._max_age_s:
            return held[1]
        value = read()
        self.put(key, value)
        return value

    def put(self, key: tuple[Hashable, ...], value: V) -> None:
        if len(self._entries) >= MAX_ENTRIES:
            self._entries.clear()
        self._entries[key] = (self._wall(), value)

    def forget(self, tenant: str | None) -> None:
        """Drop the tenant's entries (every entry with None)."""
        if tenant is None:
            self._entries.clear()
            return
        for key in [k for k in self._entries if k[0] == tenant]:
            del self._entries[key]
