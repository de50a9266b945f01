"""The application's queueing layer on QStash: `RequestQueue` with a memory fallback, job
status stores, idempotent signature-verifying receivers and rate limiting.

Publishing goes only through the official `qstash` SDK. Receiving helpers live in
`qstash_queue.receiving`.
"""

from __future__ import annotations

from .errors import QueueClosedError, QueueError, QueueFullError, RateLimitedError
from .fallback import Reason
from .idempotency import MemoryIdempotencyStore
from .queue import AsyncRequestQueue, RequestQueue
from .ratelimit import MemoryRateLimiter, RateDecision, RedisRateLimiter
from .redis_stores import RedisIdempotencyStore, RedisStatusStore
from .status import MemoryStatusStore, StatusStore
from .types import (
    Backend,
    EnqueueResult,
    FallbackPolicy,
    HistoryEntry,
    JobState,
    JobStatus,
    MemoryOptions,
)

__all__ = [
    "AsyncRequestQueue",
    "Backend",
    "EnqueueResult",
    "FallbackPolicy",
    "HistoryEntry",
    "JobState",
    "JobStatus",
    "MemoryIdempotencyStore",
    "MemoryOptions",
    "MemoryRateLimiter",
    "MemoryStatusStore",
    "QueueClosedError",
    "QueueError",
    "QueueFullError",
    "RateDecision",
    "RateLimitedError",
    "Reason",
    "RedisIdempotencyStore",
    "RedisRateLimiter",
    "RedisStatusStore",
    "RequestQueue",
    "StatusStore",
]
