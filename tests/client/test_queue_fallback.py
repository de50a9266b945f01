"""Fallback decisions with real refusals: a scripted local server answering 429/503, sockets
that reset or hang, a closed port. Deliveries of fallen-back jobs reach a real endpoint."""

from __future__ import annotations

import logging

import httpx
import pytest
from client_servers import BURST, OK, QUOTA, Answer, RawServer, ScriptedQStash, closed_port_url
from qstash.errors import DailyMessageLimitExceededError, QStashError, RateLimitExceededError

from pytest_qstash.endpoint import Endpoint
from qstash_emulator.core.model import SigningKeys
from qstash_queue import FallbackPolicy, JobState, MemoryOptions, Reason, RequestQueue
from qstash_queue.fallback import FallbackController, classify

FAST = MemoryOptions(backoff_base_s=0.001, backoff_max_s=0.01)


def _queue(url: str, keys: SigningKeys, **policy: object) -> RequestQueue:
    return RequestQueue(
        qstash_token="t", base_url=url, fallback=FallbackPolicy(**policy),  # type: ignore[arg-type]
        memory=FAST, signing_keys=(keys.current, keys.next), qstash_retry=False,
        publish_timeout_s=0.3,
    )


def _starts(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "qstash_queue.fallback"
            and r.fallback["event"] == "qstash_fallback_started"]  # type: ignore[attr-defined]


def test_quota_refusal_falls_back_logged_once_per_episode(
    scripted: ScriptedQStash, endpoint: Endpoint, keys: SigningKeys,
    caplog: pytest.LogCaptureFixture,
) -> None:
    scripted.script(QUOTA)
    caplog.set_level(logging.INFO, logger="qstash_queue")
    with _queue(scripted.url, keys, probe_interval_s=0) as queue:
        jobs = [queue.enqueue(f"k{n}", endpoint=endpoint.url_for("/j"), payload={"n": n})
                for n in range(4)]
        assert queue.drain(5)
        statuses = [queue.get_job_status(j.job_id) for j in jobs]
        stats = queue.stats()
    assert {j.backend for j in jobs} == {"memory"} and {j.message_id for j in jobs} == {None}
    assert sorted(r.json()["n"] for r in endpoint.requests) == [0, 1, 2, 3]
    assert all(r.signature_valid for r in endpoint.requests)
    assert all(s is not None and s.state is JobState.DELIVERED and s.backend == "memory"
               for s in statuses)
    assert stats["fallback_episodes"] == 1 and stats["fallback_jobs"] == 4
    assert stats["fallback_active"] is True and stats["fallback_reason"] == "quota"
    assert scripted.publishes == 4  # probe_interval_s=0: QStash is tried for every job
    [record] = _starts(caplog)
    assert record.levelno == logging.WARNING
    details = record.fallback  # type: ignore[attr-defined]
    assert details["event"] == "qstash_fallback_started" and details["episode"] == 1
    assert details["reason"] == "quota" and details["job_id"] == jobs[0].job_id
    assert details["error_type"] == "DailyMessageLimitExceededError"
    assert (details["limit"], details["remaining"], details["reset"]) == ("3", "0", "1767225600")
    history = statuses[0].history  # type: ignore[union-attr]
    assert "fallback to memory: quota" in [h.detail for h in history]


def test_a_qstash_success_ends_the_episode(
    scripted: ScriptedQStash, endpoint: Endpoint, keys: SigningKeys,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="qstash_queue")
    scripted.script(QUOTA, QUOTA, OK, QUOTA)
    with _queue(scripted.url, keys, probe_interval_s=0) as queue:
        backends = [queue.enqueue(f"k{n}", endpoint=endpoint.url_for("/j"), payload={}).backend
                    for n in range(4)]
        stats = queue.stats()
    assert backends == ["memory", "memory", "qstash", "memory"]
    assert stats["fallback_episodes"] == 2 and stats["fallback_jobs"] == 3
    assert stats["jobs_qstash"] == 1 and stats["jobs_memory"] == 3
    assert [r.fallback["episode"] for r in _starts(caplog)] == [1, 2]  # type: ignore[attr-defined]


def test_during_an_episode_qstash_is_probed_only_after_the_interval(
    scripted: ScriptedQStash, endpoint: Endpoint, keys: SigningKeys,
) -> None:
    scripted.script(QUOTA)
    with _queue(scripted.url, keys, probe_interval_s=3600) as queue:
        for n in range(5):
            queue.enqueue(f"k{n}", endpoint=endpoint.url_for("/j"), payload={})
        assert queue.stats()["fallback_jobs"] == 5
    assert scripted.publishes == 1


def test_probe_timing_on_an_injected_clock() -> None:
    now = [100.0]
    controller = FallbackController(FallbackPolicy(probe_interval_s=30), clock=lambda: now[0])
    assert controller.skip_reason() is None
    controller.record_fallback("job_1", Reason.QUOTA, None)
    now[0] += 29.9
    assert controller.skip_reason() is Reason.QUOTA
    now[0] += 0.1
    assert controller.skip_reason() is None
    controller.record_success()
    assert controller.stats()["fallback_active"] is False


@pytest.mark.parametrize(("answer", "error"), [
    (BURST, RateLimitExceededError), (Answer(503), QStashError), (Answer(500), QStashError),
])
def test_burst_and_5xx_propagate_by_default(
    scripted: ScriptedQStash, endpoint: Endpoint, keys: SigningKeys, answer: Answer,
    error: type[Exception],
) -> None:
    scripted.script(answer)
    with _queue(scripted.url, keys) as queue:
        with pytest.raises(error):
            queue.enqueue("k", endpoint=endpoint.url_for("/j"), payload={})
        assert queue.stats()["fallback_jobs"] == 0
    assert endpoint.requests == []


