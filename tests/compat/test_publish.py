"""Publishing through the official SDK, delivered signed to a real local endpoint."""

from __future__ import annotations

import json

import pytest
from qstash import AsyncQStash, QStash, Receiver
from qstash.errors import QStashError

from pytest_qstash.endpoint import Endpoint


def test_publish_delivers_signed_request_with_qstash_headers(
    client: QStash, endpoint: Endpoint, receiver: Receiver
) -> None:
    url = endpoint.url_for("/hook?source=sdk")
    result = client.message.publish(
        url=url, body="hello", content_type="text/plain", headers={"X-Custom": "yes"}
    )
    [request] = endpoint.wait_for(1)
    assert request.body == b"hello"
    assert request.url == url
    assert request.header("content-type") == "text/plain"
    assert request.header("x-custom") == "yes"
    assert request.header("upstash-message-id") == result.message_id
    assert request.header("upstash-retried") == "0"
    assert request.header("user-agent") == "Upstash-QStash"
    assert request.signature_valid is True
    receiver.verify(signature=request.header("upstash-signature") or "", body="hello", url=url)


def test_publish_json_with_method_and_message_get(client: QStash, endpoint: Endpoint) -> None:
    result = client.message.publish_json(
        url=endpoint.url_for("/put"), body={"a": 1}, method="PUT", retries=2, label="signup"
    )
    [request] = endpoint.wait_for(1)
    assert request.method == "PUT"
    assert request.json() == {"a": 1}
    message = client.message.get(result.message_id)
    assert message.message_id == result.message_id
    assert message.method == "PUT"
    assert message.max_retries == 2
    assert message.body == json.dumps({"a": 1})
    assert message.label == "signup"
    assert message.headers is not None and message.headers["Content-Type"] == ["application/json"]


def test_delay_is_held_until_the_virtual_clock_reaches_it(
    client: QStash, endpoint: Endpoint, control
) -> None:
    before = control.now_ms()
    result = client.message.publish(url=endpoint.url_for("/later"), body="x", delay="1h30m")
    control.advance(5399)
    assert endpoint.requests == []
    assert client.message.get(result.message_id).not_before == before + 5400 * 1000
    control.advance(1)
    endpoint.wait_for(1)


def test_not_before_wins_over_delay(client: QStash, endpoint: Endpoint, control) -> None:
    at_s = control.now_ms() // 1000 + 60
    client.message.publish(url=endpoint.url, body="x", delay=3600, not_before=at_s)
    control.advance(59)
    assert endpoint.requests == []
    control.advance(2)
    endpoint.wait_for(1)


def test_batch_publishes_every_element(client: QStash, endpoint: Endpoint) -> None:
    results = client.message.batch_json(
        [{"url": endpoint.url_for(f"/b{i}"), "body": {"i": i}} for i in range(3)]
    )
    assert len({r.message_id for r in results}) == 3  # type: ignore[union-attr]
    received = endpoint.wait_for(3)
    assert sorted(r.json()["i"] for r in received) == [0, 1, 2]


def test_batch_with_one_bad_element_accepts_nothing(client: QStash, endpoint: Endpoint) -> None:
    with pytest.raises(QStashError, match="400"):
        client.message.batch(
            [{"url": endpoint.url_for("/ok"), "body": "a"},
             {"url": endpoint.url_for("/bad"), "body": "b", "retry_delay": "import os"}]
        )
    assert client.log.list().logs == []


def test_deduplication_id_returns_the_first_message(client: QStash, endpoint: Endpoint,
                                                      control) -> None:
    first = client.message.publish(url=endpoint.url, body="a", deduplication_id="d-1")
    second = client.message.publish(url=endpoint.url, body="b", deduplication_id="d-1")
    assert second.message_id == first.message_id
    assert (first.deduplicated, second.deduplicated) == (False, True)
    control.advance(1)
    assert [r.body for r in endpoint.requests] == [b"a"]


def test_content_based_deduplication(client: QStash, endpoint: Endpoint) -> None:
    first = client.message.publish(url=endpoint.url, body="same",
                                   content_based_deduplication=True)
    second = client.message.publish(url=endpoint.url, body="same",
                                    content_based_deduplication=True)
    other = client.message.publish(url=endpoint.url, body="different",
                                   content_based_deduplication=True)
    assert second.deduplicated and second.message_id == first.message_id
    assert not other.deduplicated


def test_deduplication_window_expires(client: QStash, endpoint: Endpoint, control) -> None:
    first = client.message.publish(url=endpoint.url, body="a", deduplication_id="d-2")
    control.advance(601)
    again = client.message.publish(url=endpoint.url, body="a", deduplication_id="d-2")
    assert not again.deduplicated and again.message_id != first.message_id


@pytest.mark.anyio
async def test_async_client_publishes_and_reads(aclient: AsyncQStash, endpoint: Endpoint) -> None:
    result = await aclient.message.publish_json(url=endpoint.url_for("/async"), body=[1, 2])
    message = await aclient.message.get(result.message_id)
    assert message.url == endpoint.url_for("/async")
    [request] = endpoint.wait_for(1)  # the endpoint runs in its own thread
    assert request.json() == [1, 2]
