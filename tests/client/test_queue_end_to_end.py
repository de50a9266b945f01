"""The issue's "How we will check", end to end against the emulator's quota, outage and fault
switches (`/__emulator__/quota`, `/outage`, `/faults`), a real Redis and a real receiving app.

Each test skips only when the emulator answers 404 on the control path it needs (an emulator
without the quota and fault features); any other answer is used or fails the test.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from client_servers import ReceivingApp
from qstash.errors import QStashError

from pytest_qstash.control import EmulatorControl
from pytest_qstash.server import EmulatorServer
from qstash_emulator.core.model import SigningKeys
from qstash_queue import (
    FallbackPolicy,
    JobState,
    MemoryOptions,
    RedisIdempotencyStore,
    RedisStatusStore,
    RequestQueue,
)

FAST = MemoryOptions(backoff_base_s=0.001, backoff_max_s=0.01)


class Switches:
    """Calls to the emulator's control API for one tenant; undone at the end of the test."""

    def __init__(self, url: str, token: str) -> None:
        self._http = httpx.Client(base_url=url + "/__emulator__",
                                  headers={"Authorization": f"Bearer {token}"}, timeout=30)

    def call(self, method: str, path: str, body: Any = None) -> Any:
        response = self._http.request(method, path, json=body)
        if response.status_code == 404:
            pytest.skip(f"the emulator has no {method} /__emulator__/{path}")
        response.raise_for_status()
        return response.json() if response.content else None

    def undo(self) -> None:
        for method, path, body in [("DELETE", "outage", None), ("DELETE", "faults", None),
                                   ("PUT", "quota", {"daily": None, "monthly": None,
                                                     "burst": None})]:
            self._http.request(method, path, json=body)
        self._http.close()


@pytest.fixture
def switches(server: EmulatorServer, token: str, control: EmulatorControl) -> Iterator[Switches]:
    made = Switches(server.url, token)
    yield made
    made.undo()


@pytest.fixture
def redis_app(keys: SigningKeys, redis_url: str, prefix: str) -> Iterator[ReceivingApp]:
    store = RedisStatusStore(redis_url, prefix=prefix)
    with ReceivingApp(keys, status_store=store,
                      idempotency=RedisIdempotencyStore(redis_url, prefix=prefix)) as app:
        yield app
    store.close()


