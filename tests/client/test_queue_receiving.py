"""The receiving helpers on a real Starlette app: signatures, idempotency, job status."""

from __future__ import annotations

import httpx
import pytest
from client_servers import ReceivingApp
from qstash import QStash

from pytest_qstash.control import EmulatorControl
from pytest_qstash.server import EmulatorServer
from pytest_qstash.serving import ServerThread
from qstash_emulator.core.model import SigningKeys
from qstash_queue import (
    JobState,
    MemoryOptions,
    RedisIdempotencyStore,
    RedisStatusStore,
    RequestQueue,
)
from qstash_queue.idempotency import MemoryIdempotencyStore
from qstash_queue.receiving import Delivery, JobReceiver, Reply
from qstash_queue.signing import sign

FAST = MemoryOptions(backoff_base_s=0.001, backoff_max_s=0.01)


def _signed_post(url: str, key: str, body: bytes, **headers: str) -> httpx.Response:
    return httpx.post(url, content=body, headers={
        "Upstash-Signature": sign(key, url, body), "Content-Type": "application/json", **headers})


def test_qstash_delivery_runs_the_handler_and_updates_the_status(
    server: EmulatorServer, token: str, control: EmulatorControl, keys: SigningKeys,
    app: ReceivingApp,
) -> None:
    queue = RequestQueue(qstash_token=token, base_url=server.url, status_store=app.status_store)
    job = queue.enqueue("k", endpoint=app.url, payload={"a": 1})
    control.advance(0)  # returns once every due attempt was made
    [delivery] = control.deliveries(job.message_id)
    assert delivery["status"] == 200
    assert app.runs == {job.job_id: 1}
    status = queue.get_job_status(job.job_id)
    assert status is not None and status.state is JobState.SUCCEEDED
    assert status.backend == "qstash" and status.attempts == 1
    assert [h.state for h in status.history] == [JobState.QUEUED, JobState.PROCESSING,
                                                 JobState.SUCCEEDED]


def test_memory_delivery_passes_the_same_handler(keys: SigningKeys, app: ReceivingApp) -> None:
    with RequestQueue(use_qstash=False, status_store=app.status_store, memory=FAST,
                      signing_keys=(keys.current, keys.next)) as queue:
        job = queue.enqueue("k", endpoint=app.url, payload={"a": 2})
        assert queue.drain(5)
        status = queue.get_job_status(job.job_id)
    assert app.runs == {job.job_id: 1}
    assert status is not None and status.state is JobState.SUCCEEDED
    assert status.backend == "memory"


def test_a_failing_handler_is_retried_by_qstash_and_runs_again(
    server: EmulatorServer, token: str, control: EmulatorControl, keys: SigningKeys,
) -> None:
    with ReceivingApp(keys, fail_first=True) as app:
        queue = RequestQueue(qstash_token=token, base_url=server.url,
                             status_store=app.status_store)
        job = queue.enqueue("k", endpoint=app.url, payload={}, retries=2)
        control.advance(0)
        failed = queue.get_job_status(job.job_id)
        control.advance(15)
        done = queue.get_job_status(job.job_id)
    # the handler's failure, then QStash's logs: a retry is planned
    assert failed is not None and failed.state is JobState.RETRYING
    assert failed.next_retry_ms is not None and failed.attempts == 1
    assert failed.error is not None and "first run fails" in failed.error
    assert [h.state for h in failed.history][-2:] == [JobState.FAILED, JobState.RETRYING]
    assert done is not None and done.state is JobState.SUCCEEDED and done.attempts == 2
    assert app.runs == {job.job_id: 2}
    assert [d["status"] for d in control.deliveries(job.message_id)] == [500, 200]


@pytest.mark.parametrize("tamper", ["wrong-key", "other-body", "other-url", "missing", "garbage"])
def test_bad_signatures_get_401_and_nothing_runs(
    tamper: str, keys: SigningKeys, app: ReceivingApp,
) -> None:
    body = b'{"x": 1}'
    signature = {
        "wrong-key": sign("sig_" + "x" * 32, app.url, body),
        "other-body": sign(keys.current, app.url, b'{"x": 2}'),
        "other-url": sign(keys.current, app.url + "?evil=1", body),
        "garbage": "not.a.jwt",
    }.get(tamper)
    headers = {"Upstash-Signature": signature} if signature else {}
    response = httpx.post(app.url, content=body, headers={**headers, "X-Queue-Job-Id": "j1"})
    assert response.status_code == 401
    assert response.json()["error"].startswith("invalid signature")
    assert app.runs == {}


