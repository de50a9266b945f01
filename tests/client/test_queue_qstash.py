"""The QStash backend against the real emulator, through the official SDK."""

from __future__ import annotations

import pytest
from qstash import QStash
from qstash.errors import QStashError

from pytest_qstash.control import EmulatorControl
from pytest_qstash.endpoint import Endpoint
from pytest_qstash.server import EmulatorServer
from qstash_queue import AsyncRequestQueue, JobState, RequestQueue


@pytest.fixture
def queue(server: EmulatorServer, token: str, control: EmulatorControl) -> RequestQueue:
    return RequestQueue(qstash_token=token, base_url=server.url)


def test_enqueue_publishes_through_qstash(queue: RequestQueue, endpoint: Endpoint) -> None:
    job = queue.enqueue("invoice:1", endpoint=endpoint.url_for("/jobs?x=1"), payload={"id": 1},
                        headers={"X-Trace": "t1"})
    [request] = endpoint.wait_for(1)
    assert job.backend == "qstash" and job.message_id is not None
    assert request.header("upstash-message-id") == job.message_id
    assert request.header("user-agent") == "Upstash-QStash"
    assert request.header("x-queue-job-id") == job.job_id
    assert request.header("x-queue-job-key") == "invoice:1"
    assert request.header("x-queue-backend") == "qstash"
    assert request.header("x-trace") == "t1"
    assert request.json() == {"id": 1} and request.query == "x=1"
    assert request.signature_valid is True
    # a plain endpoint: QStash's logs tell, once the emulator has the endpoint's answer (the
    # request is recorded before the answer reaches the emulator)
    status = queue.wait(job.job_id)
    assert status.state is JobState.DELIVERED and status.attempts == 1
    assert status.backend == "qstash" and status.message_id == job.message_id
    stats = queue.stats()
    assert stats["jobs_qstash"] == 1 and stats["fallback_episodes"] == 0
    assert stats["fallback_jobs"] == 0
    queue.close()


def test_delay_method_and_retries_reach_qstash(
    queue: RequestQueue, endpoint: Endpoint, control: EmulatorControl, client: QStash
) -> None:
    job = queue.enqueue("k", endpoint=endpoint.url_for("/put"), payload="text", method="put",
                        delay=90, retries=1)
    control.advance(89)
    assert endpoint.requests == []
    control.advance(1)
    [request] = endpoint.wait_for(1)
    assert request.method == "PUT" and request.text == "text"
    assert job.message_id is not None
    assert client.message.get(job.message_id).max_retries == 1


def test_dedup_id_publishes_once(queue: RequestQueue, endpoint: Endpoint) -> None:
    first = queue.enqueue("k", endpoint=endpoint.url_for("/d"), payload={}, dedup_id="d-1")
    again = queue.enqueue("k", endpoint=endpoint.url_for("/d"), payload={}, dedup_id="d-1")
    assert again.deduplicated and again.job_id == first.job_id
    assert again.message_id == first.message_id and again.backend == "qstash"
    endpoint.wait_for(1)
    assert queue.stats()["jobs_qstash"] == 1


def test_other_errors_propagate_without_fallback(queue: RequestQueue) -> None:
    with pytest.raises(QStashError, match="400"):
        queue.enqueue("k", endpoint="not a url", payload={})
    assert queue.stats()["fallback_jobs"] == 0


def test_token_is_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("QSTASH_TOKEN", raising=False)
    with pytest.raises(ValueError, match="QSTASH_TOKEN"):
        RequestQueue()


def test_token_and_url_from_the_environment(
    server: EmulatorServer, token: str, endpoint: Endpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QSTASH_TOKEN", token)
    monkeypatch.setenv("QSTASH_URL", server.url)
    with RequestQueue() as queue:
        job = queue.enqueue("k", endpoint=endpoint.url_for("/env"), payload=[1, 2])
    assert endpoint.wait_for(1)[0].header("upstash-message-id") == job.message_id


@pytest.mark.anyio
async def test_async_queue_publishes_through_qstash(
    server: EmulatorServer, token: str, control: EmulatorControl, endpoint: Endpoint
) -> None:
    async with AsyncRequestQueue(qstash_token=token, base_url=server.url) as queue:
        jobs = [await queue.enqueue(f"k{n}", endpoint=endpoint.url_for("/a"), payload={"n": n})
                for n in range(3)]
        status = await queue.get_job_status(jobs[0].job_id)
    endpoint.wait_for(3)
    assert {j.backend for j in jobs} == {"qstash"}
    assert {r.header("upstash-message-id") for r in endpoint.requests} == {
        j.message_id for j in jobs}
    assert status is not None and status.message_id == jobs[0].message_id
