"""The application's queueing layer on QStash: `RequestQueue` with a memory or Redis fallback
queue, job status that follows QStash's logs, usage alerts, idempotent signature-verifying
receivers and rate limiting.

Publishing goes only through the official `qstash` SDK. Receiving helpers live in
`qstash_queue.receiving`.
"""

from __future__ import annotations

from .alerts import Alert, AlertEvent
from .async_queue import AsyncRequestQueue
from .backends.redis_layout import RedisFallback
from .errors import (
    QueueClosedError,
    QueueError,
    QueueFullError,
    RateLimitedError,
    UnknownJobError,
    WaitTimeoutError,
)
from .fallback import Reason
from .idempotency import MemoryIdempotencyStore
from .queue import RequestQueue
from .ratelimit import MemoryRateLimiter, RateDecision, RedisRateLimiter
from .redis_stores import RedisIdempotencyStore, RedisStatusStore
from .status import MemoryStatusStore, StatusStore
from .tracking import StatusLookup
from .types import (
    Backend,
    EnqueueResult,
    FallbackPolicy,
    HistoryEntry,
    JobState,
    JobStatus,
    MemoryOptions,
)
from .usage import Usage, UsageOptions

__all__ = [
    "Alert",
    "AlertEvent",
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
    "RedisFallback",
    "RedisIdempotencyStore",
    "RedisRateLimiter",
    "RedisStatusStore",
    "RequestQueue",
    "StatusLookup",
    "StatusStore",
    "UnknownJobError",
    "Usage",
    "UsageOptions",
    "WaitTimeoutError",
]