def test_burst_falls_back_when_configured(
    scripted: ScriptedQStash, endpoint: Endpoint, keys: SigningKeys,
) -> None:
    scripted.script(BURST)
    with _queue(scripted.url, keys, on_rate_limit=True) as queue:
        job = queue.enqueue("k", endpoint=endpoint.url_for("/j"), payload={})
        assert queue.stats()["fallback_reason"] == "rate_limit"
    assert job.backend == "memory" and len(endpoint.requests) == 1


def test_503_falls_back_when_outage_fallback_is_on(
    scripted: ScriptedQStash, endpoint: Endpoint, keys: SigningKeys,
) -> None:
    scripted.script(Answer(503))
    with _queue(scripted.url, keys, on_outage=True) as queue:
        job = queue.enqueue("k", endpoint=endpoint.url_for("/j"), payload={})
        assert queue.stats()["fallback_reason"] == "outage"
    assert job.backend == "memory" and len(endpoint.requests) == 1


def test_4xx_propagates_even_with_outage_fallback(
    scripted: ScriptedQStash, endpoint: Endpoint, keys: SigningKeys,
) -> None:
    scripted.script(Answer(400))
    with _queue(scripted.url, keys, on_outage=True) as queue, pytest.raises(QStashError):
        queue.enqueue("k", endpoint=endpoint.url_for("/j"), payload={})


@pytest.mark.parametrize("where", ["closed", "reset", "hang"])
def test_transport_failures(where: str, endpoint: Endpoint, keys: SigningKeys) -> None:
    with RawServer("reset" if where == "reset" else "hang") as raw:
        url = closed_port_url() if where == "closed" else raw.url
        with _queue(url, keys) as strict, pytest.raises(httpx.TransportError):
            strict.enqueue("k", endpoint=endpoint.url_for("/j"), payload={})
        with _queue(url, keys, on_outage=True) as lenient:
            job = lenient.enqueue("k", endpoint=endpoint.url_for("/j"), payload={})
    assert job.backend == "memory"
    assert len(endpoint.requests) == 1


def test_quota_fallback_can_be_disabled(
    scripted: ScriptedQStash, endpoint: Endpoint, keys: SigningKeys,
) -> None:
    scripted.script(QUOTA)
    with _queue(scripted.url, keys, enabled=False) as queue, \
            pytest.raises(DailyMessageLimitExceededError):
        queue.enqueue("k", endpoint=endpoint.url_for("/j"), payload={})


def test_sdk_retry_is_prompt_by_default(endpoint: Endpoint, keys: SigningKeys) -> None:
    with RawServer("reset") as raw:
        queue = RequestQueue(qstash_token="t", base_url=raw.url, memory=FAST,
                             fallback=FallbackPolicy(on_outage=True),
                             signing_keys=(keys.current, keys.next))
        with queue:
            assert queue.enqueue("k", endpoint=endpoint.url_for("/j"), payload={}).backend == \
                "memory"
        assert raw.connections == 2  # one try and one retry (the SDK's default is six tries)


@pytest.mark.parametrize(("error", "reason"), [
    (DailyMessageLimitExceededError("1", "0", "9"), Reason.QUOTA),
    (RateLimitExceededError(None, None, None), Reason.RATE_LIMIT),
    (httpx.ConnectError("refused"), Reason.OUTAGE),
    (httpx.ReadTimeout("slow"), Reason.OUTAGE),
    (httpx.RemoteProtocolError("reset"), Reason.OUTAGE),
    (QStashError("Request failed with status: 502, body: x"), Reason.OUTAGE),
    (QStashError("Request failed with status: 404, body: x"), None),
    (ValueError("bug"), None),
])
def test_classify(error: Exception, reason: Reason | None) -> None:
    assert classify(error) is reason


@pytest.mark.anyio
async def test_async_queue_falls_back_on_quota(
    scripted: ScriptedQStash, endpoint: Endpoint, keys: SigningKeys,
) -> None:
    from qstash_queue import AsyncRequestQueue

    scripted.script(QUOTA, OK)
    async with AsyncRequestQueue(qstash_token="t", base_url=scripted.url, memory=FAST,
                                 fallback=FallbackPolicy(probe_interval_s=0),
                                 signing_keys=(keys.current, keys.next)) as queue:
        first = await queue.enqueue("a", endpoint=endpoint.url_for("/j"), payload={"n": 1})
        second = await queue.enqueue("b", endpoint=endpoint.url_for("/j"), payload={"n": 2})
        assert await queue.drain(5)
        status = await queue.get_job_status(first.job_id)
        stats = queue.stats()
    assert (first.backend, second.backend) == ("memory", "qstash")
    assert second.message_id is not None and first.message_id is None
    assert status is not None and status.state is JobState.DELIVERED and status.backend == "memory"
    assert stats["fallback_episodes"] == 1 and stats["fallback_active"] is False
    assert [r.json() for r in endpoint.requests] == [{"n": 1}]  # the stand-in delivers nothing


def test_the_sync_queue_is_safe_to_share_between_threads(
    scripted: ScriptedQStash, endpoint: Endpoint, keys: SigningKeys,
) -> None:
    import threading

    scripted.script(QUOTA)
    with _queue(scripted.url, keys) as queue:
        threads = [threading.Thread(target=lambda n=n: [
            queue.enqueue(f"k{n}-{i}", endpoint=endpoint.url_for("/j"), payload={})
            for i in range(5)]) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert queue.drain(5)
        stats = queue.stats()
    assert stats["fallback_jobs"] == 20 and stats["fallback_episodes"] == 1
    assert stats["memory_delivered"] == stats["jobs_memory"] == 20
    assert len(endpoint.requests) == 20
