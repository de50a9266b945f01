"""Job status stores: in memory (the default) or in Redis (several processes), with TTLs.

Every store applies the same transition table (`allowed`), whoever reports: the receiving
helper (`processing`, `succeeded`, `failed`), the fallback workers and QStash's logs
(`retrying`, `delivered`, `failed`). A late or repeated report never moves a job backwards:
`succeeded` is final, `delivered` or `retrying` after `processing` are ignored, and a `failed`
job may be tried again by a retry. The stores also keep the usage monitor's counters.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any, Protocol

from .clock import wall_ms
from .types import Backend, HistoryEntry, JobState, JobStatus

MAX_HISTORY = 50
DEFAULT_TTL_S = 7 * 24 * 3600
DEDUP_TTL_S = 24 * 3600

_RANK = {
    JobState.QUEUED: 0, JobState.RETRYING: 1, JobState.DELIVERED: 2, JobState.PROCESSING: 3,
    JobState.FAILED: 4, JobState.SUCCEEDED: 5,
}
_REPEATABLE = frozenset({JobState.RETRYING, JobState.PROCESSING, JobState.FAILED})

def allowed(current: JobState, new: JobState) -> bool:
    """The transition table: may a job in `current` move to `new`?"""
    if current is JobState.SUCCEEDED or new is JobState.QUEUED:
        return False
    if current is JobState.FAILED:
        return True
    if new is current:
        return new in _REPEATABLE
    return _RANK[new] > _RANK[current]


def apply_transition(
    status: JobStatus, state: JobState, now_ms: int, *, attempts: int | None = None,
    error: str | None = None, detail: str = "", next_retry_ms: int | None = None,
    gave_up: bool = False,
) -> JobStatus | None:
    """The status after a report, or None when the table refuses the move.

    `gave_up` (only meaningful with `failed`) survives a later plain `failed` report, so a
    handler's late failure never makes a job in the DLQ look retryable again.
    """
    if not allowed(status.state, state):
        return None
    entry = HistoryEntry(state, now_ms, detail or (error or ""))
    failed = state is JobState.FAILED
    return replace(
        status, state=state, updated_ms=now_ms,
        attempts=max(status.attempts, attempts or 0),
        error=error if failed else status.error,
        history=(*status.history, entry)[-MAX_HISTORY:],
        next_retry_ms=next_retry_ms if state is JobState.RETRYING else None,
        gave_up=failed and (gave_up or (status.gave_up and status.state is JobState.FAILED)),
    )


Change = Callable[[JobStatus, int], JobStatus | None]


class StatusStore(Protocol):
    """Where job states live; every method is atomic and thread-safe.

    `update` applies `change(status, now_ms)` atomically; a None from `change` keeps the
    status as it was. It returns the status after the call (None for an unknown job).
    """

    def create(self, status: JobStatus) -> None: ...

    def get(self, job_id: str) -> JobStatus | None: ...

    def update(self, job_id: str, change: Change) -> JobStatus | None: ...

    def claim_dedup(self, dedup_id: str, job_id: str) -> str | None: ...

    def close(self) -> None: ...


class UsageStore(Protocol):
    """Counters and one-time claims with a TTL, shared like the job states they sit beside."""

    def increment(self, ttls: Mapping[str, float]) -> list[int]:
        """Add one to each counter (created with its TTL); the new counts, in order."""
        ...

    def read(self, keys: Sequence[str]) -> list[int | None]: ...

    def put(self, key: str, value: int, ttl_s: float) -> None: ...

    def claim_once(self, key: str, ttl_s: float) -> bool: ...


def transition(
    store: StatusStore, job_id: str, state: JobState, *, attempts: int | None = None,
    error: str | None = None, detail: str = "", next_retry_ms: int | None = None,
    gave_up: bool = False,
) -> JobStatus | None:
    """Report a state change of a job (refused moves leave it as it was)."""
    return store.update(job_id, lambda status, now_ms: apply_transition(
        status, state, now_ms, attempts=attempts, error=error, detail=detail,
        next_retry_ms=next_retry_ms, gave_up=gave_up))


def annotate(
    store: StatusStore, job_id: str, *, backend: Backend | None = None,
    message_id: str | None = None, detail: str = "",
) -> JobStatus | None:
    """Record which backend holds a job, its QStash message id, or a note in its history."""
    def change(status: JobStatus, now_ms: int) -> JobStatus:
        history = status.history
        if detail:
            history = (*history, HistoryEntry(status.state, now_ms, detail))[-MAX_HISTORY:]
        return replace(status, backend=backend or status.backend,
                       message_id=message_id or status.message_id, history=history)
    return store.update(job_id, change)


class MemoryStatusStore:
    """Job states in this process (lost when it exits); entries expire after `ttl_s`."""

    blocking = False

    def __init__(self, ttl_s: float = DEFAULT_TTL_S, clock: Callable[[], int] = wall_ms) -> None:
        self.ttl_s = ttl_s
        self._clock = clock
        self._lock = threading.Lock()
        self._jobs: dict[str, tuple[int, JobStatus]] = {}
        self._dedup: dict[str, tuple[int, str]] = {}
        self._values: dict[str, tuple[int, int]] = {}

    def create(self, status: JobStatus) -> None:
        with self._lock:
            self._jobs[status.job_id] = (self._expiry(self.ttl_s), status)

    def get(self, job_id: str) -> JobStatus | None:
        with self._lock:
            return self._live(self._jobs, job_id)  # type: ignore[no-any-return]

    def update(self, job_id: str, change: Change) -> JobStatus | None:
        with self._lock:
            current: JobStatus | None = self._live(self._jobs, job_id)
            if current is None:
                return None
            new = change(current, self._clock())
            if new is None:
                return current
            self._jobs[job_id] = (self._expiry(self.ttl_s), new)
            return new

    def claim_dedup(self, dedup_id: str, job_id: str) -> str | None:
        with self._lock:
            existing: str | None = self._live(self._dedup, dedup_id)
            if existing is not None:
                return existing
            self._dedup[dedup_id] = (self._expiry(DEDUP_TTL_S), job_id)
            return None

    def increment(self, ttls: Mapping[str, float]) -> list[int]:
        with self._lock:
            counts = []
            for key, ttl_s in ttls.items():
                entry = self._values.get(key)
                live = entry is not None and entry[0] > self._clock()
                expiry, count = entry if live and entry else (self._expiry(ttl_s), 0)
                self._values[key] = (expiry, count + 1)
                counts.append(count + 1)
            return counts

    def read(self, keys: Sequence[str]) -> list[int | None]:
        with self._lock:
            return [self._live(self._values, key) for key in keys]

    def put(self, key: str, value: int, ttl_s: float) -> None:
        with self._lock:
            self._values[key] = (self._expiry(ttl_s), value)

    def claim_once(self, key: str, ttl_s: float) -> bool:
        with self._lock:
            if self._live(self._values, key) is not None:
                return False
            self._values[key] = (self._expiry(ttl_s), 1)
            return True

    def close(self) -> None:
        """Nothing to release."""

    def _expiry(self, ttl_s: float) -> int:
        return self._clock() + int(ttl_s * 1000)

    def _live(self, table: dict[str, tuple[int, Any]], key: str) -> Any:
        entry = table.get(key)
        if entry is None:
            return None
        if entry[0] <= self._clock():
            del table[key]
            return None
        return entry[1]
