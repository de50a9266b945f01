"""The tenant's message counters as the dashboard reads them: once per refresh window, shared
by every open page. Each page's stream looks at them once a second and, when they changed, the
page fetches itself, whose frame needs the same counters: within `FRESH_S` that fetch (and any
other tab of the tenant) reuses the stream's read instead of asking the store again."""

from __future__ import annotations

from collections.abc import Callable

from ..core.model import MessageCounts

FRESH_S = 0.5
"""How long (wall seconds) a read of the counters serves; under the stream's one second, so each
look of a stream reads them afresh."""


class CountsCache:
    """`read(tenant)` remembered per tenant for `fresh_s` wall seconds of `wall()`.

    >>> cache = CountsCache(service.message_counts, clock.wall)  # doctest: +SKIP
    """

    def __init__(self, read: Callable[[str], MessageCounts], wall: Callable[[], float],
                 fresh_s: float = FRESH_S) -> None:
        self._read = read
        self._wall = wall
        self._fresh_s = fresh_s
        self._held: dict[str, tuple[float, MessageCounts]] = {}

    def counts(self, tenant: str) -> MessageCounts:
        now = self._wall()
        held = self._held.get(tenant)
        if held is not None and 0 <= now - held[0] < self._fresh_s:
            return held[1]
        counts = self._read(tenant)
        self._held[tenant] = (now, counts)
        return counts

    def forget(self, tenant: str) -> None:
        """After an action: the page it leads back to shows the counters as they are now."""
        self._held.pop(tenant, None)
