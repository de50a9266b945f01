"""Fair delivery: a limit on attempts in flight per destination (scheme, host and port).

Without it one slow or hanging host would hold every global delivery slot and starve all the
others. Due messages whose destination is at its limit wait here, in the order they fell due,
and start as soon as an attempt to that destination ends; they take no global slot meanwhile.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from functools import lru_cache
from urllib.parse import urlsplit

from ..core.model import Message

DEFAULT_PORTS = {"http": 80, "https": 443}
DESTINATIONS_KEPT = 4096
MAX_WAITING = 100_000
"""Due messages held here at most; beyond it no more are taken from the store until some
start (so a store with a huge backlog for one hanging host is not read into memory whole)."""


@lru_cache(maxsize=DESTINATIONS_KEPT)
def destination_of(url: str) -> str:
    """`scheme://host:port` of a URL, with the scheme's default port filled in (kept for the
    URLs seen last: an attempt asks three times, and most go to a few URLs)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    return f"{scheme}://{host}:{port or DEFAULT_PORTS.get(scheme, 0)}"


class DestinationSlots:
    """Attempts in flight per destination, and the due messages waiting for a slot.

    >>> slots = DestinationSlots(limit=1)
    >>> slots.try_take("http://a.test/x")
    True
    >>> slots.try_take("http://a.test:80/y")
    False
    """

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("the per-destination limit must be at least 1")
        self.limit = limit
        self._in_flight: dict[str, int] = {}
        self._waiting: dict[str, deque[Message]] = {}
        self._waiting_count = 0

    @property
    def waiting(self) -> int:
        return self._waiting_count

    @property
    def full(self) -> bool:
        return self._waiting_count >= MAX_WAITING

    def in_flight(self, url: str) -> int:
        return self._in_flight.get(destination_of(url), 0)

    def try_take(self, url: str) -> bool:
        """Take a slot for an attempt to `url` if its destination has room."""
        key = destination_of(url)
        held = self._in_flight.get(key, 0)
        if held >= self.limit:
            return False
        self._in_flight[key] = held + 1
        return True

    def give(self, url: str) -> None:
        """An attempt to `url` ended: its slot is free again."""
        key = destination_of(url)
        held = self._in_flight.get(key, 0) - 1
        if held > 0:
            self._in_flight[key] = held
        else:
            self._in_flight.pop(key, None)

    def admit(self, due: Iterable[Message]) -> list[Message]:
        """The messages that may start now (a slot taken for each); the others wait."""
        ready: list[Message] = []
        for message in due:
            key = destination_of(message.url)
            if key not in self._waiting and self.try_take(message.url):
                ready.append(message)
            else:
                self._waiting.setdefault(key, deque()).append(message)
                self._waiting_count += 1
        return ready

    def ready_waiting(self) -> list[Message]:
        """Waiting messages whose destination has room again (a slot taken for each)."""
        ready: list[Message] = []
        for key in list(self._waiting):
            queue = self._waiting[key]
            while queue and self._in_flight.get(key, 0) < self.limit:
                self._in_flight[key] = self._in_flight.get(key, 0) + 1
                ready.append(queue.popleft())
            if not queue:
                del self._waiting[key]
        self._waiting_count -= len(ready)
        return ready

    def take_all_waiting(self) -> list[Message]:
        """Every waiting message (to give back to the store on stop)."""
        every = [message for queue in self._waiting.values() for message in queue]
        self._waiting.clear()
        self._waiting_count = 0
        return every
