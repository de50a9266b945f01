"""A job's status follows it to the end: QStash's logs (read through the SDK) move QStash jobs
with a plain endpoint on to `retrying`, `delivered` or `failed`; `wait` blocks until then.

Driven through the pytest plugin's fixtures: each test has its own tenant on the emulator, a
recording plain endpoint (no `JobReceiver`), and the emulator's virtual clock, which is also the
queue's clock (`qstash_clock.time`).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from qstash.log import Log, LogState

from pytest_qstash import EmulatorClock, Endpoint, Tenant
from qstash_queue import (
    AsyncRequestQueue,
    JobState,
    MemoryOptions,
    MemoryStatusStore,
    RequestQueue,
    StatusLookup,
    UnknownJobError,
    WaitTimeoutError,
)
from qstash_queue.tracking import LookupBudget, report_from

EVERY_TIME = StatusLookup(interval_s=0)


@pytest.fixture
def make_queue(
    qstash_tenant: Tenant, qstash_clock: EmulatorClock,
) -> Iterator[type[RequestQueue]]:
    made: list[RequestQueue] = []

    def build(**options: object) -> RequestQueue:
        settings = {"qstash_token": qstash_tenant.token, "base_url": qstash_tenant.url,
                    "clock": qstash_clock.time, "status_lookup": EVERY_TIME,
                    "signing_keys": qstash_tenant.keys, **options}
        queue = RequestQueue(**settings)  # type: ignore[arg-type]
        made.append(queue)
        return queue

    yield build  # type: ignore[misc]
    for queue in made:
        queue.close(5)


@pytest.mark.qstash(daily_quota=5)
def test_ten_jobs_with_a_daily_quota_of_five_all_read_delivered(
    make_queue: type[RequestQueue], qstash_endpoint: Endpoint,
) -> None:
    queue = make_queue()
    jobs = [queue.enqueue(f"job-{n}", endpoint=qstash_endpoint.url_for("/plain"),
                          payload={"n": n}) for n in range(1, 11)]
    statuses = [queue.wait(job.job_id, timeout=30) for job in jobs]
    assert [job.backend for job in jobs] == ["qstash"] * 5 + ["memory"] * 5
    assert [s.state for s in statuses] == [JobState.DELIVERED] * 10
    assert [s.backend for s in statuses] == ["qstash"] * 5 + ["memory"] * 5
    assert all(s.attempts == 1 and s.finished for s in statuses)
    assert "QStash delivered it" in statuses[0].history[-1].detail
    assert sorted(r.json()["n"] for r in qstash_endpoint.requests) == list(range(1, 11))


def test_a_job_whose_endpoint_always_fails_reads_failed_once_in_the_dlq(
    make_queue: type[RequestQueue], qstash_endpoint: Endpoint, qstash_clock: EmulatorClock,
) -> None:
    qstash_endpoint.respond_with(500, path="/broken")
    queue = make_queue()
    job = queue.enqueue("doomed", endpoint=qstash_endpoint.url_for("/broken"), payload={},
                        retries=2)
    retrying = queue.wait(job.job_id, states={JobState.RETRYING}, timeout=10)
    assert retrying.attempts == 1 and retrying.next_retry_ms is not None
    assert retrying.next_retry_ms > qstash_clock.time() * 1000
    assert "status 500" in retrying.history[-1].detail
    qstash_clock.advance(3600)  # both retries fall due on the way
    failed = queue.wait(job.job_id, timeout=10)
    assert failed.state is JobState.FAILED and failed.gave_up and failed.attempts == 3
    assert failed.error is not None and "500" in failed.error
    assert failed.next_retry_ms is None
    assert "DLQ" in failed.history[-1].detail
    assert len(qstash_endpoint.requests) == 3


def test_a_delayed_job_stays_queued_until_qstash_delivers_it(
    make_queue: type[RequestQueue], qstash_endpoint: Endpoint, qstash_clock: EmulatorClock,
) -> None:
    queue = make_queue()
    job = queue.enqueue("later", endpoint=qstash_endpoint.url_for("/later"), payload={}, delay=60)
    assert queue.get_job_status(job.job_id).state is JobState.QUEUED  # type: ignore[union-attr]
    with pytest.raises(WaitTimeoutError) as timed_out:
        queue.wait(job.job_id, timeout=0.2)
    assert timed_out.value.status.state is JobState.QUEUED
    qstash_clock.advance(60)
    assert queue.wait(job.job_id, timeout=10).state is JobState.DELIVERED


def test_lookups_are_rationed_per_job(
    make_queue: type[RequestQueue], qstash_endpoint: Endpoint, qstash_clock: EmulatorClock,
) -> None:
    store = MemoryStatusStore()
    queue = make_queue(status_lookup=StatusLookup(interval_s=3600), status_store=store)
    job = queue.enqueue("k", endpoint=qstash_endpoint.url_for("/r"), payload={}, delay=10)
    first = queue.get_job_status(job.job_id)
    qstash_clock.advance(10)
    qstash_endpoint.wait_for(1)
    again = queue.get_job_status(job.job_id)  # delivered by now, but looked up a moment ago
    assert first is not None and again is not None
    assert first.checked_ms > 0 and again.checked_ms == first.checked_ms
    assert again.state is JobState.QUEUED
    never = make_queue(status_lookup=StatusLookup(enabled=False), status_store=store)
    assert never.get_job_status(job.job_id).state is JobState.QUEUED  # type: ignore[union-attr]


def test_the_per_process_lookup_budget() -> None:
    budget = LookupBudget(StatusLookup(max_per_s=2))
    assert [budget.take() for _ in range(3)] == [True, True, False]


def test_wait_on_an_unknown_job(make_queue: type[RequestQueue]) -> None:
    with pytest.raises(UnknownJobError):
        make_queue().wait("job_nope", timeout=1)


def test_memory_jobs_are_never_looked_up_and_their_backoff_runs_on_the_queue_clock(
    make_queue: type[RequestQueue], qstash_endpoint: Endpoint, qstash_clock: EmulatorClock,
) -> None:
    qstash_endpoint.respond_with([500, 200], path="/flaky")
    queue = make_queue(use_qstash=False, memory=MemoryOptions(backoff_base_s=5))
    job = queue.enqueue("m", endpoint=qstash_endpoint.url_for("/flaky"), payload={})
    retrying = queue.wait(job.job_id, states=["retrying"], timeout=10)
    assert retrying.next_retry_ms == pytest.approx(qstash_clock.time() * 1000 + 5000, abs=1000)
    assert not queue.drain(0.3)  # five seconds of the emulator's clock have not passed
    qstash_clock.advance(5)
    status = queue.wait(job.job_id, timeout=10)
    assert status.state is JobState.DELIVERED and status.attempts == 2
    assert [h.state for h in status.history] == [
        JobState.QUEUED, JobState.RETRYING, JobState.DELIVERED]
    assert status.checked_ms == 0


@pytest.mark.anyio
async def test_async_queue_follows_qstash_too(
    qstash_tenant: Tenant, qstash_endpoint: Endpoint, qstash_clock: EmulatorClock,
) -> None:
    qstash_endpoint.respond_with([500, 200], path="/a")
    async with AsyncRequestQueue(qstash_token=qstash_tenant.token, base_url=qstash_tenant.url,
                                 clock=qstash_clock.time, status_lookup=EVERY_TIME) as queue:
        job = await queue.enqueue("a", endpoint=qstash_endpoint.url_for("/a"), payload={})
        retrying = await queue.wait(job.job_id, states=["retrying"], timeout=10)
        qstash_clock.advance(60)
        done = await queue.wait(job.job_id, timeout=10)
    assert retrying.next_retry_ms is not None
    assert done.state is JobState.DELIVERED and done.attempts == 2


def _log(state: LogState, at: int, **fields: object) -> Log:
    values: dict[str, object] = {name: None for name in Log.__dataclass_fields__}
    values.update(time=at, message_id="msg_1", state=state, url="http://x/y", **fields)
    return Log(**values)  # type: ignore[arg-type]


def test_reports_read_the_logs_as_a_set() -> None:
    created = _log(LogState.CREATED, 1)
    error = _log(LogState.ERROR, 3, error="boom", response_status=502)
    retry = _log(LogState.RETRY, 4, next_delivery_time=99)
    assert report_from([created]) is None
    assert report_from([_log(LogState.ACTIVE, 2), created]) is None
    waiting = report_from([retry, error, created])
    assert waiting is not None and waiting.state is JobState.RETRYING
    assert (waiting.attempts, waiting.next_retry_ms) == (1, 99)
    delivered = report_from([created, error, retry, _log(LogState.DELIVERED, 9)])
    assert delivered is not None and delivered.state is JobState.DELIVERED
    assert delivered.attempts == 2
    cancelled = report_from([_log(LogState.CANCELED, 5), created])
    assert cancelled is not None and cancelled.state is JobState.FAILED and cancelled.gave_up
