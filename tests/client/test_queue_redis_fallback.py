"""The Redis fallback queue in one process: jobs kept in Redis, delays and backoff on the queue's
clock, delays surviving a restart, back-pressure, and the async queue."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from pytest_qstash import Endpoint
from qstash_emulator.core.model import SigningKeys
from qstash_queue import (
    AsyncRequestQueue,
    JobState,
    MemoryOptions,
    QueueFullError,
    RedisFallback,
    RedisStatusStore,
    RequestQueue,
)


class FakeClock:
    """A time function the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1_900_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def store(redis_url: str, prefix: str) -> Iterator[RedisStatusStore]:
    made = RedisStatusStore(redis_url, prefix=prefix)
    yield made
    made.close()


def _queue(redis_url: str, prefix: str, keys: SigningKeys, store: RedisStatusStore,
           **options: object) -> RequestQueue:
    memory = options.pop("memory", MemoryOptions(backoff_base_s=2, backoff_max_s=60))
    fallback = RedisFallback(redis_url, prefix=prefix, lease_s=float(options.pop("lease_s", 5)),
                             worker=bool(options.pop("worker", True)))
    return RequestQueue(use_qstash=False, fallback_store=fallback, status_store=store,
                        signing_keys=(keys.current, keys.next), memory=memory,
                        **options)  # type: ignore[arg-type]


def test_jobs_wait_in_redis_and_are_delivered_signed(
    redis_url: str, prefix: str, keys: SigningKeys, store: RedisStatusStore, endpoint: Endpoint,
) -> None:
    with _queue(redis_url, prefix, keys, store) as queue:
        jobs = [queue.enqueue(f"k{n}", endpoint=endpoint.url_for("/r"), payload={"n": n})
                for n in range(20)]
        statuses = [queue.wait(job.job_id, timeout=10) for job in jobs]
        assert queue.drain(5)
        stats = queue.stats()
    assert {job.backend for job in jobs} == {"redis"}
    assert {s.state for s in statuses} == {JobState.DELIVERED}
    assert {s.backend for s in statuses} == {"redis"}
    assert sorted(r.json()["n"] for r in endpoint.requests) == list(range(20))
    request = endpoint.requests[0]
    assert request.header("x-queue-backend") == "redis" and request.signature_valid
    assert request.header("upstash-message-id") == f"redis_{request.header('x-queue-job-id')}"
    assert request.header("user-agent") == "qstash-queue-redis"
    assert stats["jobs_redis"] == 20 and stats["redis_delivered"] == 20
    client = redis.Redis.from_url(redis_url)
    assert client.xlen(f"{prefix}:fallback:fallback:ready") == 0
    assert client.xpending(f"{prefix}:fallback:fallback:ready", "workers")["pending"] == 0
    client.close()


def test_delays_and_backoff_run_on_the_queue_clock(
    redis_url: str, prefix: str, keys: SigningKeys, store: RedisStatusStore, endpoint: Endpoint,
) -> None:
    clock = FakeClock()
    endpoint.respond_with([503, 200], path="/flaky")
    with _queue(redis_url, prefix, keys, store, clock=clock) as queue:
        later = queue.enqueue("later", endpoint=endpoint.url_for("/later"), payload={}, delay=30)
        flaky = queue.enqueue("flaky", endpoint=endpoint.url_for("/flaky"), payload={})
        retrying = queue.wait(flaky.job_id, states=["retrying"], timeout=10)
        assert not queue.drain(0.5)  # neither the delay nor the backoff has passed
        assert [r.path for r in endpoint.requests] == ["/flaky"]
        clock.advance(2)
        assert queue.wait(flaky.job_id, timeout=10).state is JobState.DELIVERED
        clock.advance(28)
        delivered_later = queue.wait(later.job_id, timeout=10)
    assert retrying.next_retry_ms == int((clock.now - 28) * 1000)
    assert delivered_later.state is JobState.DELIVERED
    assert [r.path for r in endpoint.requests] == ["/flaky", "/flaky", "/later"]


