"""Stores under test: the memory store and the Redis store on a real Redis."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from redis_support import SKIP_REASON, redis_url, unique_prefix

from qstash_emulator.core.ports import Store
from qstash_emulator.storage.memory import MemoryStore
from qstash_emulator.storage.redis import RedisStore

SMALL_LIMITS = {"max_finished": 3, "max_logs": 4, "max_deliveries": 4}
PATIENT = {"timeout_s": 1.0}
"""A store timeout no loaded test machine reaches by accident (the default, 75 ms, is for
serving: it keeps the event loop free; tests of the watchdog itself pass their own)."""


@pytest.fixture(scope="session")
def redis_server_url() -> Iterator[str]:
    with redis_url() as url:
        if url is None:
            pytest.skip(SKIP_REASON)
        yield url


@pytest.fixture
def prefix() -> str:
    return unique_prefix("store")


@pytest.fixture
def open_redis_store(redis_server_url: str, prefix: str) -> Iterator[object]:
    """A factory of Redis stores on one prefix (several = several emulator instances)."""
    opened: list[RedisStore] = []

    def factory(**options: object) -> RedisStore:
        store = RedisStore.from_url(redis_server_url, prefix=prefix,
                                    **{**PATIENT, **SMALL_LIMITS, **options})  # type: ignore[arg-type]
        opened.append(store)
        return store

    yield factory
    for store in opened:
        store.close()
    if opened:
        delete_prefix(redis_server_url, prefix)


def delete_prefix(url: str, prefix: str) -> None:
    """Delete every key under `prefix` (what reset keeps too: counters, meta values)."""
    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture
def redis_settings(redis_server_url: str, prefix: str) -> Iterator[dict[str, object]]:
    """Settings for emulator servers on the test Redis under this test's own prefix."""
    yield {"store": redis_server_url, "store_prefix": prefix, "any_token": True}
    delete_prefix(redis_server_url, prefix)


@pytest.fixture(params=["memory", "redis"])
def store(request: pytest.FixtureRequest) -> Store:
    if request.param == "memory":
        return MemoryStore(**SMALL_LIMITS)
    factory = request.getfixturevalue("open_redis_store")
    result: Store = factory()
    return result
