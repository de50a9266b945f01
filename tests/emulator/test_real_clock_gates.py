"""Rate windows and queues on the real clock, compressed with --speed: never early.

Lets about two seconds of wall time pass, because the real clock is what it is about.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from delivery_log import recorded_deliveries
from qstash import QStash

from pytest_qstash.control import EmulatorControl
from pytest_qstash.endpoint import Endpoint
from pytest_qstash.server import EmulatorServer

SPEED = 20
"""Fast enough for three 10 s windows in 1.5 s, slow enough that the slack below is 50 ms of
wall time (a loaded 2-core CI machine once took 11 ms between admitting and starting)."""


@pytest.fixture(scope="module")
def fast_server() -> Iterator[EmulatorServer]:
    with EmulatorServer(clock="real", speed=SPEED, any_token=True) as server:
        yield server


def test_rate_windows_open_on_the_real_clock(fast_server: EmulatorServer) -> None:
    client = QStash("real-clock-rate", base_url=fast_server.url)
    with Endpoint() as endpoint, EmulatorControl(fast_server.url, "real-clock-rate") as control:
        flow = {"key": "real", "rate": 3, "period": "10s"}
        for n in range(9):
            client.message.publish(url=endpoint.url, body=str(n), flow_control=flow)  # type: ignore[arg-type]
        endpoint.wait_for(9, timeout=10)
        times = sorted(d["time"] for d in recorded_deliveries(control, 9))
        # 3 per window, a window opens no earlier than `period` after the previous one; the
        # slack is the scheduling latency between a window admitting an attempt and the
        # attempt's recorded start (50 ms of wall time at SPEED)
        slack = 1_000
        assert times[3] >= times[0] + 10_000 - slack, times
        assert times[6] >= times[3] + 10_000 - slack, times
        control.reset()


def test_queue_waits_for_the_retry_on_the_real_clock(fast_server: EmulatorServer) -> None:
    client = QStash("real-clock-queue", base_url=fast_server.url)
    with Endpoint() as endpoint, EmulatorControl(fast_server.url, "real-clock-queue") as control:
        endpoint.respond_with([500, 200], path="/first")
        for name in ("first", "second"):
            client.message.enqueue(queue="rq", url=endpoint.url_for(f"/{name}"), body=name,
                                   retry_delay="5000")
        endpoint.wait_for(3, timeout=10)
        assert [r.path for r in endpoint.requests] == ["/first", "/first", "/second"]
        first, retry, second = recorded_deliveries(control, 3)
        assert retry["time"] >= first["time"] + 5000 and second["startSeq"] > retry["endSeq"]
        control.reset()
