"""Per-user or per-IP rate limiting before enqueueing: a sliding-window log.

`RedisRateLimiter` keeps one sorted set per identity (scores are hit times) and decides in one
Lua script, so every process sharing the Redis sees the same window. `MemoryRateLimiter` is the
same rule for a single process.
"""

from __future__ import annotations

import threading
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import redis

from .clock import wall_ms
from .errors import RateLimitedError
from .redis_stores import DEFAULT_PREFIX, redis_client

_SLIDING_WINDOW = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[1]) - tonumber(ARGV[2]))
local count = redis.call('ZCARD', KEYS[1])
local limit = tonumber(ARGV[3])
if count < limit then
  redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {1, limit - count - 1, 0}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {0, 0, tonumber(oldest[2]) + tonumber(ARGV[2]) - tonumber(ARGV[1])}
"""


@dataclass(frozen=True)
class RateDecision:
    """Whether one hit was allowed, what is left and when the next one will be."""

    allowed: bool
    limit: int
    remaining: int
    retry_after_s: float


class RateLimiter(Protocol):
    """Counts hits per identity within a sliding window."""

    limit: int

    def hit(self, identity: str) -> RateDecision: ...


def require(limiter: RateLimiter, identity: str) -> RateDecision:
    """Count a hit; raise `RateLimitedError` when it is over the limit."""
    decision = limiter.hit(identity)
    if not decision.allowed:
        raise RateLimitedError(identity, decision.limit, decision.retry_after_s)
    return decision


class RedisRateLimiter:
    """At most `limit` hits per `window_s` seconds per identity, counted in Redis.

    Example::

        limiter = RedisRateLimiter("redis://localhost:6379/0", limit=10, window_s=60)
        limiter.hit("user:42").allowed  # True for the first 10 hits in a minute
    """

    def __init__(
        self, url: str | redis.Redis, *, limit: int, window_s: float,
        prefix: str = DEFAULT_PREFIX, clock: Callable[[], int] = wall_ms,
    ) -> None:
        self._redis = redis_client(url)
        self._owned = isinstance(url, str)
        self._script = self._redis.register_script(_SLIDING_WINDOW)
        self.limit, self.window_ms, self.prefix = limit, int(window_s * 1000), prefix
        self._clock = clock

    def hit(self, identity: str) -> RateDecision:
        key = f"{self.prefix}:rate:{identity}"
        args: list[int | str] = [self._clock(), self.window_ms, self.limit, uuid.uuid4().hex]
        allowed, remaining, wait_ms = self._script(keys=[key], args=args)
        return RateDecision(bool(allowed), self.limit, int(remaining), int(wait_ms) / 1000)

    def close(self) -> None:
        if self._owned:
            self._redis.close()


class MemoryRateLimiter:
    """The same sliding window, in this process only."""

    blocking = False

    def __init__(self, *, limit: int, window_s: float, clock: Callable[[], int] = wall_ms) -> None:
        self.limit, self.window_ms = limit, int(window_s * 1000)
        self._clock = clock
        self._lock = threading.Lock()
        self._hits: dict[str, deque[int]] = {}

    def hit(self, identity: str) -> RateDecision:
        with self._lock:
            now = self._clock()
            hits = self._hits.setdefault(identity, deque())
            while hits and hits[0] <= now - self.window_ms:
                hits.popleft()
            if len(hits) < self.limit:
                hits.append(now)
                return RateDecision(True, self.limit, self.limit - len(hits), 0.0)
            return RateDecision(False, self.limit, 0, (hits[0] + self.window_ms - now) / 1000)

    def close(self) -> None:
        """Nothing to release."""
