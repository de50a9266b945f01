"""Stores under test: the memory store and the Redis store on a real Redis."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from redis_support import SKIP_REASON, redis_url, unique_prefix

from qstash_emulator.core.ports import Store
from qstash_emulator.storage.memory import MemoryStore
from qstash_emulator.storage.redis import RedisStore

SMALL_LIMITS = {"max_finished": 3, "max_logs": 4, "max_deliveries": 4}


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
                                    **{**SMALL_LIMITS, **options})  # type: ignore[arg-type]
        opened.append(store)
        return store

    yield factory
    for store in opened:
        store.close()
    if opened:
        cleanup = RedisStore.from_url(redis_server_url, prefix=prefix)
        cleanup.reset(None)
        cleanup.client.delete(*(f"{prefix}:{name}" for name in ("seq", "order", "meta")))
        cleanup.close()


@pytest.fixture(params=["memory", "redis"])
def store(request: pytest.FixtureRequest) -> Store:
    if request.param == "memory":
        return MemoryStore(**SMALL_LIMITS)
    factory = request.getfixturevalue("open_redis_store")
    result: Store = factory()
    return result
