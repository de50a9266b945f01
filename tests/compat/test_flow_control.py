"""Flow control through the official SDK (sync and async) on the virtual clock: rate windows,
parallelism, the wait list, pause/resume, pin/unpin, resetRate/reset and global parallelism."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from qstash import AsyncQStash, QStash
from qstash.errors import QStashError

from pytest_qstash.control import EmulatorControl
from pytest_qstash.endpoint import Endpoint
from pytest_qstash.measure import max_in_flight, max_in_window
from pytest_qstash.server import EmulatorServer


@pytest.fixture
def http(server: EmulatorServer, token: str) -> Iterator[httpx.Client]:
    """Raw HTTP for what the SDK cannot send, as the test's tenant."""
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}) as c:
        yield c


def test_rate_10_per_minute_delivers_100_messages_over_exactly_10_minutes(
    client: QStash, endpoint: Endpoint, control: EmulatorControl
) -> None:
    start = control.now_ms()
    flow = {"key": "rated", "rate": 10, "period": "1m"}
    for n in range(100):
        client.message.publish(url=endpoint.url, body=str(n), flow_control=flow)  # type: ignore[typeddict-item]
    control.advance(0)
    assert len(endpoint.requests) == 10
    info = client.flow_control.get("rated")
    assert (info.rate_max, info.rate_count, info.rate_period, info.wait_list_size) == (
        10, 10, 60, 90)
    assert info.rate_period_start == start // 1000
    control.advance(539.999)
    assert len(endpoint.requests) == 90
    control.advance(0.001)
    assert len(endpoint.requests) == 100
    times = [d["time"] - start for d in control.deliveries()]
    assert times == [60_000 * (n // 10) for n in range(100)]
    assert max_in_window(control.deliveries(), 60_000) == 10
    assert max_in_window(control.deliveries(), 60_001) == 20
    started = sorted(control.deliveries(), key=lambda d: d["startSeq"])
    assert [d["body"] for d in started] == [str(n) for n in range(100)]  # FIFO
    assert sorted(int(r.text) for r in endpoint.requests) == list(range(100))
    assert client.flow_control.get("rated").wait_list_size == 0


def test_parallelism_is_never_exceeded_and_retries_count(
    client: QStash, endpoint: Endpoint, control: EmulatorControl
) -> None:
    endpoint.delay(0.02)
    endpoint.respond_with([500, 200], path="/flaky")
    flow = {"key": "narrow", "parallelism": 3}
    client.message.publish(url=endpoint.url_for("/flaky"), body="f", flow_control=flow,  # type: ignore[arg-type]
                           retry_delay="0")
    for n in range(11):
        client.message.publish(url=endpoint.url, body=str(n), flow_control=flow)  # type: ignore[arg-type]
    control.advance(0)
    deliveries = control.deliveries()
    assert len(deliveries) == 13
    assert max_in_flight(deliveries) == 3
    info = client.flow_control.get("narrow")
    assert (info.parallelism_max, info.parallelism_count, info.wait_list_size) == (3, 0, 0)
    message = client.message.get(deliveries[0]["messageId"])
    assert message.flow_control is not None
    assert (message.flow_control.key, message.flow_control.parallelism) == ("narrow", 3)


def test_flow_control_api_end_to_end_sync(
    client: QStash, endpoint: Endpoint, control: EmulatorControl
) -> None:
    flow = {"key": "api", "parallelism": 5, "rate": 2, "period": 3600}
    client.message.publish(url=endpoint.url, body="0", flow_control=flow)  # type: ignore[arg-type]
    control.advance(0)  # "0" is delivered before the pause (not left to the scheduler's pace)
    client.flow_control.pause("api")
    for n in (1, 2, 3):
        client.message.publish(url=endpoint.url, body=str(n), flow_control=flow)  # type: ignore[arg-type]
    control.advance(10)
    assert [r.text for r in endpoint.requests] == ["0"]
    info = client.flow_control.get("api")
    assert (info.is_paused, info.wait_list_size, info.rate_count) == (True, 3, 1)
    client.flow_control.resume("api")
    control.advance(0)
    assert [r.text for r in endpoint.requests] == ["0", "1"]  # rate 2 per hour
    client.flow_control.reset_rate("api")
    control.advance(0)
    assert [r.text for r in endpoint.requests] == ["0", "1", "2", "3"]
    info = client.flow_control.get("api")
    assert (info.rate_count, info.wait_list_size) == (2, 0)
    assert info.rate_period_start == control.now_ms() // 1000

    client.flow_control.pin("api", {"parallelism": 1, "rate": 50, "period": 60})
    client.message.publish(url=endpoint.url, body="4", flow_control=flow)  # type: ignore[arg-type]
    info = client.flow_control.get("api")
    assert (info.parallelism_max, info.rate_max, info.rate_period) == (1, 50, 60)
    assert (info.is_pinned_parallelism, info.is_pinned_rate) == (True, True)
    client.flow_control.unpin("api", {"parallelism": True, "rate": False})
    info = client.flow_control.get("api")
    assert (info.is_pinned_parallelism, info.is_pinned_rate) == (False, True)
    client.flow_control.unpin("api", {"rate": True})
    client.message.publish(url=endpoint.url, body="5", flow_control=flow)  # type: ignore[arg-type]
    info = client.flow_control.get("api")
    assert (info.parallelism_max, info.rate_max, info.rate_period) == (5, 2, 3600)
    assert not info.is_pinned_rate

    control.advance(0)
    overall = client.flow_control.get_global_parallelism()
    assert (overall.parallelism_max, overall.parallelism_count) == (100, 0)
    with pytest.raises(QStashError, match="404"):
        client.flow_control.get("unknown-key")


@pytest.mark.anyio
async def test_flow_control_api_end_to_end_async(
    aclient: AsyncQStash, endpoint: Endpoint, control: EmulatorControl
) -> None:
    flow = {"key": "async-key", "rate": 1, "period": "1h"}
    for n in range(3):
        await aclient.message.publish(url=endpoint.url, body=str(n), flow_control=flow)  # type: ignore[arg-type]
    control.advance(0)
    info = await aclient.flow_control.get("async-key")
    assert (info.key, info.rate_max, info.rate_period, info.wait_list_size) == (
        "async-key", 1, 3600, 2)
    await aclient.flow_control.pause("async-key")
    await aclient.flow_control.reset_rate("async-key")
    control.advance(0)
    assert len(endpoint.requests) == 1
    await aclient.flow_control.resume("async-key")
    control.advance(0)
    assert len(endpoint.requests) == 2
    await aclient.flow_control.pin("async-key", {"rate": 10})
    control.advance(0)  # pinning starts a new rate window
    assert sorted(r.text for r in endpoint.requests) == ["0", "1", "2"]
    info = await aclient.flow_control.get("async-key")
    assert (info.rate_max, info.rate_period, info.is_pinned_rate) == (10, 3600, True)
    await aclient.flow_control.unpin("async-key", {"rate": True})
    assert not (await aclient.flow_control.get("async-key")).is_pinned_rate
    overall = await aclient.flow_control.get_global_parallelism()
    assert overall.parallelism_max == 100


def test_list_search_and_reset_over_http(
    client: QStash, endpoint: Endpoint, control: EmulatorControl, http: httpx.Client,
) -> None:
    for key in ("alpha-1", "alpha-2"):
        client.message.publish(url=endpoint.url, body=key, flow_control={"key": key})
    listed = http.get("/v2/flowControl").json()
    assert [item["flowControlKey"] for item in listed] == ["alpha-1", "alpha-2"]
    assert set(listed[0]) == {
        "flowControlKey", "waitListSize", "parallelismMax", "parallelismCount", "rateMax",
        "rateCount", "ratePeriod", "ratePeriodStart", "isPaused", "isPinnedParallelism",
        "isPinnedRate",
    }
    endpoint.delay(0.5, path="/held")
    client.message.publish(url=endpoint.url_for("/held"), body="held",
                           flow_control={"key": "beta", "parallelism": 1, "rate": 1})
    endpoint.wait_for(1, path="/held")
    searched = http.get("/v2/flowControl?search=BET").json()
    assert [(i["flowControlKey"], i["parallelismCount"], i["rateCount"]) for i in searched] == [
        ("beta", 1, 1)]
    assert http.post("/v2/flowControl/beta/reset").status_code == 200
    beta = http.get("/v2/flowControl/beta").json()
    assert (beta["parallelismCount"], beta["rateCount"]) == (0, 0)
    control.advance(0)
    assert len(endpoint.requests) == 3


def test_flow_control_on_enqueue_and_batch(
    client: QStash, endpoint: Endpoint, control: EmulatorControl, http: httpx.Client,
) -> None:
    headers = {"Upstash-Flow-Control-Key": "shared",
               "Upstash-Flow-Control-Value": "rate=1, period=60"}
    response = http.post(f"/v2/enqueue/fq/{endpoint.url}", content=b"queued",
                          headers=headers)
    assert response.status_code == 200
    client.message.batch_json([
        {"url": endpoint.url, "body": "batched", "flow_control": {"key": "shared", "rate": 1,
                                                                   "period": 60}},
    ])
    control.advance(0)
    assert [r.json() if r.text != "queued" else r.text for r in endpoint.requests] == ["queued"]
    control.advance(60)
    assert [r.text for r in endpoint.requests] == ["queued", '"batched"']


def test_bad_flow_control_input(
    client: QStash, http: httpx.Client, endpoint: Endpoint,
    control: EmulatorControl,
) -> None:
    client.message.publish(url=endpoint.url, body="x", flow_control={"key": "k", "rate": 3})
    control.advance(0)
    before = http.get("/v2/flowControl/k").json()
    for query in ("parallelism=0", "rate=fast", "period=9d", "period=soon", ""):
        response = http.post(f"/v2/flowControl/k/pin?{query}")
        assert response.status_code == 400, query
        assert set(response.json()) == {"error"}
    response = http.post("/v2/flowControl/k/unpin?rate=maybe")
    assert response.status_code == 400
    assert http.get("/v2/flowControl/k").json() == before
    for action in ("pause", "resume", "pin?rate=1", "unpin", "resetRate", "reset"):
        response = http.post(f"/v2/flowControl/nope/{action}")
        assert response.status_code == 404
        assert response.json() == {"error": "flow control key nope not found"}
    with pytest.raises(QStashError, match=r"400.*upstash-flow-control-value"):
        client.message.publish(url=endpoint.url, body="x",
                               flow_control={"key": "bad", "period": "0s", "rate": 1})
    assert [i["flowControlKey"] for i in http.get("/v2/flowControl").json()] == ["k"]
