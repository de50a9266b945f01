"""One memory budget for every tenant's history: log events, delivery records and finished
messages. Each record is charged its estimated size when kept; when the total passes the
budget the oldest records go first, whichever tenant they belong to."""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable

from ...core.model import DeliveryRecord, LogEvent, Message, Response

RECORD_BYTES = 400
"""What a record costs beyond its text and bytes (Python objects, dict and deque slots)."""
DEFAULT_HISTORY_BYTES = 256 * 1024 * 1024

Evict = Callable[[str], int]
"""Drop the oldest record of this kind of a tenant; return its estimated size."""


def _headers_bytes(headers: dict[str, str]) -> int:
    return sum(len(name) + len(value) + 2 * RECORD_BYTES // 8 for name, value in headers.items())


def _response_bytes(response: Response | None) -> int:
    if response is None:
        return 0
    return RECORD_BYTES + len(response.body) + _headers_bytes(response.headers)


def message_bytes(message: Message) -> int:
    return RECORD_BYTES + len(message.url) + len(message.body) + _headers_bytes(message.headers)


def log_bytes(event: LogEvent) -> int:
    """A log event's own message copy shares its body and headers with the stored message."""
    return 2 * RECORD_BYTES + len(event.error or "") + _response_bytes(event.response)


def delivery_bytes(record: DeliveryRecord) -> int:
    return (
        RECORD_BYTES
        + len(record.url)
        + len(record.body)
        + _headers_bytes(record.headers)
        + _response_bytes(record.response)
    )


class HistoryBudget:
    """The estimated bytes of every kept history record, and the order they were kept in.

    >>> budget = HistoryBudget(max_bytes=100)
    >>> budget.register("logs", lambda tenant: 60)
    >>> budget.charge("logs", "a", 60); budget.charge("logs", "b", 60)
    >>> budget.used
    60
    """

    def __init__(self, max_bytes: int | None = DEFAULT_HISTORY_BYTES) -> None:
        self.max_bytes = max_bytes
        self.used = 0
        self._ledger: deque[tuple[str, str, int]] = deque()
        self._gone: Counter[tuple[str, str]] = Counter()
        self._gone_total = 0
        self._evictors: dict[str, Evict] = {}

    def register(self, kind: str, evict: Evict) -> None:
        self._evictors[kind] = evict

    def charge(self, kind: str, tenant: str, size: int) -> None:
        """A record of `size` bytes was kept; evict the oldest records beyond the budget."""
        if self.max_bytes is None:
            return
        self._ledger.append((kind, tenant, size))
        self.used += size
        while self.used > self.max_bytes and self._ledger:
            self._evict_oldest()

    def forget(self, kind: str, tenant: str, size: int) -> None:
        """The area dropped its oldest record of `kind` of `tenant` itself (its own cap, or a
        reset): stop counting it."""
        if self.max_bytes is None:
            return
        self.used -= size
        self._gone[kind, tenant] += 1
        self._gone_total += 1
        if self._gone_total > max(len(self._ledger) // 2, 1024):
            self._compact()

    def _evict_oldest(self) -> None:
        kind, tenant, _ = self._ledger.popleft()
        if self._take_gone(kind, tenant):
            return  # already dropped and uncounted
        self.used -= self._evictors[kind](tenant)

    def _take_gone(self, kind: str, tenant: str) -> bool:
        key = (kind, tenant)
        if not self._gone[key]:
            return False
        self._gone[key] -= 1
        if not self._gone[key]:
            del self._gone[key]
        self._gone_total -= 1
        return True

    def _compact(self) -> None:
        """Remove the ledger's entries of records already dropped (the oldest of their kind
        and tenant), so that resets never let the ledger grow."""
        kept: deque[tuple[str, str, int]] = deque()
        for entry in self._ledger:
            if not self._take_gone(entry[0], entry[1]):
                kept.append(entry)
        self._ledger = kept

    @property
    def records(self) -> int:
        """How many records are charged now."""
        return len(self._ledger) - self._gone_total
