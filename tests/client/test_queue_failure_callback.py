"""`failure_callback_url=`: QStash calls the receiving helper when it gives up on a job, and the
job reads `failed` for good without any read of QStash's logs."""

from __future__ import annotations

import json

import httpx
import pytest
from client_servers import ReceivingApp

from pytest_qstash import EmulatorClock, Endpoint, Tenant
from qstash_emulator.core.model import SigningKeys
from qstash_queue import JobState, RequestQueue, StatusLookup
from qstash_queue.signing import sign


@pytest.fixture
def app(qstash_tenant: Tenant) -> ReceivingApp:
    with ReceivingApp(SigningKeys(*qstash_tenant.keys), fail_always=True) as running:
        yield running  # type: ignore[misc]


def _queue(tenant: Tenant, app: ReceivingApp, clock: EmulatorClock) -> RequestQueue:
    return RequestQueue(qstash_token=tenant.token, base_url=tenant.url, clock=clock.time,
                        status_store=app.status_store, failure_callback_url=app.failure_url,
                        status_lookup=StatusLookup(enabled=False))


def test_the_failure_callback_marks_the_job_failed_for_good(
    qstash_tenant: Tenant, qstash_clock: EmulatorClock, app: ReceivingApp,
) -> None:
    with _queue(qstash_tenant, app, qstash_clock) as queue:
        job = queue.enqueue("doomed", endpoint=app.url, payload={"n": 1}, retries=1)
        qstash_clock.advance(0)
        after_first = queue.get_job_status(job.job_id)
        qstash_clock.advance(3600)
        final = queue.wait(job.job_id, timeout=10)
    assert after_first is not None and after_first.state is JobState.FAILED
    assert not after_first.gave_up  # the handler failed once; QStash will retry
    assert final.state is JobState.FAILED and final.gave_up and final.attempts == 2
    assert final.error is not None and "QStash gave up after 2 attempt(s)" in final.error
    assert "status 500" in final.error and "DLQ" in final.error
    assert final.checked_ms == 0  # no log was read: the callback told
    assert app.runs == {job.job_id: 2}


def test_a_plain_endpoint_job_is_marked_through_the_callback_too(
    qstash_tenant: Tenant, qstash_clock: EmulatorClock, app: ReceivingApp,
    qstash_endpoint: Endpoint,
) -> None:
    qstash_endpoint.respond_with(404, path="/gone")
    with _queue(qstash_tenant, app, qstash_clock) as queue:
        job = queue.enqueue("k", endpoint=qstash_endpoint.url_for("/gone"), payload={},
                            retries=0)
        final = queue.wait(job.job_id, timeout=10)
    assert final.state is JobState.FAILED and final.gave_up and "404" in (final.error or "")


def test_a_forged_or_malformed_callback_is_refused(
    app: ReceivingApp, qstash_tenant: Tenant,
) -> None:
    body = json.dumps({"sourceMessageId": "msg_1", "status": 500}).encode()
    forged = httpx.post(app.failure_url, content=body, headers={
        "Upstash-Signature": sign("sig_" + "x" * 28, app.failure_url, body),
        "X-Queue-Job-Id": "job_1"})
    assert forged.status_code == 401
    assert "invalid signature" in forged.json()["error"]
    not_a_callback = b'{"hello": 1}'
    malformed = httpx.post(app.failure_url, content=not_a_callback, headers={
        "Upstash-Signature": sign(qstash_tenant.current_signing_key, app.failure_url,
                                  not_a_callback)})
    assert malformed.status_code == 400
    assert "sourceMessageId" in malformed.json()["error"]
