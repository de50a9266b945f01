"""The memory backend (`use_qstash=False`): real deliveries to a recording endpoint."""

from __future__ import annotations

import pytest
from qstash import Receiver

from pytest_qstash.endpoint import Endpoint
from qstash_emulator.core.model import SigningKeys
from qstash_queue import (
    AsyncRequestQueue,
    JobState,
    MemoryOptions,
    QueueClosedError,
    QueueFullError,
    RequestQueue,
)
from qstash_queue.backends.delivery import Pacer

FAST = MemoryOptions(backoff_base_s=0.001, backoff_max_s=0.01)


def _memory_queue(keys: SigningKeys, **options: object) -> RequestQueue:
    memory = MemoryOptions(**{"backoff_base_s": 0.001, "backoff_max_s": 0.01, **options})
    return RequestQueue(use_qstash=False, signing_keys=(keys.current, keys.next), memory=memory)


def test_delivers_signed_with_job_headers(endpoint: Endpoint, keys: SigningKeys) -> None:
    with _memory_queue(keys) as queue:
        job = queue.enqueue("order:7", endpoint=endpoint.url_for("/hook"), payload={"n": 7},
                            headers={"X-Tenant": "acme"})
        assert job.backend == "memory" and job.message_id is None and job.key == "order:7"
        assert queue.drain(5)
        status = queue.get_job_status(job.job_id)
    [request] = endpoint.requests
    assert request.json() == {"n": 7} and request.method == "POST"
    assert request.header("content-type") == "application/json"
    assert request.header("x-tenant") == "acme"
    assert request.header("x-queue-job-id") == job.job_id
    assert request.header("x-queue-job-key") == "order:7"
    assert request.header("x-queue-backend") == "memory"
    assert request.header("upstash-message-id") == f"mem_{job.job_id}"
    assert request.header("upstash-retried") == "0"
    assert request.signature_valid is True
    Receiver(keys.current, keys.next).verify(
        signature=request.header("upstash-signature") or "", body=request.text, url=request.url)
    assert status is not None and status.state is JobState.DELIVERED
    assert status.backend == "memory" and status.attempts == 1


def test_retries_with_backoff_until_success(endpoint: Endpoint, keys: SigningKeys) -> None:
    endpoint.respond_with([500, 503, 200])
    with _memory_queue(keys) as queue:
        job = queue.enqueue("k", endpoint=endpoint.url_for("/flaky"), payload="hi")
        assert queue.drain(5)
        status = queue.get_job_status(job.job_id)
        stats = queue.stats()
    assert [r.header("upstash-retried") for r in endpoint.requests] == ["0", "1", "2"]
    assert {r.header("upstash-message-id") for r in endpoint.requests} == {f"mem_{job.job_id}"}
    assert endpoint.requests[0].header("content-type") == "text/plain; charset=utf-8"
    assert status is not None and status.state is JobState.DELIVERED and status.attempts == 3
    assert stats["memory_attempts"] == 3 and stats["memory_delivered"] == 1


def test_gives_up_after_max_retries(endpoint: Endpoint, keys: SigningKeys) -> None:
    endpoint.respond_with(500)
    with _memory_queue(keys, max_retries=2) as queue:
        job = queue.enqueue("k", endpoint=endpoint.url_for("/down"), payload=b"\x00\x01")
        assert queue.drain(5)
        status = queue.get_job_status(job.job_id)
        assert queue.stats()["memory_failed"] == 1
    assert len(endpoint.requests) == 3
    assert status is not None and status.state is JobState.FAILED and status.attempts == 3
    assert status.error is not None and "status 500" in status.error


def test_non_retryable_489_stops_at_once(endpoint: Endpoint, keys: SigningKeys) -> None:
    endpoint.respond_with(489, headers={"Upstash-NonRetryable-Error": "true"})
    with _memory_queue(keys) as queue:
        job = queue.enqueue("k", endpoint=endpoint.url_for("/no"), payload={})
        assert queue.drain(5)
        status = queue.get_job_status(job.job_id)
    assert len(endpoint.requests) == 1
    assert status is not None and status.state is JobState.FAILED


def test_connection_errors_are_retried_then_fail(keys: SigningKeys) -> None:
    from client_servers import closed_port_url

    with _memory_queue(keys, max_retries=1) as queue:
        job = queue.enqueue("k", endpoint=closed_port_url() + "/x", payload={})
        assert queue.drain(5)
        status = queue.get_job_status(job.job_id)
    assert status is not None and status.state is JobState.FAILED and status.attempts == 2
    assert status.error is not None and "ClientConnectorError" in status.error


