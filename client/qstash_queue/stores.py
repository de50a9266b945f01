"""Stores chosen by URL: `memory://` (or None) keeps state in this process, `redis://...`
shares it between processes. The Redis module is imported only when a Redis URL is given."""

from __future__ import annotations

from .idempotency import IdempotencyStore, MemoryIdempotencyStore
from .status import MemoryStatusStore, StatusStore

REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


def status_store_from(spec: StatusStore | str | None) -> StatusStore:
    """A store from a URL (`redis://...`, `rediss://...`, `memory://`), a store, or None."""
    if spec is None or spec == "memory://":
        return MemoryStatusStore()
    if isinstance(spec, str):
        if spec.startswith(REDIS_SCHEMES):
            from .redis_stores import RedisStatusStore

            return RedisStatusStore(spec)
        raise ValueError(f"unsupported status store URL: {spec!r}")
    return spec


def idempotency_store_from(spec: IdempotencyStore | str | None) -> IdempotencyStore:
    """A store from a URL (`redis://...`, `memory://`), a store, or None (memory)."""
    if spec is None or spec == "memory://":
        return MemoryIdempotencyStore()
    if isinstance(spec, str):
        if spec.startswith(REDIS_SCHEMES):
            from .redis_stores import RedisIdempotencyStore

            return RedisIdempotencyStore(spec)
        raise ValueError(f"unsupported idempotency store URL: {spec!r}")
    return spec
