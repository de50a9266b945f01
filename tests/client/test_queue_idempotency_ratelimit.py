"""Idempotency records and the sliding-window rate limiter, in memory and in a real Redis."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from qstash_queue import (
    MemoryIdempotencyStore,
    MemoryRateLimiter,
    RateLimitedError,
    RedisIdempotencyStore,
    RedisRateLimiter,
)
from qstash_queue.idempotency import IdempotencyStore, StoredReply
from qstash_queue.ratelimit import RateLimiter, require
from qstash_queue.stores import idempotency_store_from


class FakeClock:
    def __init__(self) -> None:
        self.now_ms = 5_000_000

    def __call__(self) -> int:
        return self.now_ms


@pytest.fixture(params=["memory", "redis"])
def records(request: pytest.FixtureRequest) -> Iterator[IdempotencyStore]:
    if request.param == "memory":
        yield MemoryIdempotencyStore()
        return
    made = RedisIdempotencyStore(request.getfixturevalue("redis_url"),
                                 prefix=request.getfixturevalue("prefix"))
    yield made
    made.close()


def test_first_claim_runs_then_busy_then_replays(records: IdempotencyStore) -> None:
    assert records.begin("m1").kind == "new"
    assert records.begin("m1").kind == "busy"
    reply = StoredReply(200, b'{"ok": 1}', "application/json")
    records.finish("m1", reply)
    done = records.begin("m1")
    assert done.kind == "done" and done.reply == reply
    assert records.begin("m2").kind == "new"


def test_abandoned_claim_runs_again_but_a_result_is_kept(records: IdempotencyStore) -> None:
    records.begin("m1")
    records.abandon("m1")
    assert records.begin("m1").kind == "new"
    records.finish("m1", StoredReply(200, b"first"))
    records.abandon("m1")  # only releases running claims
    assert records.begin("m1").kind == "done"


def test_memory_lease_expires() -> None:
    clock = FakeClock()
    records = MemoryIdempotencyStore(lease_s=30, clock=clock)
    assert records.begin("m1").kind == "new"
    clock.now_ms += 29_000
    assert records.begin("m1").kind == "busy"
    clock.now_ms += 1_000
    assert records.begin("m1").kind == "new"


def test_redis_records_are_shared_and_expire(redis_url: str, prefix: str) -> None:
    import redis

    first = RedisIdempotencyStore(redis_url, prefix=prefix, ttl_s=60, lease_s=5)
    second = RedisIdempotencyStore(redis_url, prefix=prefix)
    assert first.begin("m1").kind == "new"
    raw = redis.Redis.from_url(redis_url)
    assert 0 < raw.pttl(f"{prefix}:idem:m1") <= 5_000
    assert second.begin("m1").kind == "busy"
    first.finish("m1", StoredReply(201, b"x", "text/plain"))
    assert 5_000 < raw.pttl(f"{prefix}:idem:m1") <= 60_000
    assert second.begin("m1").reply == StoredReply(201, b"x", "text/plain")
    raw.close()
    first.close()
    second.close()


def test_idempotency_store_from(redis_url: str) -> None:
    assert isinstance(idempotency_store_from(None), MemoryIdempotencyStore)
    made = idempotency_store_from(redis_url)
    assert isinstance(made, RedisIdempotencyStore)
    made.close()
    with pytest.raises(ValueError):
        idempotency_store_from("mysql://x")


@pytest.fixture(params=["memory", "redis"])
def limiter_and_clock(request: pytest.FixtureRequest) -> Iterator[tuple[RateLimiter, FakeClock]]:
    clock = FakeClock()
    if request.param == "memory":
        yield MemoryRateLimiter(limit=3, window_s=10, clock=clock), clock
        return
    made = RedisRateLimiter(request.getfixturevalue("redis_url"), limit=3, window_s=10,
                            prefix=request.getfixturevalue("prefix"), clock=clock)
    yield made, clock
    made.close()


def test_sliding_window(limiter_and_clock: tuple[RateLimiter, FakeClock]) -> None:
    limiter, clock = limiter_and_clock
    assert [limiter.hit("u1").remaining for _ in range(3)] == [2, 1, 0]
    clock.now_ms += 4_000
    refused = limiter.hit("u1")
    assert not refused.allowed and refused.retry_after_s == pytest.approx(6.0)
    assert limiter.hit("u2").allowed  # identities are independent
    clock.now_ms += 6_000  # the first three hits leave the window
    assert limiter.hit("u1").allowed


def test_require_raises_with_retry_after(limiter_and_clock: tuple[RateLimiter, FakeClock]) -> None:
    limiter, _ = limiter_and_clock
    for _ in range(3):
        require(limiter, "ip:10.0.0.1")
    with pytest.raises(RateLimitedError) as caught:
        require(limiter, "ip:10.0.0.1")
    assert caught.value.retry_after_s == pytest.approx(10.0)
    assert caught.value.identity == "ip:10.0.0.1" and caught.value.limit == 3


def test_redis_limiters_share_one_window(redis_url: str, prefix: str) -> None:
    clock = FakeClock()
    a = RedisRateLimiter(redis_url, limit=2, window_s=60, prefix=prefix, clock=clock)
    b = RedisRateLimiter(redis_url, limit=2, window_s=60, prefix=prefix, clock=clock)
    assert a.hit("u").allowed and b.hit("u").allowed
    assert not a.hit("u").allowed and not b.hit("u").allowed
    a.close()
    b.close()