def test_bounded_queue_refuses_when_full(endpoint: Endpoint, keys: SigningKeys) -> None:
    queue = _memory_queue(keys, max_pending=2)
    first = queue.enqueue("a", endpoint=endpoint.url_for("/later"), payload={}, delay=60)
    queue.enqueue("b", endpoint=endpoint.url_for("/later"), payload={}, delay=60)
    with pytest.raises(QueueFullError):
        queue.enqueue("c", endpoint=endpoint.url_for("/later"), payload={})
    assert queue.stats()["memory_pending"] == 2
    assert queue.get_job_status(first.job_id).state is JobState.QUEUED  # type: ignore[union-attr]
    assert not queue.drain(0.05)
    queue.close(timeout=0)
    assert endpoint.requests == []


def test_delayed_job_waits_while_others_go(endpoint: Endpoint, keys: SigningKeys) -> None:
    queue = _memory_queue(keys)
    later = queue.enqueue("later", endpoint=endpoint.url_for("/later"), payload={}, delay=3600)
    now = queue.enqueue("now", endpoint=endpoint.url_for("/now"), payload={})
    [request] = endpoint.wait_for(1)
    assert request.path == "/now"
    queue.close(timeout=0)
    assert queue.get_job_status(later.job_id).state is JobState.QUEUED  # type: ignore[union-attr]
    assert queue.get_job_status(now.job_id) is not None


def test_pacer_spaces_send_slots() -> None:
    pacer = Pacer(50)
    assert [pacer.reserve(10.0) for _ in range(3)] == pytest.approx([0.0, 0.02, 0.04])
    assert pacer.reserve(10.05) == pytest.approx(0.01)
    assert pacer.reserve(20.0) == 0.0  # idle time is not saved up as a burst
    assert Pacer(None).reserve(0.0) == 0.0


def test_rate_limited_queue_delivers_everything(endpoint: Endpoint, keys: SigningKeys) -> None:
    with _memory_queue(keys, rate_per_s=200, concurrency=4) as queue:
        for n in range(6):
            queue.enqueue(f"k{n}", endpoint=endpoint.url_for("/paced"), payload={"n": n})
        assert queue.drain(5)
    assert sorted(r.json()["n"] for r in endpoint.requests) == list(range(6))


def test_close_drains_and_refuses_new_jobs(endpoint: Endpoint, keys: SigningKeys) -> None:
    with _memory_queue(keys, concurrency=2) as queue:
        for n in range(25):
            queue.enqueue(f"k{n}", endpoint=endpoint.url_for("/many"), payload={"n": n})
    assert sorted(r.json()["n"] for r in endpoint.requests) == list(range(25))
    with pytest.raises(QueueClosedError):
        queue.enqueue("late", endpoint=endpoint.url_for("/many"), payload={})
    queue.close()  # a second close is harmless


def test_unsigned_without_keys(endpoint: Endpoint, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("QSTASH_CURRENT_SIGNING_KEY", raising=False)
    with RequestQueue(use_qstash=False, memory=FAST) as queue:
        queue.enqueue("k", endpoint=endpoint.url_for("/plain"), payload={})
    [request] = endpoint.requests
    assert request.header("upstash-signature") is None


def test_signing_keys_from_the_environment(
    endpoint: Endpoint, keys: SigningKeys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QSTASH_CURRENT_SIGNING_KEY", keys.current)
    monkeypatch.setenv("QSTASH_NEXT_SIGNING_KEY", keys.next)
    with RequestQueue(use_qstash=False, memory=FAST) as queue:
        queue.enqueue("k", endpoint=endpoint.url_for("/env"), payload={})
    assert endpoint.requests[0].signature_valid is True


def test_dedup_id_returns_the_first_job(endpoint: Endpoint, keys: SigningKeys) -> None:
    with _memory_queue(keys) as queue:
        first = queue.enqueue("k", endpoint=endpoint.url_for("/d"), payload={}, dedup_id="once")
        again = queue.enqueue("k", endpoint=endpoint.url_for("/d"), payload={}, dedup_id="once")
    assert again.job_id == first.job_id and again.deduplicated and not first.deduplicated
    assert len(endpoint.requests) == 1


@pytest.mark.anyio
async def test_async_queue_memory_path(endpoint: Endpoint, keys: SigningKeys) -> None:
    endpoint.respond_with([500, 200])
    async with AsyncRequestQueue(use_qstash=False, signing_keys=(keys.current, keys.next),
                                 memory=FAST) as queue:
        jobs = [await queue.enqueue(f"k{n}", endpoint=endpoint.url_for("/a"), payload={"n": n})
                for n in range(3)]
        assert await queue.drain(5)
        states = [(await queue.get_job_status(j.job_id)).state for j in jobs]  # type: ignore[union-attr]
        assert queue.stats()["memory_delivered"] == 3
    assert states == [JobState.DELIVERED] * 3
    assert all(r.signature_valid for r in endpoint.requests)
    assert len(endpoint.requests) == 4
