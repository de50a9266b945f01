"""Redis implementations of the job status and idempotency stores.

Keys carry a prefix (`qstash_queue` by default) so that a shared Redis is never trampled; every
key has a TTL. Status changes run in an optimistic WATCH/MULTI transaction, so concurrent
reports from several processes apply the same transition table as the memory store.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

import redis

from .clock import wall_ms
from .idempotency import DEFAULT_LEASE_S, DEFAULT_RESULT_TTL_S, Claim, StoredReply
from .status import DEDUP_TTL_S, DEFAULT_TTL_S, Change
from .types import JobStatus

DEFAULT_PREFIX = "qstash_queue"
_PENDING = "pending:"


def _text(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw


def redis_client(spec: str | redis.Redis) -> redis.Redis:
    """A Redis client from a URL or an existing client (used as is)."""
    return redis.Redis.from_url(spec) if isinstance(spec, str) else spec


class RedisStatusStore:
    """Job states in Redis, shared by every process that uses the same URL and prefix."""

    def __init__(
        self, url: str | redis.Redis, *, prefix: str = DEFAULT_PREFIX, ttl_s: float = DEFAULT_TTL_S,
        clock: Callable[[], int] = wall_ms,
    ) -> None:
        self._redis = redis_client(url)
        self._owned = isinstance(url, str)
        self.prefix, self.ttl_s = prefix, ttl_s
        self._clock = clock

    def _key(self, kind: str, name: str) -> str:
        return f"{self.prefix}:{kind}:{name}"

    def create(self, status: JobStatus) -> None:
        self._redis.set(self._key("job", status.job_id), json.dumps(status.to_json()),
                        px=int(self.ttl_s * 1000))

    def get(self, job_id: str) -> JobStatus | None:
        raw = self._redis.get(self._key("job", job_id))
        return None if raw is None else JobStatus.from_json(json.loads(raw))

    def update(self, job_id: str, change: Change) -> JobStatus | None:
        key = self._key("job", job_id)

        def apply(pipe: Any) -> JobStatus | None:
            raw = pipe.get(key)
            if raw is None:
                return None
            current = JobStatus.from_json(json.loads(raw))
            new = change(current, self._clock())
            if new is None:
                return current
            pipe.multi()
            pipe.set(key, json.dumps(new.to_json()), px=int(self.ttl_s * 1000))
            return new

        result = self._redis.transaction(apply, key, value_from_callable=True)  # type: ignore[arg-type]
        return cast("JobStatus | None", result)

    def claim_dedup(self, dedup_id: str, job_id: str) -> str | None:
        key = self._key("dedup", dedup_id)
        if self._redis.set(key, job_id, nx=True, ex=DEDUP_TTL_S):
            return None
        existing = self._redis.get(key)
        return _text(existing) if existing is not None else None

    def increment(self, ttls: Mapping[str, float]) -> list[int]:
        pipe = self._redis.pipeline()
        for key, ttl_s in ttls.items():
            pipe.incr(self._key("usage", key))
            pipe.pexpire(self._key("usage", key), int(ttl_s * 1000), nx=True)
        return [int(count) for count in pipe.execute()[::2]]

    def read(self, keys: Sequence[str]) -> list[int | None]:
        if not keys:
            return []
        values = self._redis.mget([self._key("usage", key) for key in keys])
        return [None if value is None else int(value) for value in values]

    def put(self, key: str, value: int, ttl_s: float) -> None:
        self._redis.set(self._key("usage", key), value, px=int(ttl_s * 1000))

    def claim_once(self, key: str, ttl_s: float) -> bool:
        return bool(self._redis.set(self._key("usage", key), 1, nx=True, px=int(ttl_s * 1000)))

    def close(self) -> None:
        if self._owned:
            self._redis.close()


class RedisIdempotencyStore:
    """Idempotency records in Redis: SET NX claims with a lease, results kept for `ttl_s`."""

    def __init__(
        self, url: str | redis.Redis, *, prefix: str = DEFAULT_PREFIX,
        ttl_s: float = DEFAULT_RESULT_TTL_S, lease_s: float = DEFAULT_LEASE_S,
    ) -> None:
        self._redis = redis_client(url)
        self._owned = isinstance(url, str)
        self.prefix, self.ttl_s, self.lease_s = prefix, ttl_s, lease_s

    def _key(self, key: str) -> str:
        return f"{self.prefix}:idem:{key}"

    def begin(self, key: str) -> Claim:
        name = self._key(key)
        marker = _PENDING + uuid.uuid4().hex
        if self._redis.set(name, marker, nx=True, px=int(self.lease_s * 1000)):
            return Claim("new")
        raw = self._redis.get(name)
        if raw is None:
            return self.begin(key)
        text = _text(raw)
        if text.startswith(_PENDING):
            return Claim("busy")
        return Claim("done", StoredReply.from_json(json.loads(text)))

    def finish(self, key: str, reply: StoredReply) -> None:
        self._redis.set(self._key(key), json.dumps(reply.to_json()), px=int(self.ttl_s * 1000))

    def abandon(self, key: str) -> None:
        name = self._key(key)
        raw = self._redis.get(name)
        if raw is not None and _text(raw).startswith(_PENDING):
            self._redis.delete(name)

    def close(self) -> None:
        if self._owned:
            self._redis.close()
