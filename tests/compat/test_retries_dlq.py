"""Retries, the DLQ, callbacks and logs, driven on the virtual clock (no sleeping)."""

from __future__ import annotations

import base64
import math

import pytest
from qstash import QStash
from qstash.errors import QStashError
from qstash.log import LogState

from pytest_qstash.control import EmulatorControl
from pytest_qstash.endpoint import Endpoint


def _states(client: QStash, message_id: str) -> list[str]:
    logs = client.log.list(filter={"message_id": message_id}).logs
    return [log.state.value for log in reversed(logs)]


def test_default_retry_ladder_then_dlq(
    client: QStash, endpoint: Endpoint, control: EmulatorControl
) -> None:
    endpoint.respond_with(500, body="boom")
    start = control.now_ms()
    result = client.message.publish(url=endpoint.url_for("/fail"), body="x")
    control.advance(10**6)
    deliveries = control.deliveries(result.message_id)
    assert [d["attempt"] for d in deliveries] == [0, 1, 2, 3]
    offsets = [d["time"] - start for d in deliveries]
    expected, total = [0], 0.0
    for n in (1, 2, 3):
        total += math.exp(2.5 * n)
        expected.append(round(total * 1000))
    assert offsets == pytest.approx(expected, abs=3)
    assert [r.header("upstash-retried") for r in endpoint.requests] == ["0", "1", "2", "3"]
    assert _states(client, result.message_id) == (
        ["CREATED"] + ["ACTIVE", "ERROR", "RETRY"] * 3 + ["ACTIVE", "ERROR", "FAILED"]
    )
    [entry] = client.dlq.list().messages
    assert entry.message_id == result.message_id
    assert entry.response_status == 500
    assert entry.response_body == "boom"
    assert client.dlq.get(entry.dlq_id).message_id == result.message_id


def test_retry_delay_expression_and_success_on_third_attempt(
    client: QStash, endpoint: Endpoint, control: EmulatorControl
) -> None:
    endpoint.respond_with([500, 503, 200])
    result = client.message.publish(
        url=endpoint.url, body="x", retries=5, retry_delay="1000 * (1 + retried)"
    )
    control.advance(0.999)
    assert len(endpoint.requests) == 1
    control.advance(0.001)
    assert len(endpoint.requests) == 2
    control.advance(2)
    assert [r.status for r in endpoint.requests] == [500, 503, 200]
    states = _states(client, result.message_id)
    assert states[-1] == "DELIVERED" and states.count("DELIVERED") == 1
    assert client.dlq.list().messages == []
    log = client.log.list(filter={"message_id": result.message_id}).logs[0]
    assert log.retry_delay_expression == "1000 * (1 + retried)"


def test_retry_after_header_sets_next_attempt(
    client: QStash, endpoint: Endpoint, control: EmulatorControl
) -> None:
    endpoint.respond_with([429, 200], headers={"Retry-After": "30"})
    client.message.publish(url=endpoint.url, body="x")
    control.advance(29.9)
    assert len(endpoint.requests) == 1
    control.advance(0.1)
    assert len(endpoint.requests) == 2


def test_non_retryable_489_goes_straight_to_dlq(
    client: QStash, endpoint: Endpoint, control: EmulatorControl
) -> None:
    endpoint.respond_with(489, headers={"Upstash-NonRetryable-Error": "true"}, body="no")
    result = client.message.publish(url=endpoint.url, body="x", retries=3)
    control.advance(10**5)
    assert len(endpoint.requests) == 1
    assert _states(client, result.message_id)[-1] == "FAILED"
    assert client.dlq.list().messages[0].response_status == 489


def test_489_without_the_header_is_retried(
    client: QStash, endpoint: Endpoint, control: EmulatorControl
) -> None:
    endpoint.respond_with([489, 200])
    client.message.publish(url=endpoint.url, body="x", retries=1)
    control.advance(13)
    assert [r.status for r in endpoint.requests] == [489, 200]


def test_timeout_counts_as_failure(
    client: QStash, endpoint: Endpoint, control: EmulatorControl
) -> None:
    endpoint.delay(2)
    result = client.message.publish(url=endpoint.url, body="x", retries=0, timeout=1)
    control.advance(1)
    [entry] = client.dlq.list().messages
    assert entry.message_id == result.message_id
    logs = client.log.list(filter={"message_id": result.message_id}).logs
    assert "timed out" in (logs[0].error or "")


def test_connection_error_goes_to_dlq_with_status_zero(
    client: QStash, control: EmulatorControl
) -> None:
    result = client.message.publish(url="http://127.0.0.1:9/closed", body="x", retries=0)
    control.advance(1)
    [entry] = client.dlq.list().messages
    assert (entry.message_id, entry.response_status) == (result.message_id, 0)


