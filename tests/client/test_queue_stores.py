"""One contract suite for the memory and Redis job status stores, plus the transition table."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import redis

from qstash_queue import Backend, JobState, JobStatus, MemoryStatusStore, RedisStatusStore
from qstash_queue.status import (
    MAX_HISTORY,
    StatusStore,
    allowed,
    annotate,
    transition,
)
from qstash_queue.stores import status_store_from
from qstash_queue.types import HistoryEntry

Q, D, P, S, F, R = (JobState.QUEUED, JobState.DELIVERED, JobState.PROCESSING,
                    JobState.SUCCEEDED, JobState.FAILED, JobState.RETRYING)


class FakeClock:
    def __init__(self, now_ms: int = 1_000_000) -> None:
        self.now_ms = now_ms

    def __call__(self) -> int:
        return self.now_ms


@pytest.fixture(params=["memory", "redis"])
def store(request: pytest.FixtureRequest) -> Iterator[StatusStore]:
    if request.param == "memory":
        yield MemoryStatusStore()
        return
    url = request.getfixturevalue("redis_url")
    made = RedisStatusStore(url, prefix=request.getfixturevalue("prefix"))
    yield made
    made.close()


def _queued(job_id: str = "job_1", backend: Backend = Backend.QSTASH) -> JobStatus:
    return JobStatus(job_id, "key-1", Q, backend, history=(HistoryEntry(Q, 1, "enqueued"),))


@pytest.mark.parametrize(("current", "new", "expected"), [
    (Q, D, True), (Q, P, True), (Q, S, True), (Q, F, True),
    (D, P, True), (D, S, True), (P, D, False), (P, S, True), (P, F, True), (P, P, True),
    (S, F, False), (S, P, False), (S, S, False), (F, P, True), (F, S, True), (F, D, True),
    (D, Q, False), (Q, Q, False), (D, D, False),
    (Q, R, True), (R, R, True), (R, D, True), (R, P, True), (R, F, True), (R, S, True),
    (D, R, False), (P, R, False), (S, R, False), (F, R, True), (R, Q, False),
])
def test_transition_table(current: JobState, new: JobState, expected: bool) -> None:
    assert allowed(current, new) is expected


def test_create_get_and_unknown(store: StatusStore) -> None:
    store.create(_queued())
    assert store.get("job_1") == _queued()
    assert store.get("job_missing") is None
    assert transition(store, "job_missing", P) is None


def test_a_job_moves_forward_and_never_back(store: StatusStore) -> None:
    store.create(_queued())
    transition(store, "job_1", P, attempts=1, detail="handler started")
    transition(store, "job_1", D, attempts=1)  # late report from the worker: ignored
    done = transition(store, "job_1", S, attempts=1)
    assert done is not None and done.state is S
    assert transition(store, "job_1", F, error="late failure") == done
    final = store.get("job_1")
    assert final is not None
    assert [h.state for h in final.history] == [Q, P, S]
    assert final.attempts == 1 and final.error is None


def test_failure_then_retry_succeeds_and_attempts_only_grow(store: StatusStore) -> None:
    store.create(_queued())
    failed = transition(store, "job_1", F, attempts=1, error="boom")
    assert failed is not None and failed.error == "boom" and failed.attempts == 1
    transition(store, "job_1", P, attempts=2)
    done = transition(store, "job_1", S, attempts=1)
    assert done is not None and done.state is S and done.attempts == 2


def test_annotate_records_backend_message_id_and_note(store: StatusStore) -> None:
    store.create(_queued())
    annotated = annotate(store, "job_1", backend=Backend.MEMORY, detail="fallback to memory")
    assert annotated is not None and annotated.backend is Backend.MEMORY
    annotate(store, "job_1", message_id="msg_1")
    got = store.get("job_1")
    assert got is not None and got.message_id == "msg_1" and got.state is Q
    assert got.history[-1].detail == "fallback to memory"


def test_history_is_capped(store: StatusStore) -> None:
    store.create(_queued())
    for n in range(MAX_HISTORY + 5):
        annotate(store, "job_1", detail=f"note {n}")
    got = store.get("job_1")
    assert got is not None and len(got.history) == MAX_HISTORY
    assert got.history[-1].detail == f"note {MAX_HISTORY + 4}"


def test_claim_dedup_returns_the_first_job(store: StatusStore) -> None:
    assert store.claim_dedup("d-1", "job_1") is None
    assert store.claim_dedup("d-1", "job_2") == "job_1"
    assert store.claim_dedup("d-2", "job_3") is None


def test_concurrent_updates_lose_nothing(store: StatusStore) -> None:
    store.create(_queued())
    threads = [threading.Thread(target=lambda n=n: [annotate(store, "job_1", detail=f"{n}-{i}")
                                                    for i in range(5)]) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    got = store.get("job_1")
    assert got is not None and len(got.history) == 1 + 30


def test_memory_store_entries_expire() -> None:
    clock = FakeClock()
    store = MemoryStatusStore(ttl_s=10, clock=clock)
    store.create(_queued())
    clock.now_ms += 9_999
    assert store.get("job_1") is not None
    clock.now_ms += 1
    assert store.get("job_1") is None


def test_redis_store_keys_have_a_prefix_and_a_ttl(redis_url: str, prefix: str) -> None:
    store = RedisStatusStore(redis_url, prefix=prefix, ttl_s=120)
    store.create(_queued())
    transition(store, "job_1", P)
    store.claim_dedup("d-1", "job_1")
    raw = redis.Redis.from_url(redis_url)
    keys = sorted(k.decode() for k in raw.scan_iter(f"{prefix}:*"))
    assert keys == [f"{prefix}:dedup:d-1", f"{prefix}:job:job_1"]
    assert 0 < raw.pttl(f"{prefix}:job:job_1") <= 120_000
    assert raw.ttl(f"{prefix}:dedup:d-1") > 0
    raw.close()
    store.close()


def test_two_redis_stores_share_jobs(redis_url: str, prefix: str) -> None:
    first, second = RedisStatusStore(redis_url, prefix=prefix), RedisStatusStore(redis_url,
                                                                                  prefix=prefix)
    first.create(_queued())
    transition(second, "job_1", S)
    got = first.get("job_1")
    assert got is not None and got.state is S
    first.close()
    second.close()


def test_status_store_from_urls(redis_url: str) -> None:
    assert isinstance(status_store_from(None), MemoryStatusStore)
    assert isinstance(status_store_from("memory://"), MemoryStatusStore)
    made = status_store_from(redis_url)
    assert isinstance(made, RedisStatusStore)
    made.close()
    mine = MemoryStatusStore()
    assert status_store_from(mine) is mine
    with pytest.raises(ValueError, match="unsupported"):
        status_store_from("postgres://x")


def test_job_status_json_round_trip() -> None:
    status = JobStatus("job_9", "k", F, Backend.MEMORY, "msg", 3, "boom", 5,
                       (HistoryEntry(Q, 1, "a"), HistoryEntry(F, 5, "boom")))
    assert JobStatus.from_json(status.to_json()) == status


def test_retrying_carries_the_next_attempt_and_giving_up_sticks(store: StatusStore) -> None:
    store.create(_queued())
    retrying = transition(store, "job_1", R, attempts=1, next_retry_ms=5_000, detail="500")
    assert retrying is not None and retrying.next_retry_ms == 5_000
    gave_up = transition(store, "job_1", F, attempts=3, error="DLQ", gave_up=True)
    assert gave_up is not None and gave_up.gave_up and gave_up.next_retry_ms is None
    late = transition(store, "job_1", F, error="handler failed late")  # keeps gave_up
    assert late is not None and late.gave_up and late.finished
    again = transition(store, "job_1", P, attempts=4)  # retried from the DLQ by hand
    assert again is not None and not again.gave_up and not again.finished


def test_usage_counters_claims_and_values(store: StatusStore) -> None:
    usage = store  # both stores keep the usage monitor's counters too
    assert usage.increment({"a": 60, "b": 60}) == [1, 1]  # type: ignore[attr-defined]
    assert usage.increment({"a": 60}) == [2]  # type: ignore[attr-defined]
    usage.put("limit", 7, 60)  # type: ignore[attr-defined]
    assert usage.read(["a", "b", "limit", "none"]) == [2, 1, 7, None]  # type: ignore[attr-defined]
    assert usage.claim_once("alert", 60) is True  # type: ignore[attr-defined]
    assert usage.claim_once("alert", 60) is False  # type: ignore[attr-defined]