def test_a_delayed_job_survives_a_restart(
    redis_url: str, prefix: str, keys: SigningKeys, store: RedisStatusStore, endpoint: Endpoint,
) -> None:
    clock = FakeClock()
    with _queue(redis_url, prefix, keys, store, clock=clock) as before:
        job = before.enqueue("k", endpoint=endpoint.url_for("/d"), payload={"x": 1}, delay=600)
        before.close(timeout=0.1)
    assert endpoint.requests == []
    clock.advance(600)
    with _queue(redis_url, prefix, keys, store, clock=clock) as after:
        status = after.wait(job.job_id, timeout=10)
    assert status.state is JobState.DELIVERED and status.backend == "redis"
    assert [r.json() for r in endpoint.requests] == [{"x": 1}]


def test_a_producer_only_instance_leaves_delivery_to_the_workers(
    redis_url: str, prefix: str, keys: SigningKeys, store: RedisStatusStore, endpoint: Endpoint,
) -> None:
    with _queue(redis_url, prefix, keys, store, worker=False) as producer:
        job = producer.enqueue("k", endpoint=endpoint.url_for("/p"), payload={})
        assert not producer.drain(0.3)
        with _queue(redis_url, prefix, keys, store) as worker:
            assert worker.wait(job.job_id, timeout=10).state is JobState.DELIVERED
            assert worker.stats()["redis_delivered"] == 1
    assert producer.stats().get("redis_delivered", 0) == 0


def test_a_full_queue_refuses_and_marks_the_job_failed(
    redis_url: str, prefix: str, keys: SigningKeys, store: RedisStatusStore, endpoint: Endpoint,
) -> None:
    memory = MemoryOptions(max_pending=2)
    with _queue(redis_url, prefix, keys, store, worker=False, memory=memory) as queue:
        for n in range(2):
            queue.enqueue(f"k{n}", endpoint=endpoint.url_for("/f"), payload={}, delay=60)
        with pytest.raises(QueueFullError):
            queue.enqueue("third", endpoint=endpoint.url_for("/f"), payload={})
        client = redis.Redis.from_url(redis_url)
        assert client.zcard(f"{prefix}:fallback:fallback:delayed") == 2
        client.close()


def test_a_worker_gives_up_after_max_retries(
    redis_url: str, prefix: str, keys: SigningKeys, store: RedisStatusStore, endpoint: Endpoint,
) -> None:
    endpoint.respond_with(500, path="/down")
    memory = MemoryOptions(max_retries=1, backoff_base_s=0.001)
    with _queue(redis_url, prefix, keys, store, memory=memory) as queue:
        job = queue.enqueue("k", endpoint=endpoint.url_for("/down"), payload={})
        status = queue.wait(job.job_id, timeout=10)
    assert status.state is JobState.FAILED and status.gave_up and status.attempts == 2
    assert len(endpoint.requests) == 2


def test_unknown_fallback_store_url() -> None:
    with pytest.raises(ValueError, match="unsupported fallback store URL"):
        RequestQueue(use_qstash=False, fallback_store="postgres://x")


@pytest.mark.anyio
async def test_the_async_queue_with_a_redis_fallback(
    redis_url: str, prefix: str, keys: SigningKeys, store: RedisStatusStore, endpoint: Endpoint,
) -> None:
    fallback = RedisFallback(redis_url, prefix=prefix)
    async with AsyncRequestQueue(use_qstash=False, fallback_store=fallback, status_store=store,
                                 signing_keys=(keys.current, keys.next)) as queue:
        job = await queue.enqueue("a", endpoint=endpoint.url_for("/a"), payload={"a": 1})
        status = await queue.wait(job.job_id, timeout=10)
    assert job.backend == "redis" and status.state is JobState.DELIVERED
    assert [r.json() for r in endpoint.requests] == [{"a": 1}]


def test_an_entry_that_is_not_a_job_is_dropped_and_the_worker_goes_on(
    redis_url: str, prefix: str, keys: SigningKeys, store: RedisStatusStore, endpoint: Endpoint,
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = redis.Redis.from_url(redis_url)
    client.xadd(f"{prefix}:fallback:fallback:ready", {"entry": "{not json"})
    with _queue(redis_url, prefix, keys, store) as queue:
        job = queue.enqueue("k", endpoint=endpoint.url_for("/ok"), payload={})
        assert queue.wait(job.job_id, timeout=10).state is JobState.DELIVERED
        assert queue.drain(5)
    assert client.xlen(f"{prefix}:fallback:fallback:ready") == 0
    assert any("not a job" in r.getMessage() for r in caplog.records)
    client.close()