def test_callback_after_every_attempt_and_failure_callback_once(
    client: QStash, endpoint: Endpoint, control: EmulatorControl
) -> None:
    endpoint.respond_with(500, path="/target", body="bad")
    result = client.message.publish(
        url=endpoint.url_for("/target"),
        body="payload",
        retries=1,
        callback=endpoint.url_for("/cb"),
        failure_callback=endpoint.url_for("/failed"),
        callback_headers={"X-Cb": "1"},
    )
    control.advance(100)
    callbacks = endpoint.wait_for(2, path="/cb")
    bodies = [c.json() for c in callbacks]
    assert [b["retried"] for b in bodies] == [0, 1]
    assert all(b["sourceMessageId"] == result.message_id for b in bodies)
    assert bodies[0]["status"] == 500 and base64.b64decode(bodies[0]["body"]) == b"bad"
    assert base64.b64decode(bodies[0]["sourceBody"]) == b"payload"
    assert callbacks[0].header("x-cb") == "1"
    assert all(c.signature_valid for c in callbacks)
    [failure] = endpoint.wait_for(1, path="/failed")
    dlq_id = client.dlq.list().messages[0].dlq_id
    assert failure.json()["dlqId"] == dlq_id
    assert failure.header("upstash-message-id") != result.message_id


def test_dlq_delete_and_bulk_delete(
    client: QStash, endpoint: Endpoint, control: EmulatorControl
) -> None:
    endpoint.respond_with(500)
    for _ in range(3):
        client.message.publish(url=endpoint.url, body="x", retries=0)
    control.advance(1)
    ids = [m.dlq_id for m in client.dlq.list().messages]
    assert len(ids) == 3
    client.dlq.delete(ids[0])
    with pytest.raises(QStashError, match="404"):
        client.dlq.delete(ids[0])
    with pytest.raises(QStashError, match="404"):
        client.dlq.get(ids[0])
    assert client.dlq.delete_many(ids) == 2
    assert client.dlq.list().messages == []


def test_dlq_paging_and_filters(
    client: QStash, endpoint: Endpoint, control: EmulatorControl
) -> None:
    endpoint.respond_with(500)
    for i in range(5):
        client.message.publish(url=endpoint.url_for(f"/p{i % 2}"), body="x", retries=0,
                               label=f"l{i % 2}")
    control.advance(1)
    first = client.dlq.list(count=2)
    second = client.dlq.list(count=2, cursor=first.cursor)
    third = client.dlq.list(count=2, cursor=second.cursor)
    assert (len(first.messages), len(second.messages), len(third.messages)) == (2, 2, 1)
    assert third.cursor is None
    assert len({m.dlq_id for m in first.messages + second.messages + third.messages}) == 5
    assert len(client.dlq.list(filter={"label": "l0"}).messages) == 3
    assert len(client.dlq.list(filter={"url": endpoint.url_for("/p1")}).messages) == 2
    assert len(client.dlq.list(filter={"response_status": 500}).messages) == 5


def test_logs_filters_and_cursor(
    client: QStash, endpoint: Endpoint, control: EmulatorControl
) -> None:
    ids = [client.message.publish(url=endpoint.url, body=str(i)).message_id for i in range(3)]
    endpoint.wait_for(3)
    control.advance(0)
    delivered = client.log.list(filter={"state": LogState.DELIVERED}).logs
    assert sorted(log.message_id for log in delivered) == sorted(ids)
    assert all(base64.b64decode(log.body_base64 or "") in (b"0", b"1", b"2") for log in delivered)
    seen, cursor = [], None
    while True:
        page = client.log.list(count=4, cursor=cursor)
        seen += page.logs
        cursor = page.cursor
        if cursor is None:
            break
    assert len(seen) == 9  # CREATED, ACTIVE, DELIVERED per message
    times = [log.time for log in seen]
    assert times == sorted(times, reverse=True)
    only = client.log.list(filter={"message_ids": ids[:2]}).logs
    assert {log.message_id for log in only} == set(ids[:2])


def test_cancel_pending_messages(
    client: QStash, endpoint: Endpoint, control: EmulatorControl
) -> None:
    first = client.message.publish(url=endpoint.url, body="a", delay=60)
    second = client.message.publish(url=endpoint.url, body="b", delay=60)
    third = client.message.publish(url=endpoint.url, body="c", delay=60)
    client.message.cancel(first.message_id)
    assert _states(client, first.message_id) == ["CREATED", "CANCEL_REQUESTED", "CANCELED"]
    assert client.message.cancel_many([second.message_id, "msg_unknown"]) == 1
    with pytest.raises(QStashError, match="404"):
        client.message.cancel("msg_unknown")
    assert client.message.cancel_all() == 1
    control.advance(120)
    assert endpoint.requests == []
    assert _states(client, third.message_id)[-1] == "CANCELED"


def test_dlq_retry_republishes_with_overrides(
    client: QStash, endpoint: Endpoint, control: EmulatorControl, server
) -> None:
    import httpx

    endpoint.respond_with([500, 200])
    original = client.message.publish(url=endpoint.url, body="again", retries=0)
    control.advance(1)
    [entry] = client.dlq.list().messages
    response = httpx.post(
        f"{server.url}/v2/dlq/retry/{entry.dlq_id}",
        headers={"Authorization": f"Bearer {client.http._token[7:]}", "Upstash-Retries": "2"},
    )
    assert response.status_code == 201
    new_id = response.json()["messageId"]
    assert new_id != original.message_id
    endpoint.wait_for(2)
    assert client.dlq.list().messages == []
    assert client.message.get(new_id).max_retries == 2
