"""Queues through the official SDK (sync and async), delivering to a real endpoint on the
virtual clock: FIFO, parallelism (retries and callbacks included), pause, lag, delete, limits."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from qstash import AsyncQStash, QStash
from qstash.errors import QStashError

from pytest_qstash.control import EmulatorControl
from pytest_qstash.endpoint import Endpoint
from pytest_qstash.measure import max_in_flight
from pytest_qstash.server import EmulatorServer


@pytest.fixture
def http(server: EmulatorServer, token: str) -> Iterator[httpx.Client]:
    """Raw HTTP for what the SDK cannot send, as the test's tenant."""
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}) as c:
        yield c


def states(client: QStash, message_id: str) -> list[str]:
    logs = client.log.list(filter={"message_id": message_id}).logs
    return [log.state.value for log in reversed(logs)]


def test_queue_api_end_to_end_sync(
    client: QStash, endpoint: Endpoint, control: EmulatorControl
) -> None:
    start = control.now_ms()
    client.queue.upsert("jobs", parallelism=2)
    queue = client.queue.get("jobs")
    assert (queue.name, queue.parallelism, queue.lag, queue.paused) == ("jobs", 2, 0, False)
    assert queue.created_at == queue.updated_at == start
    client.queue.pause("jobs")
    assert client.queue.get("jobs").paused is True
    first = client.message.enqueue(queue="jobs", url=endpoint.url_for("/a"), body="one")
    second = client.message.enqueue_json(queue="jobs", url=endpoint.url_for("/b"), body={"n": 2})
    control.advance(3600)
    assert endpoint.requests == []
    assert client.queue.get("jobs").lag == 2
    client.queue.resume("jobs")
    control.advance(0)
    started = sorted(control.deliveries(), key=lambda d: d["startSeq"])
    assert [d["body"] for d in started] == ["one", '{"n": 2}']
    assert sorted(r.text for r in endpoint.requests) == ["one", '{"n": 2}']
    assert all(r.signature_valid for r in endpoint.requests)
    assert client.queue.get("jobs").lag == 0
    logs = client.log.list(filter={"queue": "jobs"}).logs
    assert {log.message_id for log in logs} == {first.message_id, second.message_id}
    assert {log.queue for log in logs} == {"jobs"}
    assert [q.name for q in client.queue.list()] == ["jobs"]
    client.queue.delete("jobs")
    assert client.queue.list() == []
    with pytest.raises(QStashError, match="404"):
        client.queue.get("jobs")


@pytest.mark.anyio
async def test_queue_api_end_to_end_async(
    aclient: AsyncQStash, endpoint: Endpoint, control: EmulatorControl
) -> None:
    await aclient.message.enqueue(queue="fresh", url=endpoint.url, body="made on first use")
    control.advance(0)
    queue = await aclient.queue.get("fresh")
    assert (queue.parallelism, queue.paused, queue.lag) == (1, False, 0)
    assert [r.text for r in endpoint.requests] == ["made on first use"]
    await aclient.queue.upsert("fresh", parallelism=3, paused=True)
    queue = await aclient.queue.get("fresh")
    assert (queue.parallelism, queue.paused) == (3, True)
    assert queue.updated_at >= queue.created_at
    result = await aclient.message.enqueue_json(queue="fresh", url=endpoint.url, body=[1])
    control.advance(0)
    assert (await aclient.queue.get("fresh")).lag == 1
    await aclient.queue.pause("fresh")
    await aclient.queue.resume("fresh")
    control.advance(0)
    assert endpoint.requests[-1].header("upstash-message-id") == result.message_id
    assert [q.name for q in await aclient.queue.list()] == ["fresh"]
    await aclient.queue.delete("fresh")
    with pytest.raises(QStashError, match="404"):
        await aclient.queue.get("fresh")


def test_parallelism_one_waits_for_the_retries_of_the_message_before(
    client: QStash, endpoint: Endpoint, control: EmulatorControl
) -> None:
    endpoint.respond_with([500, 500, 200], path="/first")
    ids = [
        client.message.enqueue(queue="fifo", url=endpoint.url_for(f"/{name}"), body=name,
                               retries=3, retry_delay="1000").message_id
        for name in ("first", "second", "third")
    ]
    control.advance(0)
    assert [r.path for r in endpoint.requests] == ["/first"]
    assert client.queue.get("fifo").lag == 3
    control.advance(1)
    assert [r.path for r in endpoint.requests] == ["/first", "/first"]
    control.advance(1)
    assert [r.path for r in endpoint.requests] == ["/first"] * 3 + ["/second", "/third"]
    deliveries = control.deliveries()
    assert [d["messageId"] for d in deliveries] == [ids[0]] * 3 + ids[1:]
    assert max_in_flight(deliveries) == 1
    assert client.queue.get("fifo").lag == 0
    assert states(client, ids[1])[-1] == "DELIVERED"


def test_parallelism_is_never_exceeded_and_reached(
    client: QStash, endpoint: Endpoint, control: EmulatorControl
) -> None:
    client.queue.upsert("wide", parallelism=3)
    endpoint.delay(0.02)
    for n in range(9):
        client.message.enqueue(queue="wide", url=endpoint.url, body=str(n))
    control.advance(0)
    deliveries = control.deliveries()
    assert len(deliveries) == 9
    assert max_in_flight(deliveries) == 3
    assert sorted(r.text for r in endpoint.requests) == [str(n) for n in range(9)]