def test_next_key_after_rotation_is_accepted(
    client: QStash, keys: SigningKeys, app: ReceivingApp, control: EmulatorControl,
) -> None:
    rotated = client.signing_key.rotate()
    assert rotated.current == keys.next  # the emulator now signs with our "next" key
    result = client.message.publish_json(url=app.url, body={"r": 1})
    control.advance(0)
    [delivery] = control.deliveries(result.message_id)
    assert delivery["status"] == 200 and app.runs == {result.message_id: 1}


def test_a_duplicate_gets_the_first_result(keys: SigningKeys, app: ReceivingApp) -> None:
    body = b'{"n": 1}'
    first = _signed_post(app.url, keys.current, body, **{"X-Queue-Job-Id": "job_dup"})
    second = _signed_post(app.url, keys.next, body, **{"X-Queue-Job-Id": "job_dup",
                                                        "Upstash-Retried": "1"})
    assert first.status_code == second.status_code == 200
    assert second.json() == first.json() == {"job": "job_dup", "run": 1, "payload": {"n": 1}}
    assert second.headers["X-Queue-Replayed"] == "true" and "X-Queue-Replayed" not in first.headers
    assert app.runs == {"job_dup": 1}


def test_a_delivery_in_progress_gets_409(keys: SigningKeys) -> None:
    records = MemoryIdempotencyStore()
    with ReceivingApp(keys, idempotency=records) as app:
        assert records.begin("job_busy").kind == "new"  # another worker holds it
        response = _signed_post(app.url, keys.current, b"{}", **{"X-Queue-Job-Id": "job_busy"})
    assert response.status_code == 409 and response.headers["Retry-After"] == "5"
    assert app.runs == {}


def test_message_id_keys_and_redis_records_shared_by_two_receivers(
    keys: SigningKeys, redis_url: str, prefix: str,
) -> None:
    def handler(delivery: Delivery) -> Reply:
        runs.append(delivery.message_id)
        return Reply(202, b"accepted", {"Content-Type": "text/plain"})

    runs: list[str | None] = []
    receivers = [JobReceiver(keys.current, keys.next, idempotency_key="message",
                             idempotency=RedisIdempotencyStore(redis_url, prefix=prefix),
                             status_store=RedisStatusStore(redis_url, prefix=prefix))
                 for _ in range(2)]
    url, body = "http://app.example/jobs", b"payload"
    headers = {"Upstash-Signature": sign(keys.current, url, body), "Upstash-Message-Id": "msg_1",
               "X-Queue-Job-Id": "job_ignored"}
    replies = [r.handle(url=url, headers=headers, body=body, handler=handler) for r in receivers]
    assert [(r.status, r.body) for r in replies] == [(202, b"accepted")] * 2
    assert replies[1].headers["X-Queue-Replayed"] == "true"
    assert runs == ["msg_1"]


def test_plain_function_form_reports_failure(keys: SigningKeys) -> None:
    receiver = JobReceiver(keys.current, keys.next)
    url, body = "http://app.example/jobs", b"{}"
    headers = {"Upstash-Signature": sign(keys.current, url, body), "Upstash-Message-Id": "m"}

    def broken(delivery: Delivery) -> None:
        raise KeyError("missing")

    reply = receiver.handle(url=url, headers=headers, body=body, handler=broken)
    assert reply.status == 500 and b"KeyError" in reply.body
    again = receiver.handle(url=url, headers=headers, body=body, handler=lambda d: None)
    assert again.status == 200 and again.body == b"null"  # the failure did not stick


def test_bare_asgi_app_with_an_async_handler(keys: SigningKeys) -> None:
    async def handler(delivery: Delivery) -> dict[str, str]:
        return {"echo": delivery.text}

    receiver = JobReceiver(keys.current, keys.next)
    with ServerThread(receiver.asgi(handler), lifespan="off") as served:
        url = served.url + "/any/path?q=1"
        response = _signed_post(url, keys.current, b"hi", **{"Upstash-Message-Id": "m1"})
        refused = httpx.post(url, content=b"hi")
    assert response.status_code == 200 and response.json() == {"echo": "hi"}
    assert refused.status_code == 401


def test_keys_come_from_the_environment(
    keys: SigningKeys, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("QSTASH_CURRENT_SIGNING_KEY", raising=False)
    monkeypatch.delenv("QSTASH_NEXT_SIGNING_KEY", raising=False)
    with pytest.raises(ValueError, match="signing keys"):
        JobReceiver()
    monkeypatch.setenv("QSTASH_CURRENT_SIGNING_KEY", keys.current)
    url, body = "http://h/x", b"1"
    reply = JobReceiver().handle(url=url, headers={"upstash-signature": sign(keys.current, url,
                                                                              body)},
                                 body=body, handler=lambda d: d.json())
    assert reply.status == 200 and reply.body == b"1"