def test_quota_exhaustion_falls_back_to_memory_and_every_job_succeeds(
    server: EmulatorServer, token: str, control: EmulatorControl, switches: Switches,
    redis_app: ReceivingApp, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("QSTASH_CURRENT_SIGNING_KEY", raising=False)  # keys come via the SDK
    caplog.set_level(logging.INFO, logger="qstash_queue")
    switches.call("PUT", "quota", {"daily": 3})
    with RequestQueue(qstash_token=token, base_url=server.url, memory=FAST,
                      status_store=redis_app.status_store) as queue:
        jobs = [queue.enqueue(f"job-{n}", endpoint=redis_app.url, payload={"n": n})
                for n in range(7)]
        control.advance(0)
        assert queue.drain(10)
        stats = queue.stats()
        statuses = [queue.get_job_status(job.job_id) for job in jobs]
    assert [job.backend for job in jobs] == ["qstash"] * 3 + ["memory"] * 4
    assert all(job.message_id for job in jobs[:3]) and not any(j.message_id for j in jobs[3:])
    assert redis_app.runs == {job.job_id: 1 for job in jobs}
    assert all(s is not None and s.state is JobState.SUCCEEDED for s in statuses)
    assert [s.backend for s in statuses if s] == ["qstash"] * 3 + ["memory"] * 4
    assert stats["fallback_episodes"] == 1 and stats["fallback_jobs"] == 4
    [record] = [r for r in caplog.records if r.name == "qstash_queue.fallback"]
    assert record.fallback["reason"] == "quota"  # type: ignore[attr-defined]
    assert record.fallback["limit"] == "3"  # type: ignore[attr-defined]


def test_exhausted_quota_switch_sends_the_next_job_to_memory(
    server: EmulatorServer, token: str, keys: SigningKeys, switches: Switches,
    redis_app: ReceivingApp,
) -> None:
    switches.call("POST", "quota/exhaust", {"window": "daily"})
    with RequestQueue(qstash_token=token, base_url=server.url, memory=FAST,
                      signing_keys=(keys.current, keys.next),
                      status_store=redis_app.status_store) as queue:
        job = queue.enqueue("k", endpoint=redis_app.url, payload={})
        assert queue.drain(10)
        assert queue.stats()["fallback_episodes"] == 1
    assert job.backend == "memory" and redis_app.runs == {job.job_id: 1}


def test_duplicate_deliveries_run_the_handler_once_per_job(
    server: EmulatorServer, token: str, control: EmulatorControl, switches: Switches,
    redis_app: ReceivingApp,
) -> None:
    switches.call("POST", "faults", {"match": redis_app.url + "*", "duplicate_after_s": 5})
    queue = RequestQueue(qstash_token=token, base_url=server.url,
                         status_store=redis_app.status_store)
    jobs = [queue.enqueue(f"k{n}", endpoint=redis_app.url, payload={"n": n}) for n in range(3)]
    control.advance(0)
    control.advance(6)
    assert redis_app.runs == {job.job_id: 1 for job in jobs}
    for job in jobs:
        deliveries = control.deliveries(job.message_id)
        assert len(deliveries) == 2
        assert {d["status"] for d in deliveries} == {200}
        assert deliveries[0]["responseBody"] == deliveries[1]["responseBody"]
        status = queue.get_job_status(job.job_id)
        assert status is not None and status.state is JobState.SUCCEEDED


@pytest.mark.parametrize("outage", [{"mode": "error", "status": 503}, {"mode": "reset"}])
def test_outage_fallback_when_enabled(
    outage: dict[str, Any], server: EmulatorServer, token: str, keys: SigningKeys,
    control: EmulatorControl, switches: Switches, redis_app: ReceivingApp,
) -> None:
    switches.call("POST", "outage", {**outage, "paths": ["/v2/publish"]})
    options: dict[str, Any] = {"qstash_token": token, "base_url": server.url, "memory": FAST,
                               "signing_keys": (keys.current, keys.next), "qstash_retry": False,
                               "status_store": redis_app.status_store}
    with RequestQueue(**options) as strict, \
            pytest.raises((QStashError, httpx.TransportError)):
        strict.enqueue("strict", endpoint=redis_app.url, payload={})
    policy = FallbackPolicy(on_outage=True, probe_interval_s=0)
    with RequestQueue(**options, fallback=policy) as queue:
        during = queue.enqueue("during", endpoint=redis_app.url, payload={})
        assert queue.drain(10)
        switches.call("DELETE", "outage")
        after = queue.enqueue("after", endpoint=redis_app.url, payload={})
        control.advance(0)
        stats = queue.stats()
    assert (during.backend, after.backend) == ("memory", "qstash")
    assert stats["fallback_episodes"] == 1 and stats["fallback_active"] is False
    assert redis_app.runs == {during.job_id: 1, after.job_id: 1}


def test_signature_faults_next_key_accepted_tampered_refused(
    server: EmulatorServer, token: str, control: EmulatorControl, switches: Switches,
    redis_app: ReceivingApp,
) -> None:
    switches.call("POST", "faults", {"match": redis_app.url + "?rotated*", "signature": "next-key"})
    switches.call("POST", "faults", {"match": redis_app.url + "?tampered*",
                                     "signature": "wrong-body"})
    queue = RequestQueue(qstash_token=token, base_url=server.url,
                         status_store=redis_app.status_store)
    rotated = queue.enqueue("r", endpoint=redis_app.url + "?rotated=1", payload={}, retries=0)
    tampered = queue.enqueue("t", endpoint=redis_app.url + "?tampered=1", payload={}, retries=0)
    control.advance(0)
    assert redis_app.runs == {rotated.job_id: 1}
    assert [d["status"] for d in control.deliveries(tampered.message_id)] == [401]
    status = queue.get_job_status(tampered.job_id)  # the handler never ran: QStash's logs tell
    assert status is not None and status.state is JobState.FAILED and status.gave_up
    assert status.error is not None and "401" in status.error