def test_next_message_waits_for_the_callback_of_the_one_before(
    client: QStash, endpoint: Endpoint, control: EmulatorControl
) -> None:
    endpoint.respond_with([500, 200], path="/callback")
    client.message.enqueue(queue="cb", url=endpoint.url_for("/a"), body="a", retries=2,
                           retry_delay="5000", callback=endpoint.url_for("/callback"))
    client.message.enqueue(queue="cb", url=endpoint.url_for("/b"), body="b")
    control.advance(4.999)
    assert [r.path for r in endpoint.requests] == ["/a", "/callback"]
    control.advance(0.001)
    assert [r.path for r in endpoint.requests] == ["/a", "/callback", "/callback", "/b"]


def test_next_message_waits_for_the_failure_callback(
    client: QStash, endpoint: Endpoint, control: EmulatorControl
) -> None:
    endpoint.respond_with(500, path="/a")
    endpoint.respond_with([500, 200], path="/failed")
    client.message.enqueue(queue="fail", url=endpoint.url_for("/a"), body="a", retries=1,
                           retry_delay="1000", failure_callback=endpoint.url_for("/failed"))
    client.message.enqueue(queue="fail", url=endpoint.url_for("/b"), body="b")
    control.advance(1.999)
    assert [r.path for r in endpoint.requests] == ["/a", "/a", "/failed"]
    control.advance(0.001)
    assert [r.path for r in endpoint.requests] == ["/a", "/a", "/failed", "/failed", "/b"]
    assert len(client.dlq.list().messages) == 1


def test_cancelling_the_running_message_frees_its_slot(
    client: QStash, endpoint: Endpoint, control: EmulatorControl
) -> None:
    endpoint.respond_with(500, path="/stuck")
    stuck = client.message.enqueue(queue="c", url=endpoint.url_for("/stuck"), body="x")
    client.message.enqueue(queue="c", url=endpoint.url_for("/next"), body="y")
    control.advance(0)
    assert [r.path for r in endpoint.requests] == ["/stuck"]
    client.message.cancel(stuck.message_id)
    control.advance(0)
    assert [r.path for r in endpoint.requests] == ["/stuck", "/next"]


def test_deleting_a_queue_cancels_what_waits_in_it(
    client: QStash, endpoint: Endpoint, control: EmulatorControl
) -> None:
    client.queue.upsert("doomed", paused=True)
    result = client.message.enqueue(queue="doomed", url=endpoint.url, body="never")
    client.queue.delete("doomed")
    control.advance(3600)
    assert endpoint.requests == []
    assert states(client, result.message_id) == ["CREATED", "CANCEL_REQUESTED", "CANCELED"]
    assert client.queue.list() == []


def test_batch_elements_with_a_queue(
    client: QStash, endpoint: Endpoint, control: EmulatorControl
) -> None:
    client.queue.upsert("batched", paused=True)
    results = client.message.batch_json([
        {"queue": "batched", "url": endpoint.url, "body": {"n": 1}},
        {"url": endpoint.url, "body": {"n": 2}},
    ])
    control.advance(0)
    assert [r.json() for r in endpoint.requests] == [{"n": 2}]
    message_id = results[0].message_id  # type: ignore[union-attr]
    assert client.log.list(filter={"message_id": message_id}).logs[0].queue == "batched"
    client.queue.resume("batched")
    control.advance(0)
    assert [r.json() for r in endpoint.requests] == [{"n": 2}, {"n": 1}]


def test_bad_queue_input_changes_nothing(
    client: QStash, http: httpx.Client, control: EmulatorControl
) -> None:
    with pytest.raises(QStashError, match=r"400.*invalid queue name"):
        client.queue.upsert("no spaces")
    with pytest.raises(QStashError, match=r"400.*invalid queue name"):
        client.message.enqueue(queue="bad!", url="http://127.0.0.1:9/x", body="x")
    with pytest.raises(QStashError, match=r"412.*parallelism 101"):
        client.queue.upsert("greedy", parallelism=101)
    with pytest.raises(QStashError, match=r"400.*parallelism"):
        client.queue.upsert("zero", parallelism=0)
    for header in ("Upstash-Delay", "Upstash-Not-Before"):
        response = http.post("/v2/enqueue/q/http://127.0.0.1:9/x", content=b"x",
                              headers={header: "60"})
        assert response.status_code == 400
        assert response.json() == {"error": "upstash-delay and upstash-not-before are not "
                                            "supported when enqueueing"}
    for path in ("/v2/queues/nope", "/v2/queues/nope/pause", "/v2/queues/nope/resume"):
        response = http.request("GET" if path.endswith("nope") else "POST", path)
        assert response.status_code == 404
        assert response.json() == {"error": "queue nope not found"}
    assert http.delete("/v2/queues/nope").status_code == 404
    assert client.queue.list() == []
    assert client.log.list().logs == []


def test_queue_count_limit_is_412_and_all_or_nothing(
    client: QStash, endpoint: Endpoint, control: EmulatorControl
) -> None:
    for n in range(99):
        client.queue.upsert(f"q{n}")
    with pytest.raises(QStashError, match=r"412.*queue limit"):
        client.message.batch([
            {"queue": "new-a", "url": endpoint.url, "body": "a"},
            {"queue": "new-b", "url": endpoint.url, "body": "b"},
        ])
    assert len(client.queue.list()) == 99
    assert client.log.list().logs == []
    client.message.enqueue(queue="q100", url=endpoint.url, body="fits")
    client.queue.upsert("q0", parallelism=5)  # updating an existing queue is fine
    with pytest.raises(QStashError, match=r"412.*100 queues"):
        client.queue.upsert("one-too-many")
    with pytest.raises(QStashError, match="412"):
        client.message.enqueue(queue="one-too-many", url=endpoint.url, body="x")
    assert len(client.queue.list()) == 100
